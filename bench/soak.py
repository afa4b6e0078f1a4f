"""Soak test: `offerwatch run` with a 1 s poll for N minutes while a writer appends mail.

Starts a throw-away Dovecot on loopback (the test fixture's server, tests/dovecot.py), runs
the daemon as a subprocess against it, appends demo messages (each under a new Message-ID)
at a steady rate, and samples the daemon's resident memory and open file descriptors from
/proc. At the end it waits for the daemon to catch up, stops it with SIGTERM, and prints:
messages appended and processed (nothing may be lost or duplicated), RSS and descriptors at
start/end/peak, polls, warnings and errors from the log, and the exit status.

    .venv/bin/python bench/soak.py                 # 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --rate 5

Linux only (/proc). Exit status 1 when mail was lost, the daemon died, or it did not exit 0.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from dovecot import DovecotServer  # noqa: E402

DEMO = REPO / "daemon" / "demo_mailbox"
PASSWORD_ENV = "OFFERWATCH_SOAK_PASSWORD"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long the writer runs (default 10)")
    ap.add_argument("--rate", type=float, default=2.0, help="messages appended per second (default 2)")
    ap.add_argument("--poll-seconds", type=float, default=1.0)
    args = ap.parse_args()

    messages = sorted(DEMO.glob("d0*.eml"))
    work = Path(tempfile.mkdtemp(prefix="offerwatch-soak-"))
    server = DovecotServer.create()
    server.start()
    daemon: subprocess.Popen[bytes] | None = None
    try:
        user = server.create_user()
        db, config, log = work / "ow.db", work / "config.toml", work / "daemon.log"
        config.write_text(f"""
[storage]
database = "{db}"
[identity]
addresses = ["sam.okafor@example.net"]
[[accounts]]
name = "soak"
host = "127.0.0.1"
port = {server.imaps_port}
ca_file = "{server.ca_file}"
username = "{user.name}"
password_env = "{PASSWORD_ENV}"
folders = ["INBOX"]
[digest]
channel = "file"
[digest.file]
path = "{work}/digest-{{date}}.html"
""")
        # one message before the start, so the first poll loads the pipeline and "start" is warm
        warm = re.sub(rb"(?im)^Message-ID:[^\r\n]*", b"Message-ID: <warmup@soak.test>", messages[0].read_bytes(), count=1)
        user.append("INBOX", warm)
        env = {**os.environ, PASSWORD_ENV: user.password}
        env.pop("JOURNAL_STREAM", None)
        with open(log, "wb") as f:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "offerwatch.daemon.cli", "--config", str(config), "run",
                 "--poll-seconds", str(args.poll_seconds)], stdout=f, stderr=subprocess.STDOUT, env=env)
        # the first poll has loaded the pipeline: measure from there
        deadline = time.monotonic() + 120
        while "poll 1:" not in log.read_text(errors="replace"):
            if daemon.poll() is not None or time.monotonic() > deadline:
                print(log.read_text(errors="replace")[-3000:])
                raise SystemExit("the daemon did not complete its first poll")
            time.sleep(0.2)
        rss_start, fds_start = rss_kib(daemon.pid), open_fds(daemon.pid)
        peak_rss, peak_fds = rss_start, fds_start
        appended = 1  # the warm-up message
        stop = threading.Event()
        write_errors: list[str] = []

        def writer() -> None:
            nonlocal appended
            interval = 1.0 / args.rate
            nxt = time.monotonic()
            with user.client() as c:
                while not stop.is_set():
                    raw = messages[appended % len(messages)].read_bytes()
                    raw = re.sub(rb"(?im)^Message-ID:[^\r\n]*", f"Message-ID: <soak{appended}@soak.test>".encode(), raw, count=1)
                    try:
                        c.append("INBOX", raw)
                        appended += 1
                    except Exception as err:  # noqa: BLE001 - reported at the end
                        write_errors.append(str(err))
                    nxt += interval
                    stop.wait(max(0.0, nxt - time.monotonic()))

        thread = threading.Thread(target=writer, daemon=True)
        started = time.monotonic()
        thread.start()
        samples = []
        end = started + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
            if daemon.poll() is not None:
                break
            rss, fds = rss_kib(daemon.pid), open_fds(daemon.pid)
            peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, fds)
            samples.append((time.monotonic() - started, rss, fds))
        stop.set()
        thread.join(10)
        # catch up: everything appended must be stored, once
        deadline = time.monotonic() + 60
        while daemon.poll() is None and time.monotonic() < deadline:
            if count(db, "SELECT count(*) FROM locations") >= appended:
                break
            time.sleep(0.5)
        alive = daemon.poll() is None
        rss_end, fds_end = (rss_kib(daemon.pid), open_fds(daemon.pid)) if alive else (0, 0)
        stop_started = time.monotonic()
        if alive:
            daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            code = -9
        stop_secs = time.monotonic() - stop_started
        text = log.read_text(errors="replace")
        stored = count(db, "SELECT count(*) FROM locations")
        distinct = count(db, "SELECT count(DISTINCT message_id) FROM messages WHERE message_id LIKE '%soak.test%'")
        polls = len(re.findall(r"offerwatch\.daemon\.service: poll \d+:", text))
        problems = [line for line in text.splitlines() if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
        mid = samples[len(samples) // 2] if samples else (0, rss_start, fds_start)

        print(f"soak: {args.minutes:g} min, poll every {args.poll_seconds:g} s, writer {args.rate:g} msg/s")
        print(f"messages appended {appended}, stored {stored} ({distinct} distinct Message-IDs), "
              f"lost {appended - stored}, write errors {len(write_errors)}")
        print(f"polls {polls} ({polls / max(1e-9, (time.monotonic() - started)):.2f}/s)")
        print(f"RSS KiB: start {rss_start}, middle {mid[1]}, end {rss_end}, peak {peak_rss}")
        print(f"open fds: start {fds_start}, middle {mid[2]}, end {fds_end}, peak {peak_fds}")
        print(f"warnings/errors in the log: {len(problems)}")
        for line in problems[:10]:
            print(f"  {line[:200]}")
        print(f"SIGTERM -> exit {code} in {stop_secs:.1f} s; log {log}")
        ok = alive and code == 0 and stored == appended == distinct and not write_errors
        return 0 if ok else 1
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
        server.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
