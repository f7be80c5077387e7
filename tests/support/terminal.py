"""Running a command with its stderr on a pseudo-terminal, as an operator's shell would."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Cursor movement, colours, line erasing: what a live display writes besides its text.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    stdout: str
    terminal: str  # what reached the terminal (stderr), raw

    @property
    def terminal_text(self) -> str:
        """The terminal's output without control sequences.

        Each redraw (after a bare carriage return) is on its own line.
        """
        return _CONTROL.sub("", self.terminal).replace("\r\n", "\n").replace("\r", "\n")


def run_with_terminal_stderr(
    argv: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float = 60.0
) -> TerminalRun:
    """Run argv with stderr on a pseudo-terminal and stdout on a pipe; bounded by timeout."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=cwd
        )
    finally:
        os.close(slave)  # the child holds the only other end: EOF (EIO) on the master when it exits
    assert proc.stdout is not None
    out = proc.stdout.fileno()
    chunks: dict[int, bytearray] = {master: bytearray(), out: bytearray()}
    timed_out = False
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        try:
            while selector.get_map() and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.5):
                    try:
                        data = os.read(key.fd, 65536)
                    except OSError:  # EIO: the terminal's other end is closed
                        data = b""
                    if data:
                        chunks[key.fd].extend(data)
                    else:
                        selector.unregister(key.fd)
        finally:
            if selector.get_map():
                timed_out = True
                proc.kill()
            os.close(master)
            proc.stdout.close()
    returncode = proc.wait(timeout=10)
    if timed_out:
        raise TimeoutError(
            f"{argv} still writing after {timeout}s; its terminal showed:\n{chunks[master].decode(errors='replace')}"
        )
    return TerminalRun(returncode, chunks[out].decode(), chunks[master].decode(errors="replace"))
