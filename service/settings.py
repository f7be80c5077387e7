"""Service settings: the environment (AI_DIY_*) and an optional .env file.

Every setting is validated at start-up; `load_settings` turns validation errors into
one readable line per problem (`ConfigError`), never a traceback.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from limits import parse_many
from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from observability.errors import ConfigError as ConfigError  # noqa: PLC0414  # an explicit re-export, for mypy

ENV_PREFIX = "AI_DIY_"
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "async+redis", "async+memory", "redis+sentinel")


class AppEnv(StrEnum):
    DEV = "DEV"
    PRODUCTION = "PRODUCTION"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(value: Any) -> Network:
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR network") from None


class Settings(BaseSettings):
    """All configuration of one service instance."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    host: str = Field("127.0.0.1", description="Address hypercorn binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the API.")
    workers: int = Field(1, ge=1, le=64, description="Hypercorn worker processes; metrics aggregate across them.")
    log_level: LogLevel = Field(
        LogLevel.INFO,
        validation_alias=AliasChoices("AI_DIY_LOG_LEVEL", "LOG_LEVEL"),
        description="Lowest level written to the logs.",
    )
    log_dir: Path = Field(
        Path("logs"),
        description="Directory of the JSONL log files: "
        "`ai_diy_api_YYYYMMDD.jsonl`, `ai_diy_security_…`, `ai_diy_audit_…`.",
    )
    data_dir: Path = Field(Path("data"), description="Data directory; documents live in `<data dir>/appdocs`.")
    models_config: Path = Field(
        Path("models_config.json"),
        description=(
            "Models configuration file; an embedded default is used when it is absent, unless this variable names it."
        ),
    )
    app_env: AppEnv = Field(AppEnv.DEV, description="Deployment environment.")
    rate_limit: str = Field(
        "100/minute", description="Per-client limit on `/api/*` in `limits` notation, e.g. `100/minute;1000/hour`."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Rate-limit storage URI: `memory://`, `redis://host:port/db` to share across replicas, or "
        "`redis+sentinel://host:port,host:port/<master>` to follow a Sentinel fail-over; "
        "every location needs its port.",
    )
    rate_limit_fail_closed: bool = Field(
        False,
        description=(
            "Refuse `/api/*` requests (503) while the rate-limit storage is unreachable, instead of allowing them."
        ),
    )
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated IPs/CIDRs whose `X-Forwarded-For`/`Forwarded` headers are believed.",
    )
    max_request_bytes: int = Field(1_048_576, ge=1, description="Largest accepted request body in bytes (413 above).")
    drain_timeout: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Seconds in-flight requests get to finish after SIGTERM/SIGINT; connections still open then "
        "are closed, and the process exits within one more second.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve `/metrics` on this separate port (on `AI_DIY_METRICS_HOST`) instead of the API port.",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of the separate metrics listener.")
    memory_limit_mib: int | None = Field(
        None,
        ge=16,
        description="Memory (MiB) the memory gauges and alerts measure against when it is below the cgroup limit "
        "or the host's memory (this service's share of a shared host); unset: the cgroup limit, else the host's.",
    )
    resource_log_interval: float = Field(
        60.0, ge=0, description="Seconds between `resource_usage` log lines (0 disables them)."
    )
    trace_sample_ratio: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of traces kept whatever their outcome (decided on the trace id, as TraceIdRatioBased does).",
    )
    trace_slow_ms: float = Field(
        1000.0,
        gt=0,
        description="Requests at or over this many milliseconds keep their trace (the latency objective); "
        "failed and caller-sampled ones always do.",
    )
    trace_max_kept_per_second: int = Field(
        20,
        ge=0,
        description="Most traces the sample ratio keeps per second in one process (0: no cap); "
        "failed, slow and caller-sampled ones are kept whatever the cap.",
    )
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for appdocs writes (PUT/DELETE); writes are disabled when unset."
    )
    fault_injection: bool = Field(
        False,
        description="Serve `/admin/faults` (admin token required) so `ai-diy drill` can inject faults; "
        "refused in PRODUCTION and without `AI_DIY_ADMIN_TOKEN`.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        return [_network(part) for part in value]

    @field_validator("log_dir", "data_dir", "models_config", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # No file system takes a NUL in a path: refused here, not as a traceback from the first open().
        if isinstance(value, str | Path) and "\x00" in str(value):
            raise ValueError("a path cannot contain a NUL character")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("app_env", mode="before")
    @classmethod
    def _normalise_env(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().upper()
            return {"DEVELOPMENT": "DEV", "PROD": "PRODUCTION"}.get(value, value)
        return value

    @field_validator("rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("expected `limits` notation such as 100/minute or 10/second;1000/hour") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in RATE_LIMIT_SCHEMES:
            raise ValueError(f"expected a URI with scheme {', '.join(s + '://' for s in RATE_LIMIT_SCHEMES)}")
        problem = _storage_locations_problem(scheme.removeprefix("async+"), value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("fault_injection")
    @classmethod
    def _never_in_production(cls, value: bool, info: ValidationInfo) -> bool:
        # Fields are validated in order: app_env and admin_token are already in info.data (absent when invalid).
        if value and info.data.get("app_env") is AppEnv.PRODUCTION:
            raise ValueError("expected false when AI_DIY_APP_ENV=PRODUCTION: faults are never injected in production")
        if value and not info.data.get("admin_token"):
            raise ValueError("expected false without AI_DIY_ADMIN_TOKEN: the fault endpoint must not be open")
        return value

    @property
    def models_config_required(self) -> bool:
        """True when AI_DIY_MODELS_CONFIG was set (environment or .env): that file must then exist."""
        return "models_config" in self.model_fields_set

    @property
    def environment(self) -> str:
        """The runbook's wording: DEVELOPMENT or PRODUCTION."""
        return "PRODUCTION" if self.app_env is AppEnv.PRODUCTION else "DEVELOPMENT"


SENTINEL_FORM = "redis+sentinel://host:port[,host:port...]/<master name>"


def _storage_locations_problem(scheme: str, uri: str) -> str | None:
    """What `limits` would refuse only at start-up: a location without a port, a sentinel URI without its master."""
    netloc, _, path = uri.split("://", 1)[1].partition("/")
    hosts = netloc.rpartition("@")[2]
    locations = [location.strip() for location in hosts.split(",")] if hosts else []
    for location in locations:
        host, _, port = location.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) <= 65535:
            return f"expected host:port in every location ({location!r} is not)"
    if scheme == "redis+sentinel" and (not locations or not path.strip("/")):
        # The sentinels are asked for the master by name; without both there is no Redis to reach.
        return f"expected {SENTINEL_FORM}"
    return None


def _field_name(loc: tuple[Any, ...]) -> str:
    name = str(loc[0]).lower() if loc else "?"
    return name.removeprefix(ENV_PREFIX.lower())


def _allowed(field: str) -> str:
    annotation = Settings.model_fields[field].annotation if field in Settings.model_fields else None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f" (allowed: {', '.join(m.value for m in annotation)})"
    return ""


def describe_errors(error: ValidationError) -> list[str]:
    """One line per problem: `AI_DIY_PORT: <what is wrong> (got 'x')`."""
    lines = []
    for item in error.errors(include_url=False):
        loc = item.get("loc", ())
        field = _field_name(loc)
        message = item["msg"].removeprefix("Value error, ")
        got = item.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        allowed = "" if "Input should be" in message or "expected" in message else _allowed(field)
        lines.append(f"{(ENV_PREFIX + field).upper()}: {message}{allowed}{shown}")
    return lines


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Settings from the environment (and env_file when it exists); raises ConfigError."""
    if env_file is not None and not Path(env_file).is_file() and env_file != ".env":
        raise ConfigError(f"--env-file: {env_file} does not exist")
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise ConfigError(*describe_errors(exc)) from None


def known_names() -> list[str]:
    """Every AI_DIY_* variable the settings read, aliases included."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"{ENV_PREFIX}{name}".upper())
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices if str(choice).upper().startswith(ENV_PREFIX))
    return sorted(names)


def unknown_names(env_file: str | Path | None = ".env", environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per AI_DIY_* variable no setting reads (a typo is otherwise ignored), naming the closest one."""
    environ = os.environ if environ is None else environ
    sources = [("the environment", list(environ))]
    if env_file is not None and Path(env_file).is_file():
        sources.append((str(env_file), list(dotenv_values(env_file))))
    known = known_names()
    lines = []
    for source, names in sources:
        for name in sorted(name for name in names if name.upper().startswith(ENV_PREFIX)):
            if name.upper() in known:
                continue
            # Cut-off 0: however far the typo, the line names the nearest real setting.
            (closest,) = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.0)
            lines.append(f"{name}: unknown setting in {source}, ignored (did you mean {closest}?)")
    return lines
