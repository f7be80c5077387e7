"""What `ai-diy serve` checks before it opens a port: every mistake found here is one line, not a later 503.

`check_startup` raises one ConfigError listing every problem (exit code 2), and
returns the warnings that do not stop the start (one line each). Binding the
ports is checked where they are bound (service.server).
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from limits.aio.storage import MemoryStorage
from limits.storage import storage_from_string

from observability.errors import ConfigError
from observability.tracing import check_tracing_config
from service.models_config import load_models_config
from service.security.limiter import async_storage_uri
from service.settings import Settings

STORAGE_PROBE_TIMEOUT = 2.0


def check_startup(settings: Settings) -> list[str]:
    """Raise ConfigError with every problem of these settings; the warnings otherwise."""
    problems: list[str] = []
    warnings: list[str] = []
    for check in (_models_config, _tracing, _log_dir):
        try:
            check(settings)
        except ConfigError as error:
            problems += error.problems
    unreachable = storage_unreachable(settings.rate_limit_storage)
    if unreachable is not None:
        where = f"AI_DIY_RATE_LIMIT_STORAGE: {redact(settings.rate_limit_storage)} is unreachable ({unreachable})"
        if settings.rate_limit_fail_closed:
            problems.append(f"{where}; AI_DIY_RATE_LIMIT_FAIL_CLOSED=true would refuse every /api request")
        else:
            warnings.append(f"{where}; serving with rate limiting degraded (fail-open) until it answers")
    if problems:
        raise ConfigError(*problems)
    return warnings


def _models_config(settings: Settings) -> None:
    load_models_config(settings.models_config, required=settings.models_config_required)


def _tracing(settings: Settings) -> None:
    check_tracing_config()


def _log_dir(settings: Settings) -> None:
    # Written, not inspected: permission bits say nothing to root, nor about a
    # read-only mount or a full disk. The directory is created as the service would.
    directory = settings.log_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise ConfigError(f"AI_DIY_LOG_DIR: {directory} cannot be written ({exc.strerror or exc})") from None


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
