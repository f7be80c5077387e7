"""`ai-diy serve`: validate the configuration, then run the API under hypercorn."""
from __future__ import annotations

import argparse
import sys

from service.cli._common import EXIT_CONFIG, settings_or_exit
from service.models_config import ModelsConfigError, load_models_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the API (host, port, workers from AI_DIY_* settings)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if settings is None:
        return EXIT_CONFIG
    try:
        load_models_config(settings.models_config)
    except ModelsConfigError as exc:
        for line in exc.problems:
            print(f"configuration error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    from observability.tracing import TracingConfigError, check_tracing_config

    try:
        check_tracing_config()
    except TracingConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from service.server import serve

    return serve(settings)
