"""Layers: what a network is built from.

A layer describes its shape; once a model is built from it, ``weight`` and ``bias`` are
writable NumPy views onto the engine's own parameter block (writing to them changes the
model; nothing is copied).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from steepest._validation import non_negative_float, positive_int
from steepest.engine import ACTIVATIONS, Engine


def check_activation(name: Any, argument: str = "activation") -> str:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown {argument} {name!r}; expected one of: {', '.join(ACTIVATIONS)}")
    return name


class Layer:
    """Base class of layers."""

    in_features: int
    out_features: int

    def __init__(self) -> None:
        self._engine: Optional[Engine] = None
        self._index = -1

    def _bind(self, engine: Engine, index: int) -> None:
        if self._engine is not None and self._engine is not engine:
            raise ValueError(f"{self!r} already belongs to another model; create a new layer for each model")
        self._engine, self._index = engine, index

    def _spec(self) -> Tuple[Any, ...]:
        raise NotImplementedError

    @property
    def parameter_count(self) -> int:
        return 0


class Dense(Layer):
    """A fully connected layer: ``y = activation(x @ weight + bias)``.

    Parameters
    ----------
    in_features, out_features : int
    activation : {"identity", "relu", "sigmoid", "tanh", "softmax"}, default "relu"
        ``softmax`` only for an output layer.

    Attributes
    ----------
    weight : ndarray, shape (in_features, out_features)
        A writable view onto the model's parameters (after the layer is in a model).
    bias : ndarray, shape (out_features,)

    Examples
    --------
    >>> import steepest
    >>> model = steepest.Sequential([steepest.Dense(4, 2, activation="tanh")], seed=0)
    >>> layer = model.layers[0]
    >>> layer.weight.shape, layer.bias.shape
    ((4, 2), (2,))
    >>> layer.bias[:] = 1.0          # writes into the model
    >>> float(model.layers[0].bias.sum())
    2.0
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "relu") -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.activation = check_activation(activation)

    def _spec(self) -> Tuple[Any, ...]:
        return ("dense", self.in_features, self.out_features, self.activation)

    def _model_engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("this layer is not part of a model yet: build a Sequential from it first")
        return self._engine

    @property
    def weight(self) -> np.ndarray:
        return self._model_engine().weight(self._index)

    @property
    def bias(self) -> np.ndarray:
        return self._model_engine().bias(self._index)

    @property
    def parameter_count(self) -> int:
        return self.in_features * self.out_features + self.out_features

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw weights suited to the activation (He for ReLU, Glorot otherwise); zero biases."""
        fan_in, fan_out = self.in_features, self.out_features
        if self.activation == "relu":
            values = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            values = rng.uniform(-limit, limit, (fan_in, fan_out))
        self.weight[...] = values
        self.bias[...] = 0

    def __repr__(self) -> str:
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r})"


class Dropout(Layer):
    """Zeroes each input with probability ``rate`` while training (scaling the rest by
    ``1/(1-rate)``); the identity at predict time.

    Its width is taken from the layer before it.

    Examples
    --------
    >>> import steepest
    >>> model = steepest.Sequential([steepest.Dense(4, 8), steepest.Dropout(0.5), steepest.Dense(8, 1, "identity")])
    >>> model.layers[1]
    Dropout(0.5)
    """

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = non_negative_float(rate, "rate", below_one=True)
        self.in_features = self.out_features = 0  # set by the model from its neighbours

    def _spec(self) -> Tuple[Any, ...]:
        return ("dropout", self.in_features, self.rate)

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


class Condition(Layer):
    """Appends a one-hot row of each sample's class to its inputs: a conditional model's label
    (Sohn, Lee & Yan, "Learning Structured Output Representation using Deep Conditional
    Generative Models", 2015). ``in_features`` inputs become ``in_features + classes``.

    Built by :class:`steepest.VAE` when ``n_classes`` is set.
    """

    def __init__(self, in_features: int, classes: int) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.classes = positive_int(classes, "classes")
        self.out_features = self.in_features + self.classes

    def _spec(self) -> Tuple[Any, ...]:
        return ("condition", self.in_features, self.classes)

    def __repr__(self) -> str:
        return f"Condition({self.in_features}, classes={self.classes})"


class GaussianSample(Layer):
    """A variational autoencoder's sampling layer: each row ``[mean | log_var]`` of
    ``2 · latent_features`` values becomes ``z = mean + exp(½ log_var) · ε`` with
    ``ε ~ N(0, I)`` (the reparameterization of Kingma & Welling, 2014), and the KL divergence
    of ``N(mean, exp(log_var))`` to ``N(0, I)`` joins the loss.

    Built by :class:`steepest.VAE`.
    """

    def __init__(self, latent_features: int) -> None:
        super().__init__()
        self.out_features = positive_int(latent_features, "latent_features")
        self.in_features = 2 * self.out_features

    def _spec(self) -> Tuple[Any, ...]:
        return ("gaussian_sample", self.out_features)

    def __repr__(self) -> str:
        return f"GaussianSample({self.out_features})"


def chain_widths(layers: Sequence[Layer], input_features: Optional[int] = None) -> None:
    """Give each Dropout the width of its neighbours; ValueError if dense sizes do not chain."""
    width = input_features
    for index, layer in enumerate(layers):
        # The same object twice would be bound to one position and leave the other's
        # weights unreachable (and never initialised).
        first = next(i for i, other in enumerate(layers) if other is layer)
        if first != index:
            raise ValueError(f"layer {index} is the same object as layer {first}; create a new layer for each position")
        if isinstance(layer, Dropout):
            if width is None:
                following = next((later for later in layers[index:] if isinstance(later, Dense)), None)
                if following is None:
                    raise ValueError("a model needs at least one Dense layer")
                width = following.in_features
            layer.in_features = layer.out_features = width
            continue
        if not isinstance(layer, Dense):
            raise TypeError(f"layer {index} must be a steepest Dense or Dropout, got {type(layer).__name__}")
        if width is not None and layer.in_features != width:
            raise ValueError(f"layer {index} ({layer!r}) takes {layer.in_features} features but the layer before it gives {width}")
        width = layer.out_features
