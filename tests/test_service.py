"""`offerwatch service install|uninstall|status` writes a valid systemd user unit or launchd plist
that runs this interpreter with this config, and never touches the real service manager in tests."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon import service_cli
from offerwatch.daemon.cli import cli
from offerwatch.daemon.service_files import LABEL, UNIT_NAME, service_spec, systemd_unit


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """systemctl/launchctl are never run: the commands are recorded instead."""
    recorded: list[list[str]] = []

    def runner(argv):
        recorded.append(list(argv))
        return 0, "active"

    monkeypatch.setattr(service_cli, "_runner", lambda: runner)
    return recorded


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[list[str]]) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "my config" / "config.toml"  # a space: quoting must hold
    path.parent.mkdir()
    path.write_text('[[accounts]]\nname = "p"\nhost = "imap.example.com"\nusername = "me@example.com"\n')
    return path


def test_systemd_unit_runs_this_python_and_restarts_on_failure(config: Path, home: Path, calls: list[list[str]]) -> None:
    res = CliRunner().invoke(cli, ["--config", str(config), "service", "install", "--platform", "linux"])
    assert res.exit_code == 0, res.output
    unit = home / ".config" / "systemd" / "user" / UNIT_NAME
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m offerwatch.daemon.cli --config \"{config}\" run" in text
    for line in ("Restart=on-failure", "StandardError=journal", "WantedBy=default.target", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in text
    assert calls == [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", UNIT_NAME],
                          ["systemctl", "--user", "restart", UNIT_NAME]]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(config: Path, tmp_path: Path) -> None:
    spec = service_spec(platform="linux", config=config, home=tmp_path)
    path = tmp_path / UNIT_NAME
    path.write_text(spec.text)
    proc = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "offerwatch.service" not in proc.stderr, proc.stderr


def test_systemd_escapes_specifiers_and_variables() -> None:
    text = systemd_unit(["/opt/py 3/bin/python", "-m", "x", "--config", "/home/u/100%/$HOME.toml", "run"])
    assert 'ExecStart="/opt/py 3/bin/python" -m x --config /home/u/100%%/$$HOME.toml run' in text


def test_launchd_plist_keeps_alive_and_logs(config: Path, home: Path, calls: list[list[str]]) -> None:
    res = CliRunner().invoke(cli, ["--config", str(config), "service", "install", "--platform", "macos", "--no-enable"])
    assert res.exit_code == 0, res.output
    path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    data = plistlib.loads(path.read_bytes())
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "run"]
    assert data["KeepAlive"] == {"SuccessfulExit": False} and data["RunAtLoad"] is True
    assert data["StandardErrorPath"].startswith(str(home / "Library" / "Logs" / "offerwatch"))
    assert (home / "Library" / "Logs" / "offerwatch").is_dir()
    assert calls == []


def test_print_writes_nothing(config: Path, home: Path, calls: list[list[str]]) -> None:
    res = CliRunner().invoke(cli, ["--config", str(config), "service", "install", "--platform", "linux", "--print"])
    assert res.exit_code == 0 and "[Service]" in res.output
    assert not (home / ".config" / "systemd").exists() and calls == []


def test_install_without_config_says_run_init(tmp_path: Path, home: Path) -> None:
    res = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "service", "install", "--platform", "linux"])
    assert res.exit_code == 1 and "offerwatch init" in res.output
    assert not (home / ".config" / "systemd").exists()


def test_print_warns_when_the_config_it_points_at_does_not_exist(tmp_path: Path, home: Path, calls: list[list[str]]) -> None:
    missing = tmp_path / "none.toml"
    res = CliRunner().invoke(cli, ["service", "install", "--platform", "linux", "--print", "--config", str(missing)])
    assert res.exit_code == 0 and "[Service]" in res.stdout
    assert f"warning: the service would read {missing}, which does not exist: run `offerwatch init` first" in res.stderr
    assert calls == []


def test_status_and_uninstall(config: Path, home: Path, calls: list[list[str]]) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "service", "status", "--platform", "linux"]).exit_code == 1
    runner.invoke(cli, ["--config", str(config), "service", "install", "--platform", "linux", "--no-enable"])
    res = runner.invoke(cli, ["--config", str(config), "service", "status", "--platform", "linux"])
    assert res.exit_code == 0 and "installed" in res.output and "is-active" in res.output
    res = runner.invoke(cli, ["--config", str(config), "service", "uninstall", "--platform", "linux"])
    assert res.exit_code == 0 and "removed" in res.output
    assert not (home / ".config" / "systemd" / "user" / UNIT_NAME).exists()
    assert ["systemctl", "--user", "disable", "--now", UNIT_NAME] in calls
