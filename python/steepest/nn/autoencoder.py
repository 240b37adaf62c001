"""The autoencoder: an encoder to a latent space and a decoder back, trained to reconstruct
its input."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, cast

import numpy as np

from steepest._validation import as_matrix
from steepest.nn import saving
from steepest.nn.layers import Dense, Layer, check_activation
from steepest.nn.sequential import Sequential
from steepest.nn.sizes import decoder_sizes_of, layer_sizes_of
from steepest.train.history import History


@saving.register
class Autoencoder(Sequential):
    """An encoder to a latent space and a decoder back, trained to reconstruct its input.

    Parameters
    ----------
    layer_sizes : sequence of int
        The encoder: ``[784, 256, 32]`` encodes 784 features through 256 to a 32-D latent
        space; the decoder mirrors it (32→256→784) unless ``decoder_sizes`` is given.
    activation : str, default "relu"
        Of the hidden layers.
    latent_activation : str, default "identity"
    output_activation : str, default "sigmoid"
        Suits inputs scaled to [0, 1]; use "identity" for standardized data.
    decoder_sizes : sequence of int, optional
        From the latent size to the input size, e.g. ``[32, 128, 784]``.
    seed, dtype, precision : see :class:`Sequential`

    Examples
    --------
    >>> import numpy as np, steepest
    >>> X = np.random.default_rng(0).random((256, 16)).astype(np.float32)
    >>> ae = steepest.Autoencoder([16, 8, 2], seed=0)
    >>> _ = ae.fit(X, epochs=5, verbose=0)
    >>> ae.encode(X).shape, ae.decode(ae.encode(X[:3])).shape
    ((256, 2), (3, 16))
    >>> ae.reconstruction_error(X).shape
    (256,)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        latent_activation: str = "identity",
        output_activation: str = "sigmoid",
        *,
        decoder_sizes: Optional[Sequence[int]] = None,
        seed: int = 0,
        dtype: Any = "float32",
        precision: Optional[str] = None,
    ) -> None:
        encoder_sizes = layer_sizes_of(layer_sizes)
        decoder = decoder_sizes_of(encoder_sizes, decoder_sizes)
        for name, value in (("activation", activation), ("latent_activation", latent_activation), ("output_activation", output_activation)):
            check_activation(value, name)
        layers: List[Layer] = [Dense(a, b, activation) for a, b in zip(encoder_sizes[:-2], encoder_sizes[1:-1])]
        layers.append(Dense(encoder_sizes[-2], encoder_sizes[-1], latent_activation))
        layers += [Dense(a, b, activation) for a, b in zip(decoder[:-2], decoder[1:-1])]
        layers.append(Dense(decoder[-2], decoder[-1], output_activation))
        self.encoder_layers = len(encoder_sizes) - 1
        super().__init__(layers, seed=seed, dtype=dtype, precision=precision)

    @property
    def latent_features(self) -> int:
        return self.layers[self.encoder_layers - 1].out_features

    @property
    def encoder(self) -> Sequential:
        """The encoder as a model of its own, sharing this model's weights (no copy)."""
        return self._part(0, self.encoder_layers)

    @property
    def decoder(self) -> Sequential:
        """The decoder as a model of its own, sharing this model's weights (no copy)."""
        return self._part(self.encoder_layers, len(self.layers))

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes ``(samples, latent_features)`` of the rows of ``X``."""
        return self.encoder.predict(X)

    def decode(self, Z: Any) -> np.ndarray:
        """Reconstructions ``(samples, input_features)`` from latent codes."""
        return self.decoder._predict(Z, name="Z")

    def reconstruct(self, X: Any) -> np.ndarray:
        """Encode then decode: the model's reconstruction of ``X``."""
        return self.predict(X)

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Mean squared reconstruction error of each sample: an anomaly score."""
        X = as_matrix(X, "X", self.dtype.type, features=self.input_features)
        difference = self.predict(X).astype(np.float64) - X
        return cast(np.ndarray, np.mean(difference * difference, axis=1))

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> History:
        """As :meth:`Sequential.fit`, with ``y`` defaulting to ``X`` (reconstruction): with
        ``noise``, a denoising autoencoder (Vincent et al., 2008), whose target stays the clean
        input."""
        return super().fit(X, X if y is None else y, **kwargs)

    def partial_fit(self, X: Any, y: Any = None, **kwargs: Any) -> Any:
        """As :meth:`Sequential.partial_fit`, with ``y`` defaulting to ``X``."""
        return super().partial_fit(X, X if y is None else y, **kwargs)

    def lr_range_test(self, X: Any, y: Any = None, **kwargs: Any) -> Any:
        """As :meth:`Sequential.lr_range_test`, with ``y`` defaulting to ``X``."""
        return super().lr_range_test(X, X if y is None else y, **kwargs)

    def _config(self) -> Dict[str, Any]:
        return {"encoder_layers": self.encoder_layers}

    @classmethod
    def _from_saved(cls, layers: List[Layer], dtype: np.dtype, seed: int, config: Dict[str, Any]) -> "Autoencoder":
        encoder_layers = config.get("encoder_layers")
        if isinstance(encoder_layers, bool) or not isinstance(encoder_layers, int) or not 0 < encoder_layers < len(layers):
            raise ValueError("the autoencoder's encoder_layers is missing or out of range")
        # Its encoder, decoder and reconstruction_error rely on dense layers from the input
        # size back to it, which its constructor builds.
        if not all(isinstance(layer, Dense) for layer in layers) or layers[0].in_features != layers[-1].out_features:
            raise ValueError("an autoencoder must be dense layers from the input size back to it")
        model = super()._from_saved(layers, dtype, seed, config)
        model.encoder_layers = encoder_layers
        return model
