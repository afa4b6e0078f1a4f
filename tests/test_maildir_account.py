"""A local maildir as an account (``[[accounts]] maildir = PATH``), read like an IMAP folder.

Real maildirs made by Python's ``mailbox.Maildir`` in tmp_path, changed the way mbsync
changes them (a file moved from new/ to cur/, renamed for a flag, deleted), read by the
real commands (``sync``, ``backfill``, ``check``, ``status``) and by the service's poll.
"""

from __future__ import annotations

import mailbox
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mailfactory import OWNER, message

from offerwatch.daemon.cli import cli
from offerwatch.daemon.config import ConfigError, load_config, parse_config
from offerwatch.daemon.service import Service
from offerwatch.models.store import Store


class Setup:
    """A maildir with a Sent and a Jobs folder, a config naming it, a database path."""

    def __init__(self, tmp_path: Path, account: str = "") -> None:
        self.root = tmp_path / "Mail" / "work"
        self.root.parent.mkdir(exist_ok=True)
        self.box = mailbox.Maildir(str(self.root), create=True)
        self.sent = self.box.add_folder("Sent")
        self.jobs = self.box.add_folder("Jobs")
        self.db = tmp_path / "ow.db"
        self.config = tmp_path / "config.toml"
        self.write_config(account or f'maildir = "{self.root}"')
        self.n = 0

    def write_config(self, account: str) -> None:
        self.config.write_text(
            f'[storage]\ndatabase = "{self.db}"\n[identity]\naddresses = ["{OWNER}"]\n'
            f'[[accounts]]\nname = "work"\n{account}\n')

    def add(self, box: mailbox.Maildir | None = None, **kw: object) -> str:
        self.n += 1
        return (box if box is not None else self.box).add(message(subject=f"Your application to Acme #{self.n}", **kw))  # type: ignore[arg-type]

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args])

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Every file under the maildir with its bytes and mtime (read-only means these stay)."""
        return {str(p.relative_to(self.root)): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in sorted(self.root.rglob("*")) if p.is_file()}

    def locations(self, folder: str) -> int:
        with Store.open(self.db) as store:
            return int(store.rows("SELECT count(*) AS n FROM locations WHERE account = 'work' AND folder = ?",
                                  [folder])[0]["n"])


def read(result: Result, folder: str) -> int:
    """How many messages the report line of ``folder`` says were read."""
    assert result.exit_code == 0, result.output
    m = re.search(rf"^work {re.escape(folder)}: (\d+) read", result.output, re.M)
    assert m, result.output
    return int(m.group(1))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_first_sync_reads_everything_the_second_only_what_was_added(setup: Setup) -> None:
    for _ in range(3):
        setup.add()
    setup.add(setup.sent, sender=f"Sam <{OWNER}>", to="jo@acme.example")
    before = setup.files()
    first = setup.run("sync", "--no-progress")
    assert (read(first, "INBOX"), read(first, "Sent")) == (3, 1)
    assert "Jobs" not in first.output  # by default: INBOX and the Sent folder, as for IMAP
    setup.add()
    second = setup.run("sync", "--no-progress")
    assert (read(second, "INBOX"), read(second, "Sent")) == (1, 0)
    third = setup.run("sync", "--no-progress")
    assert (read(third, "INBOX"), read(third, "Sent")) == (0, 0)
    assert setup.locations("INBOX") == 4
    after = setup.files()
    assert {k: v for k, v in after.items() if k in before} == before  # nothing moved, renamed or written
    with Store.open(setup.db) as store:
        out = store.rows("SELECT direction FROM messages WHERE folder = 'Sent'")
    assert [r["direction"] for r in out] == ["out"]  # the Sent folder is the owner's mail


def test_a_move_from_new_to_cur_or_a_flag_change_is_not_new_mail(setup: Setup) -> None:
    keys = [setup.add() for _ in range(3)]
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 3
    new = setup.root / "new"
    cur = setup.root / "cur"
    # what mbsync or a mail client does: new/ -> cur/ with flags, then another flag
    os.rename(new / keys[0], cur / f"{keys[0]}:2,S")
    os.rename(new / keys[1], cur / f"{keys[1]}:2,S")
    os.rename(cur / f"{keys[1]}:2,S", cur / f"{keys[1]}:2,RS")
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 0
    assert read(setup.run("backfill", "--account", "work", "--no-progress"), "INBOX") == 0
    assert setup.locations("INBOX") == 3
    with Store.open(setup.db) as store:
        seen = store.rows("SELECT messages_seen FROM folders WHERE account = 'work' AND name = 'INBOX'")
    assert seen[0]["messages_seen"] == 3  # nothing counted twice


def test_a_deleted_file_is_fine(setup: Setup) -> None:
    keys = [setup.add() for _ in range(2)]
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 2
    os.remove(setup.root / "new" / keys[0])
    setup.add()
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 1
    status = setup.run("status")
    assert status.exit_code == 0, status.output
    assert "ok work / INBOX" in " ".join(status.output.split())


def test_configured_subfolders_are_read_like_imap_folders(setup: Setup) -> None:
    setup.add()
    setup.add(setup.jobs)
    offers = setup.box.add_folder("Jobs.Offers")  # Maildir++ nesting: .Jobs.Offers
    setup.add(offers)
    setup.write_config(f'maildir = "{setup.root}"\nfolders = ["INBOX", "Jobs", "jobs.offers"]')
    result = setup.run("sync", "--no-progress")
    assert (read(result, "INBOX"), read(result, "Jobs"), read(result, "Jobs.Offers")) == (1, 1, 1)
    assert "Sent" not in result.output  # configured folders replace the default
    setup.add(setup.jobs)
    assert read(setup.run("sync", "--no-progress"), "Jobs") == 1
    # backfill --folder picks one of them by the same name
    only = setup.run("backfill", "--account", "work", "--folder", "Jobs", "--no-progress")
    assert read(only, "Jobs") == 0 and "INBOX" not in only.output


def test_a_configured_folder_that_does_not_exist_is_named_and_the_others_are_read(setup: Setup) -> None:
    setup.add()
    setup.write_config(f'maildir = "{setup.root}"\nfolders = ["INBOX", "Jbos"]')
    result = setup.run("sync", "--no-progress")
    assert read(result, "INBOX") == 1
    check = setup.run("check", "--account", "work")
    assert check.exit_code == 0, check.output
    assert "'Jbos' does not exist" in check.output and "Jobs" in check.output


def test_status_and_check_show_the_account(setup: Setup) -> None:
    setup.add()
    Store.open(setup.db).close()  # `offerwatch init` made it
    before = " ".join(setup.run("status").output.split())
    assert "never synced work" in before
    check = setup.run("check", "--account", "work")
    assert check.exit_code == 0, check.output
    text = " ".join(check.output.split())
    assert "work maildir /" in text and "INBOX (inbox): 1 messages" in text and "Sent (sent): 0 messages" in text
    assert "UIDVALIDITY" not in text and "capabilities" not in text
    setup.run("sync", "--no-progress")
    after = " ".join(setup.run("status").output.split())
    assert "ok work / INBOX" in after and "ok work / Sent" in after and "1 messages seen" in after


def test_the_service_poll_reads_the_maildir_incrementally(setup: Setup) -> None:
    setup.add()
    config = load_config(setup.config)
    with Store.open(setup.db) as store:
        service = Service(config, store)  # the real source factory, as `offerwatch run` builds it
        first = service.poll()
        assert (first.accounts, first.read, first.failed) == (1, 1, [])
        setup.add()
        assert service.poll().read == 1
        assert service.poll().read == 0
        setup.root.rename(setup.root.with_name("unmounted"))  # the disk it lives on is gone
        assert service.poll().failed == ["work"]
    status = " ".join(setup.run("status").output.split())
    assert "FAILING work / INBOX" in status and f"maildir {setup.root} does not exist" in status


def test_unreadable_and_truncated_files_are_recorded_and_never_block_the_folder(setup: Setup) -> None:
    good = message(subject="Interview invitation")
    setup.add()
    (setup.root / "cur" / "1700000000.loop.host:2,S").symlink_to("1700000000.loop.host:2,S")  # ELOOP: cannot be opened
    (setup.root / "new" / "1700000001.empty.host").write_bytes(b"")  # cut to nothing
    (setup.root / "new" / "1700000002.cut.host").write_bytes(good[:40])  # cut inside its headers
    setup.add()
    result = setup.run("sync", "--no-progress")
    assert read(result, "INBOX") == 5
    assert "2 unparseable (recorded)" in result.output  # the unopenable one and the empty one
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 0  # recorded: not retried at every poll
    with Store.open(setup.db) as store:
        rows = store.rows("SELECT problems FROM messages WHERE parse_failed = 1 ORDER BY problems")
    assert ["cannot read 1700000000.loop.host:2,S" in r["problems"] for r in rows] == [True, False]


def test_bad_maildir_paths_fail_in_one_line_and_change_nothing(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    cases = {
        str(tmp_path / "nope"): "does not exist",
        str(plain): "is not a maildir: it has no cur/",
        str(loop): "cannot read maildir",
        str(setup.root / "new"): "is not a maildir",
    }
    for path, expected in cases.items():
        setup.write_config(f'maildir = "{path}"')
        for args in (["sync", "--no-progress"], ["backfill", "--account", "work", "--no-progress"]):
            result = setup.run(*args)
            assert result.exit_code == 1, result.output
            # (log lines may come before it when another test left logging configured)
            (error,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
            assert error.startswith("Error: account work: ") and expected in error, result.output
            assert result.output.rstrip().endswith(error)  # the error is one line, and the last
    with Store.open(setup.db) as store:
        assert store.rows("SELECT count(*) AS n FROM accounts")[0]["n"] == 0
        assert store.rows("SELECT count(*) AS n FROM folders")[0]["n"] == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_maildir_fails_in_one_line(setup: Setup) -> None:
    setup.add()
    os.chmod(setup.root / "cur", 0)
    try:
        result = setup.run("sync", "--no-progress")
    finally:
        os.chmod(setup.root / "cur", 0o700)
    assert result.exit_code == 1 and "cannot read maildir" in result.output


def test_a_folder_of_maildirs_is_refused_with_what_to_give(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    verbatim = tmp_path / "verbatim"
    verbatim.mkdir()
    for name in ("INBOX", "Sent"):
        mailbox.Maildir(str(verbatim / name), create=True)
    setup.write_config(f'maildir = "{verbatim}"')
    result = setup.run("sync", "--no-progress")
    assert result.exit_code == 1
    assert "holds the maildirs INBOX, Sent" in result.output and "SubFolders Maildir++" in result.output


def _problems(text: str) -> list[str]:
    import tomllib

    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(text))
    return err.value.problems


def test_config_errors_for_maildir_accounts() -> None:
    (both,) = _problems('[[accounts]]\nname = "w"\nhost = "imap.example.com"\nusername = "me"\nmaildir = "~/Mail/w"\n')
    assert "both host and maildir" in both
    (relative,) = _problems('[[accounts]]\nname = "w"\nmaildir = "Mail/w"\n')
    assert "relative" in relative and "~" in relative
    (empty,) = _problems('[[accounts]]\nname = "w"\nmaildir = ""\n')
    assert "empty" in empty
    (imap_key,) = _problems('[[accounts]]\nname = "w"\nmaildir = "~/Mail/w"\npassword_env = "X"\n')
    assert imap_key.startswith("accounts[0].password_env: an IMAP setting")
    (idle,) = _problems('[[accounts]]\nname = "w"\nmaildir = "~/Mail/w"\nidle = true\n')
    assert idle.startswith("accounts[0].idle: an IMAP setting")  # IDLE is a server's; a maildir is polled
    (digest,) = _problems('[[accounts]]\nname = "w"\nmaildir = "~/Mail/w"\n'
                          '[digest]\nchannel = "imap"\n[digest.imap]\naccount = "w"\n')
    assert "reads a local maildir" in digest
    ok = parse_config(__import__("tomllib").loads(
        '[[accounts]]\nname = "w"\nmaildir = "~/Mail/w"\nfolders = ["INBOX", "Jobs"]\naddresses = ["me@example.com"]\n'))
    assert ok.accounts[0].maildir == "~/Mail/w" and ok.owner_addresses == ("me@example.com",)


def test_a_dated_backfill_leaves_the_older_history_unread_for_later_syncs_too(setup: Setup) -> None:
    from datetime import datetime, timezone

    for day in (1, 2):
        setup.add(date=datetime(2026, 5, day, 9, tzinfo=timezone.utc))
    setup.add(date=datetime(2026, 6, 2, 9, tzinfo=timezone.utc))
    assert read(setup.run("backfill", "--account", "work", "--since", "2026-06-01", "--no-progress"), "INBOX") == 1
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 0  # as IMAP: on from there, not the history
    setup.add(date=datetime.now(timezone.utc))
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 1
    assert read(setup.run("backfill", "--account", "work", "--no-progress"), "INBOX") == 2  # all of it, when asked
    assert read(setup.run("sync", "--no-progress"), "INBOX") == 0


def test_a_file_moved_or_deleted_while_a_pass_runs(setup: Setup) -> None:
    """mbsync may run while offerwatch reads: a file listed in new/ is in cur/ (renamed for a
    flag) or gone by the time it is opened."""
    from offerwatch.daemon.sources.local import MaildirSource

    keys = {setup.add() for _ in range(3)}
    source = MaildirSource.for_account("work", str(setup.root))
    inbox = source.folders()[0]
    stream = source.unread(inbox, set(), None, None)
    first = next(stream).location.key  # the folder is listed now, and one file read
    moved, deleted = sorted(keys - {first})
    os.rename(setup.root / "new" / moved, setup.root / "cur" / f"{moved}:2,S")
    os.remove(setup.root / "new" / deleted)
    rest = list(stream)
    assert [r.location.key for r in rest] == [moved]
    assert rest[0].data == (setup.root / "cur" / f"{moved}:2,S").read_bytes()
