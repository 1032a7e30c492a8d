"""A rich progress bar that appears only for work that lasts longer than a second."""

from __future__ import annotations

import time
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

_DELAY_SECONDS = 1.0


class DelayedProgress:
    """Progress callbacks for one request; the bar shows after `_DELAY_SECONDS`.

    Args:
        console: where to draw; nothing is drawn unless it is a terminal.
        description: the label shown beside the bar.
        enabled: False turns the bar off (`--quiet`).
    """

    def __init__(self, console: Console, description: str, enabled: bool = True):
        self._console = console
        self._description = description
        self._enabled = enabled and console.is_terminal
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._progress is None:
            if time.monotonic() - self._started < _DELAY_SECONDS:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TimeRemainingColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


ProgressCallback = Callable[[int, int], None]
