"""One progress helper for every long job (training sets, CV folds and epochs,
projections, sampling, ORACLE and generator batches, integrations).

A bar is drawn with rich on stderr when progress is on; ``quiet()`` (the CLI's
``--quiet``) or ``progress=False`` turns it off; a callable receives
``(done, total, info)`` instead, for notebooks or tests.

Example:
    >>> with progress_bar(3, "media", progress=False) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    >>> bar.done
    3
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ProgressBar", "progress_bar", "set_quiet", "is_quiet", "ProgressArg"]

#: what every ``progress=`` argument accepts: on/off, or a callback ``(done, total, info)``
ProgressArg = bool | Callable[[int, int, dict[str, Any]], None] | None

_STATE = {"quiet": False}


def set_quiet(value: bool = True) -> None:
    """Silence (or re-enable) every progress bar in this process."""
    _STATE["quiet"] = bool(value)


def is_quiet() -> bool:
    """True when :func:`set_quiet` turned bars off."""
    return _STATE["quiet"]


class ProgressBar:
    """A counter with an optional rich bar or callback; use through :func:`progress_bar`."""

    def __init__(self, total: int, description: str, progress: ProgressArg) -> None:
        self.total = int(total)
        self.description = description
        self.done = 0
        self._callback = progress if callable(progress) else None
        self._rich: Any = None
        self._task: Any = None
        if progress is True and not is_quiet():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._rich.start()
            self._task = self._rich.add_task(description, total=self.total, info="")

    def advance(self, n: int = 1, **info: Any) -> None:
        """Count ``n`` more units done; ``info`` (e.g. ``loss=0.1``) is shown beside the bar."""
        self.update(self.done + n, **info)

    def update(self, done: int, **info: Any) -> None:
        """Set the number of units done."""
        self.done = int(done)
        if self._callback is not None:
            self._callback(self.done, self.total, info)
        if self._rich is not None:
            text = "  ".join(f"{k} {_fmt(v)}" for k, v in info.items())
            self._rich.update(self._task, completed=self.done, info=text)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@contextlib.contextmanager
def progress_bar(
    total: int, description: str = "", progress: ProgressArg = True
) -> Iterator[ProgressBar]:
    """A :class:`ProgressBar` that is closed however the block ends."""
    bar = ProgressBar(total, description, progress)
    try:
        yield bar
    finally:
        bar.close()
