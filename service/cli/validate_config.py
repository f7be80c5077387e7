"""`ai-diy validate-config`: the runbook's validate_config.py, one line per check."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from service.cli._common import EXIT_FAILURE, EXIT_OK
from service.models_config import ModelsConfigError, load_models_config
from service.settings import ConfigError, load_settings

OK, FAIL = "✅", "❌"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate-config", help="validate settings and models_config.json; exit 0 only when all checks pass"
    )
    parser.add_argument("--env-file", help="candidate .env file to validate instead of ./.env")
    parser.add_argument(
        "--models-config", type=Path, help="candidate models_config.json (default: AI_DIY_MODELS_CONFIG)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failures = 0

    def report(ok: bool, message: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{OK if ok else FAIL} {message}")

    env_file = args.env_file if args.env_file is not None else ".env"
    try:
        settings = load_settings(env_file=env_file)
    except ConfigError as exc:
        for line in exc.problems:
            report(False, f"setting {line}")
        settings = None
    else:
        source = env_file if Path(env_file).is_file() else "environment"
        report(True, f"settings valid (from {source})")

    models_path = args.models_config or (settings.models_config if settings else Path("models_config.json"))
    # A file named on the command line or in AI_DIY_MODELS_CONFIG must exist, as `serve` requires.
    required = args.models_config is not None or (settings is not None and settings.models_config_required)
    try:
        models, origin = load_models_config(models_path, required=required)
    except ModelsConfigError as exc:
        for line in exc.problems:
            report(False, f"models config {line}")
    else:
        report(True, f"models config valid ({origin}: {len(models.favorites)} models, default {models.default})")

    if settings is not None:
        for label, directory in (("log directory", settings.log_dir), ("data directory", settings.data_dir)):
            report(*_directory_usable(label, directory))

    print(f"{'✅ configuration is valid' if failures == 0 else f'❌ {failures} problem(s) found'}")
    return EXIT_OK if failures == 0 else EXIT_FAILURE


def _directory_usable(label: str, directory: Path) -> tuple[bool, str]:
    # A directory that does not exist yet is fine when the service can create it.
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return False, f"{label} {directory}: {existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return False, f"{label} {directory}: {existing} is not writable"
    state = "exists" if directory.exists() else "will be created"
    return True, f"{label} {directory} usable ({state})"
