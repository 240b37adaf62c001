"""The History that the loss curves and the diagnostics draw, imported in this one place:
when History moves (to ``steepest.train.history``) only this line changes."""

from steepest.history import History

__all__ = ["History"]
