"""Progress of a long fit: a live bar on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys
import time
from typing import IO, Dict, Optional


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class Progress:
    """Reports a fit's progress at ``verbose`` 0 (silent), 1 (bar on a terminal, else one
    line per epoch) or 2 (one line per epoch)."""

    _width = 24
    _min_interval = 0.1  # seconds between redraws: a bar must not slow training down

    def __init__(self, verbose: int, epochs: int, batches: int, stream: Optional[IO[str]] = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.verbose = verbose
        self.epochs = epochs
        self.batches = batches
        self.live = verbose == 1 and getattr(self.stream, "isatty", lambda: False)()
        self._last_draw = 0.0
        self._epoch_start = time.perf_counter()

    def epoch_begin(self, epoch: int) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch = epoch

    def batches_done(self, done: int, samples: int, loss: float) -> None:
        if not self.live:
            return
        now = time.perf_counter()
        if now - self._last_draw < self._min_interval and done < self.batches:
            return
        self._last_draw = now
        elapsed = now - self._epoch_start
        filled = int(self._width * done / self.batches)
        bar = "=" * filled + (">" if filled < self._width else "") + "." * (self._width - filled - 1)
        rate = samples / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (self.batches - done) if done else 0.0
        self.stream.write(
            f"\rEpoch {self._epoch + 1}/{self.epochs} [{bar}] {done}/{self.batches} loss {loss:.4g}  {rate:,.0f} samples/s  ETA {_duration(eta)} "
        )
        self.stream.flush()

    def epoch_end(self, logs: Dict[str, float]) -> None:
        if self.verbose == 0:
            return
        parts = [f"{key} {value:.4g}" for key, value in logs.items() if key not in ("time", "lr", "samples_per_second")]
        line = (
            f"Epoch {self._epoch + 1}/{self.epochs} - {logs['time']:.2f}s - "
            f"{logs['samples_per_second']:,.0f} samples/s - " + " - ".join(parts) + f" - lr {logs['lr']:.3g}"
        )
        self.stream.write(("\r" + line + " " * 8 + "\n") if self.live else line + "\n")
        self.stream.flush()

    def interrupted(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
