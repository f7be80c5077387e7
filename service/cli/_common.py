"""What the commands share: loading settings and reporting configuration errors."""
from __future__ import annotations

import sys

from service.settings import ConfigError, Settings, load_settings


def settings_or_exit(env_file: str | None = ".env") -> Settings | None:
    """Settings, or None after printing one line per problem to stderr."""
    try:
        return load_settings(env_file=env_file)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"configuration error: {line}", file=sys.stderr)
        return None


EXIT_CONFIG = 2
