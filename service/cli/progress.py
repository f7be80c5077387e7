"""Progress of file-by-file work, on stderr: a bar when stderr is a terminal, silence when it is not.

A command adds `-q/--quiet` (no bar) and `-v/--verbose` (one line per file, on a
terminal or not) with `add_options`, opens `FileProgress.from_args(args)` around its
work, and hands each phase's callback (`phase(label, files, size)`) to the function
doing the work, which calls it once per file with its name and size in bytes.
stdout is never touched: it may be the backup itself (`data export` without `-o`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.filesize import decimal, pick_unit_and_suffix
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from service.ops.backups import FileDone


def add_options(parser: argparse.ArgumentParser) -> None:
    """-q/--quiet and -v/--verbose, one or the other."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bar on a terminal")
    group.add_argument("-v", "--verbose", action="store_true", help="list each file on stderr")


def total_size(paths: Iterable[Path]) -> int:
    """Bytes in the files that exist of paths (a total for the bar, never an error)."""
    size = 0
    for path in paths:
        with contextlib.suppress(OSError):  # gone or unreadable: the work itself reports it
            size += path.stat().st_size
    return size


class _CountsColumn(ProgressColumn):
    """`3/10 files  1.2/4.5 MB`: the bar moves by files, the bytes say how much work each was."""

    def render(self, task: Task) -> Text:
        files = f"{int(task.completed)}/{int(task.total or 0)} files"
        done, size = task.fields["bytes"], task.fields["size"]
        if size is None:
            return Text(f"{files}  {decimal(done)}")
        # One unit for both numbers, chosen by the total, as rich's DownloadColumn does.
        unit, suffix = pick_unit_and_suffix(size, ["bytes", "kB", "MB", "GB", "TB", "PB"], 1000)
        precision = 0 if unit == 1 else 1
        return Text(f"{files}  {done / unit:,.{precision}f}/{size / unit:,.{precision}f} {suffix}")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # a replaced stream with no file descriptor
        return False


class FileProgress:
    """The progress of one command: zero or more phases, each a bar of files."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False, stream: TextIO | None = None) -> None:
        stream = stream if stream is not None else sys.stderr
        terminal = _is_terminal(stream)
        # Decided here, not from rich's environment (FORCE_COLOR, TTY_COMPATIBLE): a pipe gets no bar.
        self._console = Console(
            file=stream, force_terminal=terminal, highlight=False, markup=False, emoji=False, soft_wrap=True
        )
        self._verbose = verbose
        self._bar: Progress | None = None
        if terminal and not quiet:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                _CountsColumn(),
                TimeElapsedColumn(),
                console=self._console,
                redirect_stdout=False,
                redirect_stderr=False,
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FileProgress:
        return cls(quiet=args.quiet, verbose=args.verbose)

    def __enter__(self) -> FileProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def phase(self, label: str, files: int, size: int | None = None) -> FileDone:
        """A new bar of `files` files (and `size` bytes when known); returns its per-file callback."""
        bar = self._bar
        task = bar.add_task(label, total=files, bytes=0, size=size) if bar is not None else None
        done_bytes = 0

        def done(name: str, nbytes: int) -> None:
            nonlocal done_bytes
            done_bytes += nbytes
            if bar is not None and task is not None:
                bar.update(task, advance=1, bytes=done_bytes)
            if self._verbose:
                self._console.print(f"{label}: {name} ({decimal(nbytes)})")

        return done
