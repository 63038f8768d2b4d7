"""Progress of long work, for a person at a terminal only.

A bar with the count, the total and the time left (click's progressbar) is drawn on standard
error while books are checked or loaded, files imported or workbooks written. Nothing is
drawn when standard output or standard error is not a terminal (a script, a pipe, a log) or
with ``--json``: what a command prints for a program never changes. A line the command
prints while the bar is shown clears the bar first; the bar is drawn again at the next step.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from grants.cli import terminal


def showing(as_json: bool = False) -> bool:
    """Whether to show progress: both standard output and standard error are terminals,
    and the command is not printing JSON."""
    return not as_json and sys.stdout.isatty() and sys.stderr.isatty()


class Bar:
    """A progress bar of ``total`` steps, or nothing at all when ``show`` is false."""

    def __init__(self, total: int, label: str, show: bool) -> None:
        self.total = total
        self.done = 0
        self._bar: Any = None
        if show and total > 0:
            self._bar = click.progressbar(
                length=total,
                label=terminal.visible(label),
                file=sys.stderr,
                show_eta=True,
                show_percent=False,
                show_pos=True,
            )
            self._bar.__enter__()  # drawn now, before the first step
            terminal.on_line(terminal.clear_line)

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def label(self, text: str) -> None:
        """Say what is being done now (``file 3 of 10: x.xlsx``)."""
        if self._bar is not None:
            self._bar.label = terminal.visible(text)
            self._bar.render_progress()

    def to(self, done: int) -> None:
        """Move the bar to ``done`` steps of the total."""
        if done > self.done:
            self.advance(done - self.done)

    def advance(self, steps: int = 1) -> None:
        self.done = min(self.total, self.done + steps)
        if self._bar is not None:
            self._bar.update(steps)

    def close(self) -> None:
        if self._bar is not None:
            terminal.on_line(None)
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def bar(total: int, label: str, show: bool) -> Iterator[Bar]:
    """A `Bar`, closed (its line finished) however the work ends."""
    progress = Bar(total, label, show)
    try:
        yield progress
    finally:
        progress.close()


__all__ = ["Bar", "bar", "showing"]
