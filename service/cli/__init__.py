"""`ai-diy`: the operator's commands (serve, validate-config, check, data, logs, stack)."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from service import __version__

# Each module defines register(subparsers); listed here so `ai-diy --help` shows them in order.
COMMAND_MODULES = ("serve", "validate_config", "check", "runbook", "config", "data", "prune_backups", "logs", "stack")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ai-diy", description="Run and operate the AI-DIY service.")
    parser.add_argument("--version", action="version", version=f"ai-diy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"service.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"service.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
