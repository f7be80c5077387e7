"""`ai-diy serve`: check the configuration, then run the API under hypercorn."""

from __future__ import annotations

import argparse
import sys

from service.cli.settings_doc import help_text
from service.preflight import check_startup
from service.settings import load_settings


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
    """Every start-up mistake is a ConfigError (one line each, exit 2) before the port opens."""
    settings = load_settings()
    for warning in check_startup(settings):
        print(f"warning: {warning}", file=sys.stderr)
    from service.server import serve  # noqa: PLC0415  # hypercorn and the app only once the configuration holds

    return serve(settings)
