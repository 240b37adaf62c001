"""What a model carries from one fit to the next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from steepest.engine import Trainer
from steepest.train.history import History


@dataclass
class TrainingState:
    """A model's training so far: epochs trained over its whole life (they seed each epoch's
    shuffle), the last fit's History, and partial_fit's trainer with the settings it was made
    for (its optimizer state carries over while the settings stay the same)."""

    epochs_trained: int = 0
    history: Optional[History] = None
    partial: Optional[Tuple[Trainer, Tuple[Any, ...]]] = None
