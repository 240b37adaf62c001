"""Models: a stack of layers with one parameter block in the engine, trained natively.

:class:`Sequential` is the general model, :class:`MLP` a shortcut for a stack of dense
layers and :class:`Autoencoder` an encoder and a mirrored decoder through a latent space.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

import numpy as np

from steepest import _core
from steepest._validation import as_matrix, float_dtype, positive_int, require_finite
from steepest.callbacks import Callback
from steepest.history import History
from steepest.layers import Dense, Dropout, Layer, chain_widths, check_activation
from steepest.optimizers import Optimizer
from steepest import training

_PREDICT_BATCH = 1024


class Sequential:
    """Layers applied one after the other, with every weight in one contiguous block.

    Parameters
    ----------
    layers : sequence of Dense and Dropout
        Each Dense layer's ``in_features`` must equal the previous one's ``out_features``.
    seed : int, default 0
        Seeds the initial weights, the shuffling and dropout: the same seed, data and
        settings give bitwise identical weights after training, for any thread count.
    dtype : {"float32", "float64"}, default "float32"

    Examples
    --------
    >>> import numpy as np, steepest
    >>> model = steepest.Sequential([steepest.Dense(2, 8, "tanh"), steepest.Dense(8, 1, "identity")], seed=0)
    >>> X = np.random.default_rng(0).random((128, 2)).astype(np.float32)
    >>> y = X.sum(axis=1, keepdims=True)
    >>> history = model.fit(X, y, epochs=20, optimizer=steepest.SGD(lr=0.1), verbose=0)
    >>> history["loss"][-1] < history["loss"][0]
    True
    >>> model.predict(X[:2]).shape
    (2, 1)
    """

    def __init__(self, layers: Sequence[Layer], *, seed: int = 0, dtype: Any = "float32") -> None:
        if isinstance(layers, Layer) or not isinstance(layers, Iterable):
            raise TypeError(f"layers must be a list of steepest layers, got {type(layers).__name__}; wrap a single layer in a list")
        layers = list(layers)
        if not layers:
            raise ValueError("a model needs at least one layer")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {seed!r}")
        chain_widths(layers)
        if not any(isinstance(layer, Dense) for layer in layers):
            raise ValueError("a model needs at least one Dense layer")
        self.seed = int(seed)
        self._build(layers, float_dtype(dtype))
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer.initialize(rng)

    def _build(self, layers: List[Layer], dtype: type) -> None:
        engine = _core.NetworkF32 if dtype == np.float32 else _core.NetworkF64
        count = sum(layer.parameter_count for layer in layers)
        size = count * np.dtype(dtype).itemsize
        try:
            # Sizes past the address space would not even reach the engine as 64-bit ints.
            if size > sys.maxsize:
                raise MemoryError
            network = engine([layer._spec() for layer in layers])
        except MemoryError:
            raise MemoryError(
                f"a model of {count:,} parameters needs {size / 2**30:,.1f} GiB in {np.dtype(dtype).name}, "
                "more than can be allocated here; use smaller layers"
            ) from None
        self._attach(network, layers)

    def _attach(self, network: Any, layers: List[Layer]) -> None:
        for index, layer in enumerate(layers):
            layer._bind(network, index)
        self._network = network
        self.layers = layers
        self.stop_training = False
        self.history_: Optional[History] = None
        self._epochs_trained = 0
        self._partial: Optional[Tuple[Any, Tuple[Any, ...]]] = None

    # ------------------------------------------------------------------ description ----

    @property
    def dtype(self) -> np.dtype:
        """The precision every computation of this model runs in."""
        return np.dtype(np.float32 if isinstance(self._network, _core.NetworkF32) else np.float64)

    @property
    def input_features(self) -> int:
        return int(self._network.input_features)

    @property
    def output_features(self) -> int:
        return int(self._network.output_features)

    @property
    def output_activation(self) -> str:
        return [layer for layer in self.layers if isinstance(layer, Dense)][-1].activation

    @property
    def parameter_count(self) -> int:
        return int(self._network.parameter_count)

    def summary(self) -> str:
        """A table of the layers with their output shapes and parameter counts.

        Examples
        --------
        >>> import steepest
        >>> print(steepest.MLP([4, 8, 2]).summary())
        MLP (float32)
          #  layer                               output      parameters
          0  Dense(4, 8, activation='relu')      (None, 8)           40
          1  Dense(8, 2, activation='identity')  (None, 2)           18
        total parameters: 58
        """
        rows = [(str(i), repr(layer), f"(None, {layer.out_features})", str(layer.parameter_count)) for i, layer in enumerate(self.layers)]
        width = max(len("layer"), max(len(r[1]) for r in rows))
        lines = [f"{type(self).__name__} ({self.dtype.name})", f"  #  {'layer':<{width}}  {'output':<10}  parameters"]
        lines += [f"{i:>3}  {name:<{width}}  {shape:<10}  {count:>10}" for i, name, shape, count in rows]
        lines.append(f"total parameters: {self.parameter_count}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"{type(self).__name__}([\n{inner}\n], seed={self.seed}, dtype={self.dtype.name!r})"

    # -------------------------------------------------------------------- parameters ----

    def get_parameters(self) -> np.ndarray:
        """A copy of all parameters as one flat array (layer by layer: weight, then bias)."""
        return np.array(self._network.parameters, copy=True)

    def set_parameters(self, values: Any) -> None:
        """Overwrite all parameters from a flat array of :attr:`parameter_count` finite values."""
        array = np.asarray(values)
        if array.shape != (self.parameter_count,):
            raise ValueError(f"parameters must have shape ({self.parameter_count},), got {array.shape}")
        require_finite(array, "parameters")
        self._network.parameters[...] = array

    # ----------------------------------------------------------------------- running ----

    def predict(self, X: Any, *, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """The model's output for each row of ``X`` (dropout off), computed in batches with
        the GIL released.

        ``X`` is converted to the model's dtype (no copy when it already matches and is
        C-contiguous; a memmap is read batch by batch).
        """
        return self._predict(X, batch_size)

    def _predict(self, X: Any, batch_size: int = _PREDICT_BATCH, name: str = "X") -> np.ndarray:
        X = as_matrix(X, name, self.dtype.type, features=self.input_features)
        return cast(np.ndarray, self._network.predict(X, positive_int(batch_size, "batch_size")))

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Optional[Optimizer] = None,
        loss: str = "mse",
        shuffle: bool = True,
        validation_data: Optional[Tuple[Any, Any]] = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        diagnostics: bool = True,
    ) -> History:
        """Train with mini-batch gradient descent; the whole epoch runs natively.

        Parameters
        ----------
        X : array-like, shape (samples, features)
        y : array-like
            ``(samples, outputs)`` targets; for ``softmax_cross_entropy`` integer labels
            ``(samples,)`` or one-hot rows.
        epochs : int, default 10
        batch_size : int, default 32
            With ``shuffle=False`` batches are taken in order and the last, smaller batch is
            kept (as PyTorch's DataLoader with ``drop_last=False``).
        optimizer : steepest.SGD or steepest.Adam, default ``SGD(lr=0.01)``
        loss : {"mse", "binary_cross_entropy", "softmax_cross_entropy"}
            A sigmoid output with binary cross entropy, and a softmax output with softmax
            cross entropy, are computed from the logits for stability.
        shuffle : bool, default True
        validation_data : (X_val, y_val), optional
        validation_split : float, default 0
            Fraction of the last rows of ``X`` held out for validation.
        callbacks : sequence of Callback
        verbose : {0, 1, 2}
            0 silent; 1 a progress bar on a terminal (one line per epoch otherwise); 2 one
            line per epoch.
        diagnostics : bool, default True
            Gather per-layer training diagnostics into the History.

        Returns
        -------
        History

        Raises
        ------
        TrainingDivergedError
            The loss became NaN or infinite; the model is back to the last weights that gave a finite loss.
        """
        return training.fit(
            self,
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=loss,
            shuffle=shuffle,
            validation_data=validation_data,
            validation_split=validation_split,
            callbacks=callbacks,
            verbose=verbose,
            diagnostics=diagnostics,
        )

    def partial_fit(self, X: Any, y: Any = None, *, batch_size: int = 32, optimizer: Optional[Optimizer] = None, loss: str = "mse") -> float:
        """One pass over the chunk ``(X, y)``, in order; returns its mean loss.

        Optimizer state (momentum, Adam's moments) carries over between calls with the same
        settings, so a stream of chunks trains like one long epoch.
        """
        from steepest.optimizers import SGD

        optimizer = optimizer if optimizer is not None else SGD(lr=0.01)
        loss = training.check_loss(self, loss)
        X = as_matrix(X, "X", self.dtype.type, features=self.input_features)
        targets = training.prepare_targets(self, loss, self._default_target(X, y), len(X))
        batch_size = min(positive_int(batch_size, "batch_size"), len(X))
        # The learning rate goes to each run, so a schedule keeps the optimizer's state.
        key = (batch_size, loss, type(optimizer), tuple(sorted(optimizer._engine_settings().items())))
        if self._partial is None or self._partial[1] != key:
            trainer = training._engine_trainer(self, batch_size, loss, optimizer, self.seed, False)
            self._partial = (trainer, key)
        trainer = self._partial[0]
        batches = -(-len(X) // batch_size)
        with training.training_exclusively(self):
            result = trainer.run(X, targets.dense, targets.labels, np.arange(len(X), dtype=np.int64), 0, batches, optimizer.learning_rate(0))
        if result["nonfinite_batch"] >= 0:
            raise training._diverged(History(), 0, result["nonfinite_batch"], optimizer.learning_rate(0))
        return cast(float, result["loss_sum"] / result["samples"])

    def _default_target(self, X: np.ndarray, y: Any) -> Any:
        return y

    # ------------------------------------------------------------------- persistence ----

    def save(self, path: Any) -> None:
        """Write the model to one file, atomically (see :func:`steepest.load`)."""
        from steepest import io

        io.save(self, path)

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        # Pickles through the same versioned format as save(): no code in the payload.
        from steepest import io

        return (io.model_from_bytes, (io.model_to_bytes(self),))

    def _config(self) -> Dict[str, Any]:
        return {}


class MLP(Sequential):
    """A multilayer perceptron: dense layers of the given sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input features, then each layer's width: ``[784, 256, 10]`` is 784→256→10.
    activation : str, default "relu"
        Of the hidden layers.
    output_activation : str, default "identity"
    seed, dtype : see :class:`Sequential`

    Examples
    --------
    >>> import steepest
    >>> steepest.MLP([784, 256, 10], output_activation="softmax").parameter_count
    203530
    """

    def __init__(self, layer_sizes: Sequence[int], activation: str = "relu", output_activation: str = "identity", *, seed: int = 0, dtype: Any = "float32") -> None:
        sizes = _layer_sizes(layer_sizes)
        check_activation(activation)
        check_activation(output_activation, "output_activation")
        layers: List[Layer] = [Dense(a, b, activation) for a, b in zip(sizes[:-2], sizes[1:-1])]
        layers.append(Dense(sizes[-2], sizes[-1], output_activation))
        super().__init__(layers, seed=seed, dtype=dtype)


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
    seed, dtype : see :class:`Sequential`

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
    ) -> None:
        encoder_sizes = _layer_sizes(layer_sizes)
        decoder = _layer_sizes(decoder_sizes) if decoder_sizes is not None else encoder_sizes[::-1]
        if decoder[0] != encoder_sizes[-1] or decoder[-1] != encoder_sizes[0]:
            raise ValueError(
                f"decoder_sizes must go from the latent size {encoder_sizes[-1]} back to the input size {encoder_sizes[0]}, got {list(decoder)}"
            )
        for name, value in (("activation", activation), ("latent_activation", latent_activation), ("output_activation", output_activation)):
            check_activation(value, name)
        layers: List[Layer] = [Dense(a, b, activation) for a, b in zip(encoder_sizes[:-2], encoder_sizes[1:-1])]
        layers.append(Dense(encoder_sizes[-2], encoder_sizes[-1], latent_activation))
        layers += [Dense(a, b, activation) for a, b in zip(decoder[:-2], decoder[1:-1])]
        layers.append(Dense(decoder[-2], decoder[-1], output_activation))
        self.encoder_layers = len(encoder_sizes) - 1
        super().__init__(layers, seed=seed, dtype=dtype)

    @property
    def latent_features(self) -> int:
        return self.layers[self.encoder_layers - 1].out_features

    def _part(self, first: int, last: int) -> Sequential:
        part = Sequential.__new__(Sequential)
        part.seed = self.seed
        # An autoencoder's layers are all Dense (its constructor and io.load ensure it).
        layers: List[Layer] = [Dense(layer.in_features, layer.out_features, cast(Dense, layer).activation) for layer in self.layers[first:last]]
        part._attach(self._network.layers_between(first, last), layers)
        return part

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
        """As :meth:`Sequential.fit`, with ``y`` defaulting to ``X`` (reconstruction)."""
        return super().fit(X, X if y is None else y, **kwargs)

    def _default_target(self, X: np.ndarray, y: Any) -> Any:
        return X if y is None else y

    def _config(self) -> Dict[str, Any]:
        return {"encoder_layers": self.encoder_layers}


def _layer_sizes(sizes: Any) -> List[int]:
    if not isinstance(sizes, Iterable) or isinstance(sizes, str):
        raise TypeError(f"layer_sizes must be a list of ints, got {type(sizes).__name__}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
    return [positive_int(size, f"layer_sizes[{i}]") for i, size in enumerate(sizes)]
