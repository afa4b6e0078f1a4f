"""Digest files are written safely: never through a planted symbolic link, mode 0600, a known
suffix only, into a folder that exists; `digest --send` with the file channel says where it wrote."""

from __future__ import annotations

import email
import email.policy
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest_data import sample_store
from offerwatch.daemon.cli import cli
from offerwatch.daemon.digest.deliver import DeliveryError, FileChannel


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "o.db"
    sample_store(path)[0].close()
    return path


def digest(tmp_path: Path, db: Path, *args: str, config: Path | None = None):
    cfg = config or tmp_path / "empty.toml"
    if config is None:
        cfg.write_text("")  # the defaults
    return CliRunner().invoke(cli, ["--config", str(cfg), "--db", str(db), "digest", *args])


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path: Path, db: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "digest.html"
    link.symlink_to(victim)
    out = digest(tmp_path, db, "--out", str(link))
    assert out.exit_code == 1 and "symbolic link" in out.output
    assert victim.read_text() == "precious" and link.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".offerwatch-digest-")]  # no temporary left


def test_out_files_are_private_and_hold_what_their_suffix_says(tmp_path: Path, db: Path) -> None:
    for name, check in (("d.html", lambda b: b.lstrip().lower().startswith(b"<!doctype html")),
                        ("d.txt", lambda b: b"<html" not in b.lower() and len(b) > 100),
                        ("d.eml", lambda b: email.message_from_bytes(b, policy=email.policy.default)["Subject"] is not None)):
        target = tmp_path / name
        out = digest(tmp_path, db, "--out", str(target))
        assert out.exit_code == 0, out.output
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert check(target.read_bytes()), name


def test_an_existing_file_is_replaced_not_written_through(tmp_path: Path, db: Path) -> None:
    target = tmp_path / "d.html"
    target.write_text("old")
    os.chmod(target, 0o644)
    hard = tmp_path / "hardlink.html"
    os.link(target, hard)  # another name for the same file: it keeps the old content
    assert digest(tmp_path, db, "--out", str(target)).exit_code == 0
    assert hard.read_text() == "old" and target.read_text() != "old"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_unknown_suffix_is_refused(tmp_path: Path, db: Path) -> None:
    out = digest(tmp_path, db, "--out", str(tmp_path / "digest.pdf"))
    assert out.exit_code == 2 and ".html, .txt or .eml" in out.output
    assert not (tmp_path / "digest.pdf").exists()


def test_a_missing_folder_is_an_error_not_created(tmp_path: Path, db: Path) -> None:
    out = digest(tmp_path, db, "--out", str(tmp_path / "no" / "such" / "d.html"))
    assert out.exit_code == 1 and "does not exist" in out.output and "mkdir -p" in out.output
    assert not (tmp_path / "no").exists()


def test_send_with_the_file_channel_prints_the_path_it_wrote(tmp_path: Path, db: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[digest]\nchannel = "file"\n\n[digest.file]\npath = "{tmp_path}/digests/offerwatch-{{date}}.html"\n')
    out = digest(tmp_path, db, "--send", config=config)
    assert out.exit_code == 0, out.output
    (written,) = (tmp_path / "digests").iterdir()
    assert f"written to {written}" in " ".join(out.output.split())
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_the_file_channel_refuses_a_symlink_too(tmp_path: Path) -> None:
    from email.message import EmailMessage

    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "offerwatch-2026-12-01.html").symlink_to(victim)
    msg = EmailMessage()
    msg["X-Offerwatch-Digest"] = "2026-12-01"
    msg.set_content("text")
    msg.add_alternative("<html>html</html>", subtype="html")
    with pytest.raises(DeliveryError, match="symbolic link"):
        FileChannel(tmp_path / "offerwatch-{date}.html").send(msg)
    assert victim.read_text() == "precious"


def test_config_check_refuses_a_file_path_with_an_unknown_suffix(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[digest]\nchannel = "file"\n\n[digest.file]\npath = "~/digest.pdf"\n')
    out = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert out.exit_code == 1 and "digest.file.path" in out.output
