"""`ai-diy serve`: the start-up check (the one validate-config runs), then the API under hypercorn.

--host, --port and --workers, as hypercorn and uvicorn name them, override AI_DIY_HOST,
AI_DIY_PORT and AI_DIY_WORKERS; the environment (and .env) stays the source of every
other setting. The options are validated as those variables are, by the same check.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from observability.errors import ConfigError
from service.addresses import http_url
from service.cli.settings_doc import help_text
from service.preflight import run_preflight
from service.settings import ENV_PREFIX

# The settings the command line may override: option name = setting name.
OPTIONS = {
    "host": "address to bind (default: AI_DIY_HOST)",
    "port": "TCP port of the API (default: AI_DIY_PORT)",
    "workers": "worker processes (default: AI_DIY_WORKERS)",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the API (--host, --port, --workers; every other setting from AI_DIY_* variables)",
        description="Check the configuration, then run the API under hypercorn.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, meaning in OPTIONS.items():
        # Kept as text: the settings model judges the value, with the same rules as the variable's.
        parser.add_argument(f"--{name}", metavar=name.upper(), help=meaning)
    parser.set_defaults(func=run)


def _given(args: argparse.Namespace) -> dict[str, str]:
    return {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}


def _named_as_given(lines: list[str], given: dict[str, str]) -> list[str]:
    """Name an option the operator gave instead of the variable it overrides (`--port: ...`)."""
    if not given:
        return lines
    variables = re.compile(rf"\b{ENV_PREFIX.upper()}({'|'.join(name.upper() for name in given)})\b")
    return [variables.sub(lambda match: f"--{match.group(1).lower()}", line) for line in lines]


def run(args: argparse.Namespace) -> int:
    """Every start-up mistake is a ConfigError (one line each, exit 2) before a request is served."""
    given = _given(args)
    preflight = run_preflight(overrides=given)
    # An unknown AI_DIY_* name changes nothing the service does: a warning here, a failure in validate-config.
    for line in [*preflight.unknown, *preflight.warnings]:
        print(f"warning: {line}", file=sys.stderr)
    if preflight.problems or preflight.held or preflight.settings is None or preflight.sockets is None:
        raise ConfigError(*_named_as_given([*preflight.problems, *preflight.held], given))
    settings = preflight.settings
    # The app and any spawned worker build their settings from the environment: give them the same.
    for name in given:
        os.environ[f"{ENV_PREFIX}{name}".upper()] = str(getattr(settings, name))
    from service.server import serve, when_listening  # noqa: PLC0415  # hypercorn and the app only once the configuration holds

    def announce() -> None:
        lines = [f"serving on {http_url(settings.host, settings.port)} (Ctrl-C stops)"]
        if settings.metrics_port is not None:
            lines.append(f"metrics on {http_url(settings.metrics_host, settings.metrics_port, '/metrics')}")
        print(*lines, sep="\n", flush=True)

    # Said once hypercorn listens, after the app has started: a request sent after this line is answered.
    when_listening(preflight.sockets, announce)
    return serve(settings, preflight.sockets)
