"""The one start-up check, run by `ai-diy serve` before it serves and by `ai-diy validate-config` alone.

Both commands call `run_preflight` and so reach the same verdict with the same lines:
every problem is one line naming the setting (the command exits 2), every warning one
line that does not stop the start. Each check does what start-up does rather than
guess from the outside: the log directory is written to, the listening ports are
bound (serve keeps these sockets and serves on them), the rate-limit storage is asked.
Two kinds of line are weighed differently by the two commands, and say so:
- an AI_DIY_* name no setting reads (`unknown`): serve warns, validate-config fails;
- a port held by a running AI-DIY service (`held`): serve cannot start, while for
  validate-config, run to check a change before a restart, it is a warning: the restart
  stops that service before the new one binds (as systemd's ExecStartPre run does).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypercorn.config import Sockets
from limits.aio.storage import MemoryStorage
from limits.storage import storage_from_string

from observability.errors import ConfigError
from observability.tracing import check_tracing_config
from service.addresses import local_url
from service.models_config import load_models_config
from service.security.limiter import async_storage_uri
from service.settings import Settings, load_settings, unknown_names

STORAGE_PROBE_TIMEOUT = 2.0


@dataclass
class Preflight:
    """What the start-up check found; `sockets` are the bound listeners when every port could be bound."""

    settings: Settings | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    sockets: Sockets | None = None

    def close(self) -> None:
        """Release the listening sockets (validate-config, or a start that stops here)."""
        if self.sockets is not None:
            for sock in self.sockets.insecure_sockets:
                sock.close()
            self.sockets = None


def run_preflight(
    env_file: str | Path | None = ".env",
    *,
    models_config: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Preflight:
    """Check everything start-up depends on; never raises for a problem it can name.

    `overrides` (settings by field name, such as serve's --port) win over the environment
    and go through the same validation.
    """
    result = Preflight(unknown=unknown_names(env_file))
    try:
        result.settings = settings = load_settings(env_file=env_file, **(overrides or {}))
    except ConfigError as error:
        result.problems += error.problems
        settings = None
    else:
        source = env_file if env_file is not None and Path(env_file).is_file() else "environment"
        result.passed.append(f"settings valid (from {source})")
    _check(result, lambda: _models_config(settings, models_config))
    _check(result, check_tracing_config)
    if settings is None:
        return result
    _check(result, lambda: _log_dir(settings))
    _check(result, lambda: _data_dir(settings, result.warnings))
    _storage(settings, result)
    _check(result, lambda: _listen(settings, result))
    if result.problems:
        result.close()  # kept only for a start that goes ahead
    return result


def _check(result: Preflight, check: Callable[[], str | None]) -> None:
    """Run one check: its ConfigError lines are problems, what it returns is the line of a passed check."""
    try:
        passed = check()
    except ConfigError as error:
        result.problems += error.problems
    else:
        if passed:
            result.passed.append(passed)


def _models_config(settings: Settings | None, explicit: Path | None) -> str:
    path = explicit or (settings.models_config if settings is not None else Path("models_config.json"))
    # A file named on the command line or in AI_DIY_MODELS_CONFIG must exist.
    required = explicit is not None or (settings is not None and settings.models_config_required)
    models, origin = load_models_config(path, required=required)
    return f"models config valid ({origin}: {len(models.favorites)} models, default {models.default})"


def _log_dir(settings: Settings) -> str:
    # Written, not inspected: permission bits say nothing to root, nor about a
    # read-only mount, /proc, or a full disk. The directory is created as the service would.
    directory = settings.log_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(f"AI_DIY_LOG_DIR: {directory} cannot be written ({exc.strerror or exc})") from None
    return f"log directory {directory} usable"


def _data_dir(settings: Settings, warnings: list[str]) -> str:
    # A data directory that cannot exist stops the start; a read-only one still serves
    # its documents (writes answer 503), so it only warns.
    directory = settings.data_dir
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"AI_DIY_DATA_DIR: {directory} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"AI_DIY_DATA_DIR: {directory} cannot be created ({exc.strerror or exc})") from None
    if not os.access(directory, os.R_OK | os.X_OK):
        raise ConfigError(f"AI_DIY_DATA_DIR: {directory} cannot be read")
    if not os.access(directory, os.W_OK):
        warnings.append(f"AI_DIY_DATA_DIR: {directory} is read-only; documents are served, writes answer 503")
    return f"data directory {directory} usable"


def _storage(settings: Settings, result: Preflight) -> None:
    unreachable = storage_unreachable(settings.rate_limit_storage)
    if unreachable is None:
        return
    where = f"AI_DIY_RATE_LIMIT_STORAGE: {redact(settings.rate_limit_storage)} is unreachable ({unreachable})"
    if settings.rate_limit_fail_closed:
        result.problems.append(f"{where}; AI_DIY_RATE_LIMIT_FAIL_CLOSED=true would refuse every /api request")
    else:
        result.warnings.append(f"{where}; serving with rate limiting degraded (fail-open) until it answers")


def _listen(settings: Settings, result: Preflight) -> str:
    # The metrics listener is told apart from the API by its port alone (MetricsPortMiddleware).
    if settings.metrics_port is not None and settings.metrics_port == settings.port:
        raise ConfigError(f"AI_DIY_METRICS_PORT: must differ from AI_DIY_PORT (both are {settings.port})")
    from service.server import bind_sockets, hypercorn_config  # noqa: PLC0415  # hypercorn only when it is needed

    try:
        result.sockets = bind_sockets(settings, hypercorn_config(settings))
    except ConfigError as error:
        if not _running_ai_diy(settings.host, settings.port):
            raise
        result.held += [f"{line} (held by a running AI-DIY service)" for line in error.problems]
        return ""
    ports = [str(settings.port)] + ([str(settings.metrics_port)] if settings.metrics_port is not None else [])
    return f"listening ports {', '.join(ports)} free"


def _running_ai_diy(host: str, port: int) -> bool:
    """Whether the AI-DIY service answers on host:port (its liveness answer, bounded to one second)."""
    try:
        with urllib.request.urlopen(local_url(host, port, "/health/live"), timeout=1.0) as response:  # noqa: S310  # http only
            return bool(json.loads(response.read()).get("status") == "alive")
    except (OSError, ValueError, AttributeError):  # anything else on the port, or nothing that answers HTTP
        return False


def storage_unreachable(uri: str, timeout: float = STORAGE_PROBE_TIMEOUT) -> str | None:
    """Why the rate-limit storage does not answer, or None when it does (or lives in memory)."""
    storage = storage_from_string(async_storage_uri(uri), wrap_exceptions=True)
    if isinstance(storage, MemoryStorage):
        return None
    with asyncio.Runner() as runner:
        # A peer that answers garbage makes the client library report through the
        # loop's handler (a traceback on stderr); the probe's result says it all.
        runner.get_loop().set_exception_handler(_quiet)
        return runner.run(_probe(storage, timeout))


async def _probe(storage: Any, timeout: float) -> str | None:  # noqa: ASYNC109  # applied by asyncio.timeout below
    try:
        async with asyncio.timeout(timeout):
            answered = await storage.check()
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as exc:  # any failure of the client library means the same: not usable
        return type(exc).__name__
    return None if answered else "connection failed"


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Swallow what the storage client reports through the loop during the probe."""


def redact(uri: str) -> str:
    """The storage URI without its user and password."""
    scheme, _, rest = uri.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"
