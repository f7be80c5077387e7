"""docs/operations.md: every systemd-host step of the set-up has its checkout equivalent, true to the settings."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
UNIT = (ROOT / "deploy" / "systemd" / "ai-diy.service").read_text()


def _checkout_table() -> dict[str, str]:
    """Host step -> checkout equivalent, from the table under `**In a checkout**`."""
    table = OPERATIONS.split("**In a checkout**", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {host.strip(): checkout.strip() for host, checkout in rows}


def test_operations_checkout_table_covers_every_host_path_and_unit_command() -> None:
    hosts = " ".join(_checkout_table())
    setup = OPERATIONS.split("### Before any command", 1)[1].split("\n## ", 1)[0]
    for path in sorted(set(re.findall(r"/(?:etc|var|opt)/[\w/.-]+", setup.split("**In a checkout**")[0]))):
        if not path.startswith("/etc/prometheus"):  # Prometheus' own file, not the service's
            assert path.rstrip("/") in hosts, path
    for step in ("systemctl start ai-diy", "systemctl stop ai-diy", "journalctl -u ai-diy", "ai-diy-logs"):
        assert step in hosts, step


def test_operations_checkout_directories_are_the_settings_defaults() -> None:
    table = _checkout_table()
    for setting, field in (("AI_DIY_DATA_DIR", "data_dir"), ("AI_DIY_LOG_DIR", "log_dir")):
        (host,) = [key for key in table if key.startswith(f"`{setting}=")]
        assert f"Environment={host.strip('`')}" in UNIT, "the unit sets what the host column says"
        assert f"`./{Settings.model_fields[field].default}`" in table[host], setting


def test_operations_checkout_env_file_is_the_one_settings_read() -> None:
    table = _checkout_table()
    (host,) = [key for key in table if key.startswith("`/etc/ai-diy/ai-diy.env`")]
    assert f"`./{Settings.model_config.get('env_file')}`" in table[host]
