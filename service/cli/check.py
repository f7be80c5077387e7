"""`ai-diy check`: the runbook's daily-health-check.sh against a running instance."""
from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from service.cli._common import EXIT_FAILURE, EXIT_OK

OK, FAIL = "✅", "❌"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="daily health check of a running instance")
    parser.add_argument("--url", default="http://localhost:8000", help="base URL (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default: %(default)s)")
    parser.set_defaults(func=run)


def _get_json(url: str, timeout: float) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, None


def run(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    print("=== AI-DIY Daily Health Check ===")
    try:
        status, health = _get_json(f"{base}/health", args.timeout)
    except (OSError, ValueError) as exc:
        print(f"{FAIL} Application health check failed: {exc}")
        return EXIT_FAILURE
    if status != 200:
        failing = [name for name, c in (health or {}).get("checks", {}).items() if c.get("status") != "ok"]
        print(f"{FAIL} Application health check failed: HTTP {status}, failing checks: {', '.join(failing) or 'unknown'}")
        return EXIT_FAILURE
    print(f"{OK} Application is healthy (version {health.get('version')}, up {health.get('uptime_seconds')}s)")

    try:
        status, security = _get_json(f"{base}/api/security/status", args.timeout)
    except (OSError, ValueError) as exc:
        print(f"{FAIL} Security status unavailable: {exc}")
        return EXIT_FAILURE
    state = (security or {}).get("security_status")
    if status == 200 and state == "active":
        print(f"{OK} Security systems active")
    else:
        print(f"{FAIL} Security systems not active (security_status: {state}, HTTP {status})")
        return EXIT_FAILURE
    print("=== Health check complete ===")
    return EXIT_OK
