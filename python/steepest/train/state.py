"""What a model carries from one fit to the next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import numpy as np

from steepest.engine import Trainer
from steepest.train.history import History


@dataclass(frozen=True)
class SavedOptimizer:
    """partial_fit's optimizer state as a saved (or pickled) model holds it: the settings it
    was made for, the steps taken and the optimizer's arrays (see
    :meth:`steepest.engine.Trainer.copy_state`)."""

    settings: Tuple[Any, ...]
    steps: int
    arrays: Tuple[np.ndarray, ...]


@dataclass
class TrainingState:
    """A model's training so far: epochs trained over its whole life (they seed each epoch's
    shuffle), the last fit's History, and partial_fit's trainer with the settings it was made
    for (its optimizer state carries over while the settings stay the same). A loaded model
    has no trainer yet but the ``saved`` state, which the first partial_fit of the same
    settings takes up, so that it continues as the model saved would have."""

    epochs_trained: int = 0
    history: Optional[History] = None
    partial: Optional[Tuple[Trainer, Tuple[Any, ...]]] = None
    saved: Optional[SavedOptimizer] = None

    def snapshot(self, parameters: Callable[[], np.ndarray]) -> Tuple[np.ndarray, Optional[SavedOptimizer]]:
        """The parameters and partial_fit's optimizer state as a save takes them: of one
        batch boundary from partial_fit's trainer when there is one, else ``parameters()``
        and the state this model was loaded with (if any)."""
        if self.partial is None:
            return parameters(), self.saved
        trainer, settings = self.partial
        steps, values, arrays = trainer.copy_state()
        return values, SavedOptimizer(settings, steps, tuple(arrays))
