"""`ai-diy serve`: the start-up check (the one validate-config runs), then the API under hypercorn."""

from __future__ import annotations

import argparse
import sys

from observability.errors import ConfigError
from service.cli.settings_doc import help_text
from service.preflight import run_preflight


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the API (host, port, workers from AI_DIY_* settings)",
        description="Check the configuration, then run the API under hypercorn.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Every start-up mistake is a ConfigError (one line each, exit 2) before a request is served."""
    preflight = run_preflight()
    # An unknown AI_DIY_* name changes nothing the service does: a warning here, a failure in validate-config.
    for line in [*preflight.unknown, *preflight.warnings]:
        print(f"warning: {line}", file=sys.stderr)
    if preflight.problems or preflight.held or preflight.settings is None:
        raise ConfigError(*preflight.problems, *preflight.held)
    from service.server import serve  # noqa: PLC0415  # hypercorn and the app only once the configuration holds

    return serve(preflight.settings, preflight.sockets)
