"""Every command has help with an example and appears in the README; --help never imports spaCy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from offerwatch.daemon.cli import LAZY_COMMANDS, cli

REPO = Path(__file__).resolve().parents[1]


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    out = []
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            for sub in cmd.list_commands(ctx):
                out.append((f"{name} {sub}", cmd.get_command(ctx, sub)))
    return out


def test_all_planned_commands_are_installed() -> None:
    ctx = click.Context(cli)
    assert set(cli.list_commands(ctx)) >= {"demo", "backfill", "scan", "eval", "signals", "config"}


@pytest.mark.parametrize("name,cmd", _commands(), ids=[n for n, _ in _commands()])
def test_command_has_help_with_example(name: str, cmd: click.Command) -> None:
    assert cmd.help, f"`offerwatch {name}` has no help text"
    assert "Example" in cmd.help, f"`offerwatch {name}` help shows no example"  # groups too: `offerwatch config --help`
    res = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("name", sorted(n for n, _ in _commands()))
def test_command_is_in_readme(name: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"offerwatch {name}" in readme, f"README does not document `offerwatch {name}`"


def test_lazy_command_table_matches_modules() -> None:
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert name in LAZY_COMMANDS


def test_help_does_not_import_spacy() -> None:
    code = (
        "import sys\nfrom offerwatch.daemon.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='offerwatch')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('spacy', 'sqlite_utils', 'mailparser', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_readme_starts_with_the_two_commands() -> None:
    head = (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:15]
    text = "\n".join(head)
    assert "offerwatch demo" in text
    assert "bash .ci/run" in text


def test_default_paths_agree_in_readme_example_config_and_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config, database, digest file and SMTP keyring defaults the docs name are the code's."""
    import sys as _sys

    from offerwatch.daemon.config import Config, default_config_path, default_database_path
    from offerwatch.daemon.digest.job import SMTP_KEYRING_KEY, make_channel

    if _sys.platform != "linux":
        pytest.skip("the documented paths are the Linux ones")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", "/home/u")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = (REPO / "config.example.toml").read_text(encoding="utf-8")
    assert str(default_config_path()) == "/home/u/.config/offerwatch/config.toml"
    assert str(default_database_path()) == "/home/u/.local/share/offerwatch/offerwatch.db"
    digest_file = make_channel(Config(database=Path("/data/ow.db"))).describe()
    assert digest_file == "file /data/digests/offerwatch-{date}.html"
    for doc in (readme, example):
        assert "~/.config/offerwatch/config.toml" in doc
        assert "~/.local/share/offerwatch/offerwatch.db" in doc
        assert "<database folder>/digests/offerwatch-YYYY-MM-DD.html" in doc
        assert f'"{SMTP_KEYRING_KEY}"' in doc or f"`{SMTP_KEYRING_KEY}`" in doc
    assert "smtp:<username>" not in example


def test_architecture_page_names_only_what_exists() -> None:
    """docs/architecture.md maps every step to its module and tests: each path it names exists,
    every module of the package is on it, and the README points newcomers to it."""
    import re

    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:daemon|models|extractors|tests|bench|\.ci)/[\w./-]+)`", text))
    assert len(named) > 60
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"
    modules = {str(p.relative_to(REPO)) for d in ("daemon", "models", "extractors") for p in (REPO / d).rglob("*.py")
               if p.name != "__init__.py"}
    unnamed = sorted(modules - named)
    assert not unnamed, f"modules missing from docs/architecture.md: {unnamed}"
    assert "docs/architecture.md" in (REPO / "README.md").read_text(encoding="utf-8")
