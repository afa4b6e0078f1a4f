"""Config files validate into typed objects; every problem is reported at once with its key path."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def test_example_config_is_valid() -> None:
    cfg = load_config(REPO / "config.example.toml")
    assert cfg.accounts and cfg.accounts[0].tls == "implicit"
    assert cfg.digest.time == time(7, 30)


def test_five_errors_are_all_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[storage]
databse = "x.db"

[[accounts]]
name = "personal"
port = "993"
username = "me@example.net"

[digest]
timezone = "Mars/Olympus"
time = "25:00"
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    problems = err.value.problems
    text = "\n".join(problems)
    assert "storage.databse: unknown key (did you mean 'database'?)" in text
    assert "accounts[0].host: missing" in text
    assert "accounts[0].port: expected an integer" in text
    assert "digest.timezone: unknown time zone 'Mars/Olympus'" in text
    assert "digest.time: expected a time of day as HH:MM" in text
    assert len(problems) == 5


def test_plaintext_needs_explicit_consent(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[[accounts]]\nname="a"\nhost="h"\nusername="u"\ntls="none"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="allow_insecure"):
        load_config(f)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[storage\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    assert str(f) in str(err.value) and "not valid TOML" in str(err.value)


def test_config_check_command_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["config", "check", str(REPO / "config.example.toml")])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\npoll_minutes = -1\nfoo = 1\n", encoding="utf-8")
    res = runner.invoke(cli, ["config", "check", str(bad)])
    assert res.exit_code == 1
    assert "schedule.poll_minutes" in res.output and "schedule.foo: unknown key" in res.output


def test_holidays_take_any_country_and_region_and_real_dates(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[detection]\nholidays = ["DE-BY", "GB-SCT", "us", "2026-12-24"]\n', encoding="utf-8")
    assert load_config(good).detection.holidays == ("DE-BY", "GB-SCT", "us", "2026-12-24")
    bad = tmp_path / "bad.toml"
    bad.write_text('[detection]\nholidays = ["XX", "DE-ZZ", "2026-13-01", "Christmas"]\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["config", "check", str(bad)])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 4, res.output
    assert "'XX'" in lines[0] and "country code such as 'US'" in lines[0]
    assert "'DE-ZZ'" in lines[1] and "DE-BY" in lines[1]
    assert "'2026-13-01' is not a date in the calendar (month must be in 1..12)" in lines[2]
    assert "'Christmas'" in lines[3]


def test_a_bad_holiday_date_never_crashes_a_command(tmp_path: Path) -> None:
    """Regression: "2026-13-01" passed `config check` and crashed backfill with a traceback."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[detection]\nholidays = ["2026-13-01"]\n', encoding="utf-8")
    mbox = tmp_path / "one.mbox"
    mbox.write_bytes(b"From x@y Thu Jan  1 00:00:00 2026\nFrom: a@b.example\nSubject: hi\n\nhello\n")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(tmp_path / "x.db"), "backfill", "--source", str(mbox),
                                   "--no-progress"])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
    assert "detection.holidays: holiday '2026-13-01' is not a date in the calendar" in res.output
    assert "Traceback" not in res.output


def test_a_config_built_in_code_with_a_bad_holiday_is_a_config_error() -> None:
    from offerwatch.daemon.commands import assess_config_from
    from offerwatch.daemon.config import Config, DetectionConfig

    with pytest.raises(ConfigError, match=r"detection\.holidays: holiday '2026-13-01'"):
        assess_config_from(Config(detection=DetectionConfig(holidays=("2026-13-01",))))
    assert date(2026, 10, 3) in assess_config_from(Config(detection=DetectionConfig(holidays=("DE-BY",)))).holidays
