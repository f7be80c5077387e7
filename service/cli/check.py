"""`ai-diy check`: the runbook's daily-health-check.sh against a running instance.

It checks the instance this configuration serves (AI_DIY_HOST and AI_DIY_PORT, from
the environment or .env, as `serve` reads them; a wildcard host is reached on loopback)
unless --url names another; a failure names the URL it tried. The checks run in order
and the first failure ends the run (what follows depends on it). `--json` prints one
object for automation instead of the runbook's lines:
`{"status": "ok"|"fail", "url": ..., "checks": {name: {"status": "ok"|"fail"|"skipped", "detail": ...}}}`.
The exit code is the same either way.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.addresses import local_url
from service.cli._common import EXIT_FAILURE, EXIT_OK
from service.settings import load_settings

OK, FAIL = "✅", "❌"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("check", help="daily health check of a running instance")
    parser.add_argument(
        "--url",
        type=_base_url,
        help="base URL (default: the configured AI_DIY_HOST and AI_DIY_PORT, from the environment or .env)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (each check, its status and detail)")
    parser.set_defaults(func=run)


def _base_url(value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"expected http://host:port or https://host:port, got {value!r}")
    return value.rstrip("/")


def configured_url() -> str:
    """Where the configured instance answers on this host (ConfigError when the settings are invalid)."""
    settings = load_settings()
    return local_url(settings.host, settings.port)


def _unreachable(url: str, exc: OSError | ValueError) -> str:
    # urllib wraps the socket's error: its reason ("Connection refused") is what the operator needs.
    return f"{url}: {getattr(exc, 'reason', None) or exc}"


@dataclass(frozen=True)
class Outcome:
    """One check's result: `line` is what the runbook's script printed after its mark."""

    name: str
    status: str  # ok | fail | skipped
    detail: str
    line: str = ""


def _get_json(url: str, timeout: float) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  # the operator's --url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # the operator's --url
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, None


def _health(base: str, timeout: float) -> Outcome:
    url = f"{base}/health"
    try:
        status, health = _get_json(url, timeout)
    except (OSError, ValueError) as exc:
        detail = _unreachable(url, exc)
        return Outcome("health", "fail", detail, f"Application health check failed: {detail}")
    if status != 200:
        failing = [name for name, c in (health or {}).get("checks", {}).items() if c.get("status") != "ok"]
        detail = f"HTTP {status}, failing checks: {', '.join(failing) or 'unknown'}"
        return Outcome("health", "fail", detail, f"Application health check failed: {detail}")
    detail = f"version {health.get('version')}, up {health.get('uptime_seconds')}s"
    return Outcome("health", "ok", detail, f"Application is healthy ({detail})")


def _security(base: str, timeout: float) -> Outcome:
    url = f"{base}/api/security/status"
    try:
        status, security = _get_json(url, timeout)
    except (OSError, ValueError) as exc:
        detail = _unreachable(url, exc)
        return Outcome("security", "fail", detail, f"Security status unavailable: {detail}")
    state = (security or {}).get("security_status")
    if status == 200 and state == "active":
        return Outcome("security", "ok", "security_status: active", "Security systems active")
    detail = f"security_status: {state}, HTTP {status}"
    return Outcome("security", "fail", detail, f"Security systems not active ({detail})")


CHECKS: tuple[tuple[str, Callable[[str, float], Outcome]], ...] = (("health", _health), ("security", _security))


def run_checks(base: str, timeout: float, *, on_outcome: Callable[[Outcome], None] = lambda _: None) -> list[Outcome]:
    """Every check in order; after the first failure the rest are `skipped`."""
    outcomes: list[Outcome] = []
    for name, check in CHECKS:
        if outcomes and outcomes[-1].status != "ok":
            outcomes.append(Outcome(name, "skipped", f"not run: the {outcomes[-1].name} check failed"))
            continue
        outcomes.append(check(base, timeout))
        on_outcome(outcomes[-1])
    return outcomes


def _print_line(outcome: Outcome) -> None:
    # Failures on stderr: a cron job mails what reaches stderr, and stdout stays the report.
    if outcome.status == "ok":
        print(f"{OK} {outcome.line}", flush=True)
    else:
        print(f"{FAIL} {outcome.line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    base = args.url or configured_url()
    if args.json:
        outcomes = run_checks(base, args.timeout)
    else:
        print("=== AI-DIY Daily Health Check ===", flush=True)
        outcomes = run_checks(base, args.timeout, on_outcome=_print_line)
    passed = all(outcome.status == "ok" for outcome in outcomes)
    if args.json:
        checks = {outcome.name: {"status": outcome.status, "detail": outcome.detail} for outcome in outcomes}
        print(json.dumps({"status": "ok" if passed else "fail", "url": base, "checks": checks}))
    elif passed:
        print("=== Health check complete ===")
    return EXIT_OK if passed else EXIT_FAILURE
