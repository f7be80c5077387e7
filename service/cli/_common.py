"""How every command ends: named exit codes and the one printer for errors that stop a command."""

from __future__ import annotations

import sys
from typing import TextIO

from observability.errors import ConfigError

EXIT_OK = 0
# The command ran and found something wrong (a failed check, an invalid backup, problems in the data).
EXIT_FAILURE = 1
# The command could not run as asked: a setting, an argument or a path given by the operator is wrong.
# argparse uses the same code for a bad command line.
EXIT_CONFIG = 2
# Ctrl-C: the shell's convention, 128 + SIGINT.
EXIT_INTERRUPTED = 130


class InputError(ConfigError):
    """An argument the operator gave names something that is not there (an alert, a backup, a directory)."""

    label = "error"


def report(error: ConfigError | OSError, stream: TextIO | None = None) -> int:
    """Print one line per problem on stderr, never a traceback; returns EXIT_CONFIG.

    An OSError that reaches this point concerns a path the operator gave (an output
    file in a missing directory, a log directory that cannot be written): named with
    its file and the system's reason, and counted as a mistake in the request.
    """
    stream = stream if stream is not None else sys.stderr
    if isinstance(error, ConfigError):
        label = getattr(error, "label", "configuration error")
        lines = [f"{label}: {problem}" for problem in error.problems]
    else:
        # A rename names both ends (a temporary file and the one asked for): show both.
        names = [str(name) for name in (error.filename, error.filename2) if name]
        where = f"{' -> '.join(names)}: " if names else ""
        lines = [f"error: {where}{error.strerror or error}"]
    for line in lines:
        print(line, file=stream)
    return EXIT_CONFIG
