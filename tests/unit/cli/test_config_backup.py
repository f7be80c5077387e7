"""`ai-diy config backup | list | rollback`: a copy of the configuration to go back to, losing nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from service.cli import main

GOOD_ENV = "AI_DIY_PORT=8123\nAI_DIY_MODELS_CONFIG=models.json\nAI_DIY_ADMIN_TOKEN=s3cret\n"
CHECKOUT_HINT = "apply it by restarting `ai-diy serve` (in a checkout: Ctrl-C, then `make run`)"
GOOD_MODELS = '{"favorites": ["a"], "default": "a", "last_used": null, "meta": {}}\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    env = tmp_path / "ai-diy.env"
    env.write_text(GOOD_ENV)
    env.chmod(0o640)
    (tmp_path / "models.json").write_text(GOOD_MODELS)
    return env


@pytest.fixture(autouse=True)
def no_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No systemctl within reach, as in a checkout: what rollback prints then is decided by the tests below."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _snapshots(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "config-backups").iterdir())


def test_config_backup_copies_env_file_and_the_models_file_it_names(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    (snapshot,) = _snapshots(tmp_path)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert [(f["role"], f["path"], f["present"]) for f in manifest["files"]] == [
        ("env", str(config), True),
        ("models", str(tmp_path / "models.json"), True),
    ]
    assert (snapshot / "env").read_text() == GOOD_ENV
    assert stat.S_IMODE((snapshot / "env").stat().st_mode) == 0o600, "the copy of the secrets is private"
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o700
    out = capsys.readouterr().out
    assert f"saved {config} ({len(GOOD_ENV)} bytes)" in out
    assert out.splitlines()[-1] == f"configuration saved in {Path('config-backups') / snapshot.name}"


def test_config_rollback_restores_the_latest_backup_and_keeps_what_it_replaces(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    config.write_text("AI_DIY_PORT=eighty\n")
    config.chmod(0o600)
    (tmp_path / "models.json").unlink()
    capsys.readouterr()
    assert main(["config", "rollback"]) == 0
    assert config.read_text() == GOOD_ENV
    assert stat.S_IMODE(config.stat().st_mode) == 0o640, "the mode comes back too"
    assert (tmp_path / "models.json").read_text() == GOOD_MODELS
    made, replaced = _snapshots(tmp_path)
    assert replaced.name.endswith("-before-rollback")
    assert (replaced / "env").read_text() == "AI_DIY_PORT=eighty\n", "the replaced configuration is not lost"
    out = capsys.readouterr().out
    assert f"restored: {config}" in out and f"restored: {tmp_path / 'models.json'}" in out
    assert out.splitlines()[-1] == CHECKOUT_HINT
    # Rolling back again goes to the same backup, not to the copy the rollback kept.
    assert main(["config", "rollback", "--dry-run"]) == 0
    assert (
        f"dry run: nothing changed; rollback to {Path('config-backups') / made.name} would change 0 file(s)"
        in capsys.readouterr().out
    )


def test_config_rollback_removes_a_models_file_that_was_absent(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.json").unlink()
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"skipped {tmp_path / 'models.json'}: absent (a rollback to this snapshot removes it)" in out
    assert not any(line.startswith(f"saved {tmp_path / 'models.json'}") for line in out), "an absent file is not saved"
    (tmp_path / "models.json").write_text('{"favorites": []}\n')
    assert main(["config", "rollback"]) == 0
    assert not (tmp_path / "models.json").exists()
    assert f"removed: {tmp_path / 'models.json'}" in capsys.readouterr().out
    assert (_snapshots(tmp_path)[-1] / "models").read_text() == '{"favorites": []}\n'


def test_config_rollback_dry_run_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    config.write_text("AI_DIY_PORT=eighty\n")
    assert main(["config", "rollback", "--dry-run"]) == 0
    assert config.read_text() == "AI_DIY_PORT=eighty\n"
    assert len(_snapshots(tmp_path)) == 1
    out = capsys.readouterr().out
    assert f"would be restored: {config}" in out and f"unchanged: {tmp_path / 'models.json'}" in out


def test_config_rollback_of_a_damaged_backup_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    (snapshot,) = _snapshots(tmp_path)
    (snapshot / "env").write_text("AI_DIY_PORT=1\n")
    config.write_text("AI_DIY_PORT=eighty\n")
    assert main(["config", "rollback", snapshot.name]) == 1
    assert config.read_text() == "AI_DIY_PORT=eighty\n"
    err = capsys.readouterr().err
    assert "sha256 does not match the manifest" in err and err.splitlines()[-1].endswith(
        "is damaged; nothing was changed"
    )
    assert main(["config", "list"]) == 0
    assert f"{snapshot.name}: damaged (" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["config", "backup", "--env-file", "missing.env"], "--env-file: missing.env does not exist"),
        (["config", "backup", "--models-config", "missing.json"], "--models-config: missing.json does not exist"),
        (["config", "rollback"], "no configuration backups in config-backups: make one with ai-diy config backup"),
        (
            ["config", "rollback", "20990101T000000Z"],
            "no configuration backup '20990101T000000Z' in config-backups (known: none)",
        ),
    ],
    ids=["missing-env-file", "missing-models-file", "nothing-to-roll-back-to", "unknown-backup"],
)
def test_config_commands_reject_bad_input_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not Path("config-backups").exists() or not any(Path("config-backups").iterdir())


def test_config_backup_reads_the_models_path_from_the_environment_first(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "other.json").write_text(GOOD_MODELS)
    monkeypatch.setenv("AI_DIY_MODELS_CONFIG", str(tmp_path / "other.json"))
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    manifest = json.loads((_snapshots(tmp_path)[0] / "manifest.json").read_text())
    assert manifest["files"][1]["path"] == str(tmp_path / "other.json")


def test_config_backup_works_while_a_setting_is_broken(tmp_path: Path) -> None:
    env = tmp_path / "ai-diy.env"
    env.write_text("AI_DIY_PORT=eighty\n")
    assert main(["config", "backup", "--env-file", str(env)]) == 0
    assert (_snapshots(tmp_path)[0] / "env").read_text() == "AI_DIY_PORT=eighty\n"
    assert os.environ.get("AI_DIY_PORT") is None


def test_config_backup_of_absent_files_says_so_and_claims_no_save(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A checkout that runs on the embedded defaults: neither .env nor models_config.json exists.
    assert main(["config", "backup"]) == 0
    (snapshot,) = _snapshots(tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        f"skipped {tmp_path / '.env'}: absent (a rollback to this snapshot removes it)",
        f"skipped {tmp_path / 'models_config.json'}: absent (a rollback to this snapshot removes it)",
        f"no configuration file exists; {Path('config-backups') / snapshot.name} records their absence",
    ]


FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "${0%/*}/calls"
BODY
"""
BOOTED_WITHOUT_SYSTEMD = (
    'echo "System has not been booted with systemd as init system (PID 1). Can\'t operate." >&2; exit 1'
)


def _path_with_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str | None) -> Path:
    """PATH holding only a stand-in systemctl running `body` (none at all when body is None)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if body is not None:
        (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL.replace("BODY", body))
        (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir / "calls"


def _rollback_last_line(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["config", "backup", "--env-file", str(config)]) == 0
    config.write_text("AI_DIY_PORT=eighty\n")
    assert main(["config", "rollback"]) == 0
    return capsys.readouterr().out.splitlines()[-1]


@pytest.mark.integration  # runs a stand-in systemctl
def test_config_rollback_hint_is_systemctl_where_the_unit_is_installed(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _path_with_systemctl(tmp_path, monkeypatch, "echo loaded")
    assert _rollback_last_line(config, capsys) == "apply it with: systemctl restart ai-diy"
    assert calls.read_text().splitlines() == ["show -p LoadState --value ai-diy"]


@pytest.mark.integration  # runs a stand-in systemctl
@pytest.mark.parametrize(
    "systemctl",
    [None, "echo not-found", BOOTED_WITHOUT_SYSTEMD],
    ids=["no-systemctl", "no-unit", "systemd-not-running"],
)
def test_config_rollback_hint_is_restarting_serve_without_a_systemd_unit(
    systemctl: str | None,
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _path_with_systemctl(tmp_path, monkeypatch, systemctl)
    line = _rollback_last_line(config, capsys)
    assert line == CHECKOUT_HINT
    assert "systemctl" not in capsys.readouterr().out + line
