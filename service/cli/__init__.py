"""`ai-diy`: the operator's commands.

serve, validate-config, check, runbook, config, data, prune-backups, logs, stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from observability.errors import ConfigError
from service import __version__
from service.cli import check, config, data, drill, logs, prune_backups, runbook, serve, stack, validate_config
from service.cli._common import EXIT_INTERRUPTED, EXIT_OK, report

# Each module defines register(subparsers); in this order in `ai-diy --help`.
COMMANDS = (serve, validate_config, check, runbook, config, data, prune_backups, logs, stack, drill)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ai-diy", description="Run and operate the AI-DIY service.")
    parser.add_argument("--version", action="version", version=f"ai-diy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; whatever stops it early is reported here, in one way, with a named exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or EXIT_OK)
    except (ConfigError, OSError) as error:
        return report(error)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
