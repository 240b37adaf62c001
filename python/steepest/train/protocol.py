"""What training needs of a model: :mod:`steepest.nn`'s models are one, and training
imports none of them."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Model(Protocol):
    seed: int
    #: Set by a callback to end ``fit`` after the current epoch.
    stop_training: bool

    @property
    def dtype(self) -> np.dtype: ...

    @property
    def input_features(self) -> int: ...

    @property
    def output_features(self) -> int: ...

    @property
    def output_activation(self) -> str: ...

    def get_parameters(self) -> np.ndarray: ...

    def set_parameters(self, values: Any) -> None: ...
