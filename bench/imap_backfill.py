"""IMAP backfill throughput next to the physical limit, and the cost of a poll with nothing new.

Starts its own Dovecot on loopback (the test suite's ``tests/dovecot.py`` server class),
fills a mailbox with N realistic messages written straight into its maildir (about 10%
recruiter mail sampled from the demo mailbox with fresh Message-IDs, the rest newsletters,
job alerts, personal mail, some with attachments, a few over the 2 MB size cap), then
measures in one run:

(a) a raw imapclient fetch of every body with ``BODY.PEEK[]`` over implicit TLS and no
    processing, IMAPClient as it ships (issue 13's baseline);
(a') the same with imaplib's per-response trace off, as offerwatch reads (IMAPClient turns it
    on, and imaplib then formats a repr() of every body): the physical limit here;
(b) ``offerwatch backfill --account`` end to end, as a subprocess (wall time and the peak memory
    of its process tree, pool workers included);
(c) ``offerwatch sync`` with nothing new, on a 1,000-message mailbox and on the N-message one:
    the engine step in-process (connected source, ``SyncEngine.run``), the timeline
    assessment the command runs after it, and the whole command as a subprocess.

Usage::

    .venv/bin/python bench/imap_backfill.py [--messages 20000] [--seed 7] [--profile FILE]

``--profile FILE`` runs (b) under cProfile, writes FILE and prints where the time went by
layer (IMAP, sync, store, extraction). Goals: b/a >= 0.4 (issue 13), peak RSS of (b) < 300 MB,
(c) under 100 ms and flat in mailbox size; b/a' says how far the backfill is from the limit.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ACCOUNT = "bench"
OWNER = "sam.okafor@example.net"
PASSWORD_ENV = "OFFERWATCH_BENCH_PASSWORD"
SMALL = 1_000

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more about up out who them some "
    "could time into only then new like other just see now also two way our how first well even because any these "
    "day most us great team project weekend dinner photos trip garden update offer sale price shipping order "
    "newsletter community release feature guide recipe school meeting family birthday concert tickets weather"
).split()
FIRST = "Alex Jamie Priya Chen Maria Tom Aisha Lukas Sofia Diego Hannah Omar Yuki Ben Chloe".split()
LAST = "Nguyen Smith Patel Garcia Müller Kowalski Rossi Dubois Kim Okafor Silva Cohen".split()
#: Where friends and family write from (the generated mail is never sent anywhere).
FREEMAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "hotmail.com", "proton.me")
BRANDS = "outdoorgear bookshelf citybikes foodbox streamly techdaily gardenco travelhub musicfest".split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def paragraph(rng: random.Random, lo: int = 25, hi: int = 90) -> str:
    text = words(rng, rng.randint(lo, hi))
    return text[:1].upper() + text[1:] + "."


# -- the mailbox -----------------------------------------------------------------------------


_ID_HEADERS = re.compile(rb"^(message-id|in-reply-to|references):", re.IGNORECASE)
_MSGID = re.compile(rb"<([^<>@\s]+)@")


def fresh_ids(data: bytes, tag: str) -> bytes:
    """Prefix every id in Message-ID/In-Reply-To/References with ``tag``: a copy is a new thread."""
    head, sep, body = data.partition(b"\r\n\r\n")
    out, rewriting = [], False
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):
            rewriting = bool(_ID_HEADERS.match(line))
        if rewriting:
            line = _MSGID.sub(lambda m: b"<" + tag.encode() + b"." + m.group(1) + b"@", line)
        out.append(line)
    return b"\r\n".join(out) + sep + body


@dataclass
class Generated:
    data: bytes
    folder: str  # "INBOX" or "Sent"
    date: datetime
    kind: str


class MailFactory:
    """Deterministic realistic mail: ~10% recruiter (demo mailbox), the rest filler."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        demo = REPO / "daemon" / "demo_mailbox"
        self.demo = []
        for path in sorted(demo.glob("*.eml")):
            data = path.read_bytes()
            sender = (BytesHeaderParser().parsebytes(data).get("From") or "").lower()
            self.demo.append((data, OWNER in sender))
        self.start = datetime(2025, 12, 1, 8, 0, tzinfo=timezone.utc)

    def __call__(self, i: int) -> Generated:
        rng = self.rng
        date = self.start + timedelta(minutes=26 * i + rng.randint(0, 25))
        r = rng.random()
        if r < 0.10:
            data, outgoing = rng.choice(self.demo)
            return Generated(fresh_ids(data, f"b{i}"), "Sent" if outgoing else "INBOX", date, "recruiter")
        if r < 0.40:
            return Generated(self._newsletter(date), "INBOX", date, "newsletter")
        if r < 0.45:
            return Generated(self._job_alert(date), "INBOX", date, "job alert")
        if r < 0.53:
            return Generated(self._with_attachment(date), "INBOX", date, "attachment")
        outgoing = rng.random() < 0.15
        return Generated(self._personal(date, outgoing), "Sent" if outgoing else "INBOX", date, "personal")

    def _base(self, date: datetime, sender: str, to: str, subject: str) -> EmailMessage:
        m = EmailMessage()
        m["From"] = sender
        m["To"] = to
        m["Subject"] = subject
        m["Date"] = format_datetime(date)
        m["Message-ID"] = make_msgid(domain="bench.example")
        return m

    def _person(self) -> tuple[str, str]:
        """A friend or relative: personal mail comes from free-mail providers, one per person."""
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        local = f"{first.lower()}.{last.lower().replace('ü', 'ue')}"
        return f"{first} {last}", f"{local}@{FREEMAIL[sum(map(ord, local)) % len(FREEMAIL)]}"

    def _newsletter(self, date: datetime) -> bytes:
        rng = self.rng
        brand = rng.choice(BRANDS)
        m = self._base(date, f"{brand.title()} <news@{brand}.example>", f"Sam Okafor <{OWNER}>",
                       f"{brand.title()} weekly: {words(rng, 5)}")
        m["List-Unsubscribe"] = f"<https://{brand}.example/unsubscribe?u=123>"
        m["List-Id"] = f"<weekly.{brand}.example>"
        paras = [paragraph(rng, 40, 120) for _ in range(rng.randint(6, 30))]
        m.set_content("\n\n".join(paras))
        blocks = "".join(
            f'<tr><td style="padding:12px;font-family:Helvetica,Arial,sans-serif;font-size:15px;color:#333">'
            f'<h2 style="margin:0 0 8px">{words(rng, 4).title()}</h2><p>{p}</p>'
            f'<a href="https://{brand}.example/a/{rng.randint(1, 10**6)}?utm_source=newsletter" '
            f'style="color:#0a66c2">Read more</a></td></tr>'
            for p in paras
        )
        m.add_alternative(f"<html><body><table width=\"600\">{blocks}</table></body></html>", subtype="html")
        return bytes(m)

    def _job_alert(self, date: datetime) -> bytes:
        rng = self.rng
        m = self._base(date, "Job Alerts <jobalerts-noreply@jobsboard.example>", f"Sam Okafor <{OWNER}>",
                       f"{rng.randint(5, 30)} new jobs for 'backend engineer'")
        jobs = "\n\n".join(
            f"{rng.choice(['Senior', 'Staff', ''])} Backend Engineer at {rng.choice(BRANDS).title()}\n"
            f"Remote · ${rng.randint(120, 220)}k · Apply now: https://jobsboard.example/j/{rng.randint(1, 10**7)}"
            for _ in range(rng.randint(5, 15))
        )
        m.set_content(f"Jobs you may be interested in\n\n{jobs}\n\nUnsubscribe: https://jobsboard.example/u")
        return bytes(m)

    def _personal(self, date: datetime, outgoing: bool) -> bytes:
        rng = self.rng
        name, addr = self._person()
        me = f"Sam Okafor <{OWNER}>"
        sender, to = (me, f"{name} <{addr}>") if outgoing else (f"{name} <{addr}>", me)
        m = self._base(date, sender, to, ("Re: " if rng.random() < 0.4 else "") + words(rng, 4))
        body = "\n\n".join(paragraph(rng) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.4:  # a reply quoting the previous message
            body += "\n\nOn Mon, someone wrote:\n" + "\n".join("> " + paragraph(rng) for _ in range(rng.randint(1, 6)))
        m.set_content(f"Hi,\n\n{body}\n\nCheers,\n{sender.split()[0]}")
        return bytes(m)

    def _with_attachment(self, date: datetime) -> bytes:
        rng = self.rng
        name, addr = self._person()
        m = self._base(date, f"{name} <{addr}>", f"Sam Okafor <{OWNER}>", f"{words(rng, 3)} (attached)")
        m.set_content(f"Hi Sam,\n\n{paragraph(rng)}\n\nSee attached.\n{name.split()[0]}")
        # Mostly photos and documents of 30 KB - 800 KB; one in 16 over the 2 MB cap.
        size = rng.randint(3_000_000, 5_000_000) if rng.random() < 1 / 16 else int(30_000 * (800 / 30) ** rng.random())
        kind = rng.choice([("image", "jpeg", "photo.jpg"), ("application", "pdf", "document.pdf")])
        m.add_attachment(rng.randbytes(size), maintype=kind[0], subtype=kind[1], filename=kind[2])
        return bytes(m)


def fill_maildir(users: list[tuple[object, int]], factory: MailFactory, count: int) -> dict[str, int]:
    """Write messages straight into each user's maildir (``cur/``, mtime = INTERNALDATE);
    the first ``limit`` of them for each ``(user, limit)``. Returns bytes and counts by kind."""
    stats: dict[str, int] = {"bytes": 0}
    dirs = []
    for user, limit in users:
        server = user.server  # type: ignore[attr-defined]
        with user.client() as c:  # type: ignore[attr-defined]
            c.list_folders()  # the first login creates the maildir and the auto folders
        home = server.root / "home" / user.name / "Maildir"  # type: ignore[attr-defined]
        for folder in (home, home / ".Sent"):
            for sub in ("cur", "new", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for path in [home, *home.rglob("*")]:
                os.chown(path, server.mail_uid, server.mail_gid)
        dirs.append((home, limit, server.mail_uid, server.mail_gid))
    host = "bench"
    for i in range(count):
        m = factory(i)
        stats["bytes"] += len(m.data)
        stats[m.kind] = stats.get(m.kind, 0) + 1
        stamp = int(m.date.timestamp())
        for home, limit, uid, gid in dirs:
            if i >= limit:
                continue
            folder = home if m.folder == "INBOX" else home / f".{m.folder}"
            flags = "S" if m.folder == "Sent" or random.Random(i).random() < 0.7 else ""
            path = folder / "cur" / f"{stamp}.M{i}P1.{host},S={len(m.data)}:2,{flags}"
            path.write_bytes(m.data)
            os.utime(path, (stamp, stamp))
            if os.geteuid() == 0:
                os.chown(path, uid, gid)
    return stats


# -- measurements ----------------------------------------------------------------------------


def raw_fetch(server: object, user: object, chunk: int = 200, quiet: bool = False) -> tuple[int, int, float]:
    """(a): every body with BODY.PEEK[] over implicit TLS, nothing else. (messages, bytes, s).

    ``quiet=False`` is IMAPClient as it ships, the baseline issue 13 measured against: it
    switches imaplib's per-response trace on, and imaplib formats a repr() of every body for
    it. ``quiet=True`` switches that off as offerwatch does (``quiet_imaplib``): the true limit
    of the server, TLS and the response parser, 2-2.5x faster here.
    """
    from imapclient import IMAPClient

    from offerwatch.daemon.sources.imap import quiet_imaplib

    started = time.perf_counter()
    c = IMAPClient(server.host, server.imaps_port, ssl=True, ssl_context=server.ssl_context(), timeout=60)  # type: ignore[attr-defined]
    if quiet:
        quiet_imaplib(c)
    c.login(user.name, user.password)  # type: ignore[attr-defined]
    n = size = 0
    for folder in ("INBOX", "Sent"):
        c.select_folder(folder, readonly=True)
        uids = c.search("ALL")
        for start in range(0, len(uids), chunk):
            for data in c.fetch(uids[start : start + chunk], ["BODY.PEEK[]"]).values():
                n += 1
                size += len(data[b"BODY[]"])
    c.logout()
    return n, size, time.perf_counter() - started


def write_config(path: Path, server: object, user: object, db: Path) -> Path:
    path.write_text(
        f"""[storage]
database = "{db}"

[identity]
addresses = ["{OWNER}"]

[[accounts]]
name = "{ACCOUNT}"
host = "{server.host}"
port = {server.imaps_port}
tls = "implicit"
ca_file = "{server.ca_file}"
username = "{user.name}"
password_env = "{PASSWORD_ENV}"
timeout_seconds = 60
"""  # type: ignore[attr-defined]
    )
    return path


def run_cli(config: Path, db: Path, password: str, *args: str, profile: Path | None = None) -> tuple[float, int, str, str]:
    """Run ``offerwatch`` as a child; (wall seconds, peak memory of its process tree in KB
    (summed PSS of the command and its pool's workers, see bench/proctree.py), stdout, stderr)."""
    from proctree import TreeMemory, child_env

    prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else []) + ["-m", "offerwatch.daemon.cli"]
    env = child_env(**{PASSWORD_ENV: password})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([*prefix, "--config", str(config), "--db", str(db), *args], stdout=out, stderr=err, env=env)
        with TreeMemory(proc.pid) as memory:
            _, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"offerwatch {' '.join(args)} failed ({proc.returncode}):\n{stdout}\n{stderr[-3000:]}")
    return wall, int(memory.peak_pss_mb * 1024), stdout, stderr


def idle_sync_in_process(server: object, user: object, db: Path, repeat: int = 7) -> tuple[float, float, float]:
    """(c) in-process: median seconds of ``SyncEngine.run`` on a connected source with nothing
    new, of connect + run, and of the timeline assessment the command runs afterwards."""
    from offerwatch.daemon.config import AccountConfig
    from offerwatch.daemon.imap_cli import account_source
    from offerwatch.daemon.sources.imap import RetryPolicy
    from offerwatch.daemon.sync import SyncEngine, assess_applications
    from offerwatch.extractors.pipeline import Owner
    from offerwatch.models.store import Store

    os.environ[PASSWORD_ENV] = user.password  # type: ignore[attr-defined]
    acct = AccountConfig(name=ACCOUNT, host=server.host, port=server.imaps_port, username=user.name,  # type: ignore[attr-defined]
                         ca_file=str(server.ca_file), password_env=PASSWORD_ENV)  # type: ignore[attr-defined]
    engine_times, total_times, assess_times = [], [], []
    with Store.open(db) as store:
        engine = SyncEngine(store, Owner.of([OWNER]), retry=RetryPolicy())
        for _ in range(repeat):
            source = account_source(acct)
            t0 = time.perf_counter()
            source.connect()
            t1 = time.perf_counter()
            report = engine.run(source, on_total=lambda n: None, on_progress=lambda n: None)
            t2 = time.perf_counter()
            source.close()
            if report.read or report.failed:
                raise SystemExit(f"the idle sync read {report.read} messages (failed: {report.failed})")
            engine_times.append(t2 - t1)
            total_times.append(t2 - t0)
            t3 = time.perf_counter()
            assess_applications(store, report.applications, now=None)
            assess_times.append(time.perf_counter() - t3)
    return statistics.median(engine_times), statistics.median(total_times), statistics.median(assess_times)


def idle_sync_command(config: Path, db: Path, password: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        wall, _, stdout, _ = run_cli(config, db, password, "sync", "--no-progress")
        if " 0 read" not in stdout or re.search(r": [1-9]\d* read", stdout):
            raise SystemExit(f"the idle sync read something:\n{stdout}")
        times.append(wall)
    return statistics.median(times)


def command_time(config: Path, db: Path, password: str, *args: str, repeat: int = 3) -> float:
    """Median wall seconds of an offerwatch command (interpreter start-up included)."""
    return statistics.median(run_cli(config, db, password, *args)[0] for _ in range(repeat))


def profile_summary(path: Path) -> Iterator[str]:
    """Where (b)'s time went, by layer: cumulative seconds of the layers' entry points."""
    import pstats

    stats = pstats.Stats(str(path))
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    probes = [
        ("IMAP: metadata FETCH (SIZE, BODYSTRUCTURE)", "sources/imap.py", "_fetch_meta"),
        ("IMAP: body FETCH (small messages)", "sources/imap.py", "_fetch_small_bodies"),
        ("IMAP: large messages part by part", "sources/imap.py", "_fetch_large"),
        ("IMAP: SEARCH / EXAMINE", "sources/imap.py", "_search"),
        ("extraction: analyze (parse, clean, classify, spaCy)", "daemon/sync.py", "_analyze"),
        ("  parse (MIME, HTML to text)", "extractors/parse.py", "parse_mail"),
        ("  classify", "extractors/classify.py", "classify"),
        ("  spaCy signals", "extractors/signals.py", "extract_many"),
        ("store: write_batch (SQLite)", "models/store.py", "write_batch"),
        ("  linking", "models/linking.py", "link_message"),
        ("timeline: assess", "daemon/sync.py", "assess_applications"),
        ("imports and start-up", "<frozen importlib._bootstrap>", "_find_and_load"),
    ]
    yield f"  {'total':55s} {total:8.2f} s"
    for label, file, func in probes:
        cum = max((v[3] for (f, _, name), v in stats.stats.items() if name == func and f.endswith(file)), default=0.0)  # type: ignore[attr-defined]
        yield f"  {label:55s} {cum:8.2f} s  {100 * cum / total:5.1f}%"


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the big mailbox (default 20000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path, metavar="FILE", help="run (b) under cProfile, write FILE, print a summary")
    args = parser.parse_args()
    n = args.messages
    small = min(SMALL, n)

    from dovecot import DovecotServer

    workdir = Path(tempfile.mkdtemp(prefix="offerwatch-bench-"))
    server = DovecotServer.create()
    try:
        server.start()
        big, little = server.create_user(), server.create_user()
        print(f"Dovecot {server.host}:{server.imaps_port} (implicit TLS); writing {n} messages into the maildir ...",
              flush=True)
        t = time.perf_counter()
        stats = fill_maildir([(big, n), (little, small)], MailFactory(args.seed), n)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if k != "bytes")
        print(f"  {stats['bytes'] / 1e6:.0f} MB, average {stats['bytes'] / n / 1024:.1f} KB ({kinds}) "
              f"in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        for user in (big, little):
            # Dovecot indexes the new files on first access. Opened read-write as the user's
            # own mail client would, so they are no longer \Recent (offerwatch never can).
            with user.client() as c:
                for folder in ("INBOX", "Sent"):
                    c.select_folder(folder)
                    c.close_folder()
        print(f"  Dovecot indexed them in {time.perf_counter() - t:.1f} s", flush=True)

        print("(a) raw fetch of all bodies (BODY.PEEK[], TLS, no processing) ...", flush=True)
        raw_n, raw_bytes, raw_s = raw_fetch(server, big)
        assert raw_n == n, (raw_n, n)
        raw_rate = raw_n / raw_s
        quiet_n, _, quiet_s = raw_fetch(server, big, quiet=True)
        assert quiet_n == n, (quiet_n, n)
        quiet_rate = quiet_n / quiet_s

        print("(b) offerwatch backfill --account, end to end ...", flush=True)
        big_db, little_db = workdir / "big.db", workdir / "small.db"
        big_cfg = write_config(workdir / "big.toml", server, big, big_db)
        little_cfg = write_config(workdir / "small.toml", server, little, little_db)
        wall, rss_kb, stdout, _ = run_cli(big_cfg, big_db, big.password, "backfill", "--account", ACCOUNT,
                                          "--no-progress", profile=args.profile)
        read = sum(int(x) for x in re.findall(r": (\d+) read", stdout))
        assert read == n, f"backfill read {read} of {n}:\n{stdout}"
        b_rate = n / wall

        print("(c) offerwatch sync with nothing new ...", flush=True)
        run_cli(little_cfg, little_db, little.password, "backfill", "--account", ACCOUNT, "--no-progress")
        idle = {}
        for label, cfg, db, user in ((small, little_cfg, little_db, little), (n, big_cfg, big_db, big)):
            engine_s, with_connect_s, assess_s = idle_sync_in_process(server, user, db)
            command_s = idle_sync_command(cfg, db, user.password)
            apps_s = command_time(cfg, db, user.password, "apps", "--json")
            digest_s = command_time(cfg, db, user.password, "digest", "--out", str(workdir / f"digest-{label}.html"))
            idle[label] = (engine_s, with_connect_s, assess_s, command_s, apps_s, digest_s)

        print()
        print(f"mailbox: {n} messages, {raw_bytes / 1e6:.0f} MB")
        print(f"(a) raw fetch            {raw_rate:9.0f} msg/s  ({raw_s:.1f} s, {raw_bytes / 1e6 / raw_s:.0f} MB/s; IMAPClient as it ships)")
        print(f"(a') raw fetch, quiet    {quiet_rate:9.0f} msg/s  ({quiet_s:.1f} s; imaplib's trace off, as offerwatch reads)")
        print(f"(b) offerwatch backfill  {b_rate:9.0f} msg/s  ({wall:.1f} s wall, peak memory {rss_kb / 1024:.0f} MB)")
        print(f"    ratio b/a            {b_rate / raw_rate:9.3f}     (issue 13's measure; goal >= 0.4)")
        print(f"    ratio b/a'           {b_rate / quiet_rate:9.3f}     (against the true limit of the fetch)")
        print(f"    peak memory of (b)   {rss_kb / 1024:9.0f} MB  (PSS summed over the process tree; goal < 300 MB)")
        print("(c) sync, nothing new     engine step   connect+engine   assess   whole command   apps   digest --out")
        for label, (engine_s, with_connect_s, assess_s, command_s, apps_s, digest_s) in idle.items():
            print(f"    {label:6d} messages      {engine_s * 1000:7.1f} ms     {with_connect_s * 1000:7.1f} ms"
                  f"   {assess_s * 1000:6.0f} ms   {command_s * 1000:7.0f} ms   {apps_s * 1000:5.0f} ms   {digest_s * 1000:5.0f} ms")
        print("    (goal: engine step < 100 ms and flat in mailbox size)")
        if args.profile:
            print(f"\nprofile of (b) ({args.profile}):")
            for line in profile_summary(args.profile):
                print(line)
    finally:
        server.cleanup()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
