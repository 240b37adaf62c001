"""Warnings that point at the user's line: the first frame outside the steepest package,
however deep inside steepest the warning is raised."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Type

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: Type[Warning]) -> None:
    # stacklevel 1 is this function, 2 its caller (frame 1 here), and so on.
    level = 2
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
