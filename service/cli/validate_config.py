"""`ai-diy validate-config`: serve's start-up check, without serving.

The same function as `serve` runs (service.preflight), so the verdict and the lines
are the same: each problem is a `configuration error:` line on stderr, exactly as
serve prints it, and the exit code is serve's (2). Two differences, both named by the
check (see service.preflight): an unknown AI_DIY_* name fails here (serve warns), and
a port held by a running AI-DIY service only warns here (serve cannot start).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.cli._common import EXIT_CONFIG, EXIT_OK
from service.preflight import run_preflight

OK, FAIL = "✅", "❌"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate-config",
        help="run serve's start-up check without serving; exit 0 only when serve would start",
    )
    parser.add_argument("--env-file", help="candidate .env file to validate instead of ./.env")
    parser.add_argument(
        "--models-config", type=Path, help="candidate models_config.json (default: AI_DIY_MODELS_CONFIG)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env_file = args.env_file if args.env_file is not None else ".env"
    preflight = run_preflight(env_file, models_config=args.models_config)
    preflight.close()
    for line in preflight.passed:
        print(f"{OK} {line}", flush=True)
    # A port this service already holds is freed by the restart that applies the change.
    for line in [*preflight.held, *preflight.warnings]:
        print(f"warning: {line}", file=sys.stderr)
    problems = [*preflight.unknown, *preflight.problems]
    for line in problems:
        print(f"configuration error: {line}", file=sys.stderr)
    sys.stderr.flush()
    print(f"{OK} configuration is valid" if not problems else f"{FAIL} {len(problems)} problem(s) found")
    return EXIT_OK if not problems else EXIT_CONFIG
