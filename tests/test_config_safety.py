"""A config that other users can change is refused, as ssh refuses its own: its password_command
runs through a shell and its hosts receive the password. The message says which chmod to run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import ConfigError, load_config

CONFIG = """[[accounts]]
name = "personal"
host = "imap.example.com"
username = "me@example.com"
password_command = "pass show mail/personal"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o602])
def test_a_config_others_can_write_is_refused_with_the_chmod_to_run(config: Path, mode: int) -> None:
    os.chmod(config, mode)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    text = str(err.value)
    assert f"mode {mode:04o}" in text and f"chmod go-w {config}" in text and "shell" in text


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640, 0o400])
def test_a_config_only_its_owner_can_write_is_read(config: Path, mode: int) -> None:
    os.chmod(config, mode)
    assert load_config(config).accounts[0].password_command == "pass show mail/personal"


@pytest.mark.skipif(not Path(os.devnull).exists(), reason="no null device")
def test_the_null_device_reads_as_an_empty_config_though_everyone_may_write_it() -> None:
    # `--config /dev/null` is the usual "no config at all": mode 0666, but nothing written to it stays
    config = load_config(os.devnull)
    assert not config.accounts
    result = CliRunner().invoke(cli, ["--config", os.devnull, "status"])
    assert "chmod" not in result.output, result.output


@pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="changing a file's group needs root")
def test_group_write_is_fine_for_a_private_group_and_refused_for_a_shared_one(config: Path) -> None:
    import grp
    import pwd

    os.chmod(config, 0o664)
    me = pwd.getpwuid(os.getuid())
    os.chown(config, -1, me.pw_gid)  # root's own group: nobody else in it
    if any(u.pw_gid == me.pw_gid and u.pw_uid != me.pw_uid for u in pwd.getpwall()) or grp.getgrgid(me.pw_gid).gr_mem:
        pytest.skip("this system's root group has other members")
    assert load_config(config).accounts
    shared = next(u.pw_gid for u in pwd.getpwall() if u.pw_uid != me.pw_uid and u.pw_gid != me.pw_gid)
    os.chown(config, -1, shared)
    with pytest.raises(ConfigError, match="other members of its group"):
        load_config(config)


@pytest.mark.parametrize("argv", [["config", "check"], ["sync"], ["digest"], ["run", "--once"]])
def test_every_command_refuses_it_in_one_clear_message(tmp_path: Path, config: Path, argv: list[str]) -> None:
    os.chmod(config, 0o666)
    args = ["--config", str(config), "--db", str(tmp_path / "o.db"), *argv]
    if argv[0] == "config":
        args = [*argv, str(config)]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code != 0
    assert f"chmod go-w {config}" in out.output and "Traceback" not in out.output
