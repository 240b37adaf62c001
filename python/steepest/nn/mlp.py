"""The multilayer perceptron: a stack of dense layers given by their sizes."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from steepest.nn import saving
from steepest.nn.layers import Dense, Dropout, Layer, check_activation
from steepest.nn.sequential import Sequential
from steepest.nn.sizes import layer_sizes_of


@saving.register
class MLP(Sequential):
    """A multilayer perceptron: dense layers of the given sizes.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input features, then each layer's width: ``[784, 256, 10]`` is 784→256→10.
    activation : str, default "relu"
        Of the hidden layers.
    output_activation : str, default "identity"
    dropout : float, default 0
        A :class:`Dropout` layer of this rate after each hidden layer (none when 0).
    seed, dtype, precision : see :class:`Sequential`

    Examples
    --------
    >>> import steepest
    >>> steepest.MLP([784, 256, 10], output_activation="softmax").parameter_count
    203530
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        output_activation: str = "identity",
        *,
        dropout: float = 0.0,
        seed: int = 0,
        dtype: Any = "float32",
        precision: Optional[str] = None,
    ) -> None:
        sizes = layer_sizes_of(layer_sizes)
        check_activation(activation)
        check_activation(output_activation, "output_activation")
        # Dropout checks its rate; a rate of 0 adds no layer, so an MLP without dropout is
        # the plain stack of dense layers it always was.
        rate = Dropout(dropout).rate if dropout != 0 else 0.0
        layers: List[Layer] = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers.append(Dense(a, b, activation))
            if rate:
                layers.append(Dropout(rate))
        layers.append(Dense(sizes[-2], sizes[-1], output_activation))
        super().__init__(layers, seed=seed, dtype=dtype, precision=precision)

    @classmethod
    def _from_saved(cls, layers: List[Layer], dtype: np.dtype, seed: int, config: Dict[str, Any]) -> "MLP":
        hidden_dropout = all(
            isinstance(layer, Dense) or (isinstance(layer, Dropout) and i > 0 and isinstance(layers[i - 1], Dense)) for i, layer in enumerate(layers)
        )
        if not hidden_dropout or not isinstance(layers[-1], Dense):
            raise ValueError("an MLP is dense layers, each hidden one optionally followed by dropout")
        return super()._from_saved(layers, dtype, seed, config)
