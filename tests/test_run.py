"""The service's scheduler is configured so no run is silently dropped: job defaults, triggers in
the digest's time zone, wake detection, SIGHUP reload that keeps a good config, failure isolation."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from offerwatch.daemon.config import AccountConfig, Config, ConfigError, DigestConfig, ScheduleConfig, load_config
from offerwatch.daemon.service import (
    JOB_DEFAULTS,
    Clock,
    Service,
    build_scheduler,
    digest_trigger,
    poll_interval,
    sync_trigger,
)
from offerwatch.daemon.sources.base import SourceError
from offerwatch.models.store import Store


def _config(**kw) -> Config:
    base = dict(
        accounts=(AccountConfig(name="a", host="127.0.0.1", username="a@example.com"),),
        digest=DigestConfig(time=datetime.strptime("07:30", "%H:%M").time(), timezone="Europe/Berlin", channel="file"),
        schedule=ScheduleConfig(poll_minutes=10, jitter_seconds=30),
    )
    base.update(kw)
    return Config(**base)


class FailingSource:
    def __init__(self, acct: AccountConfig) -> None:
        self.account = acct.name
        self.closed = False

    def connect(self) -> None:
        raise SourceError(f"account {self.account}: server unreachable (test)")

    def close(self) -> None:
        self.closed = True


class EmptySource:
    def __init__(self, acct: AccountConfig) -> None:
        self.account = acct.name

    def folders(self):
        from offerwatch.daemon.sources.base import FolderInfo

        return [FolderInfo("INBOX", 7, "inbox")]

    def count(self, *a):
        return 0

    def messages(self, *a):
        return iter(())

    def close(self) -> None:
        pass


@pytest.fixture
def service(tmp_path: Path):
    store = Store.open(tmp_path / "ow.db")
    svc = Service(_config(), store, source_factory=EmptySource)
    yield svc
    store.close()


def test_job_defaults_never_drop_a_late_run(service: Service) -> None:
    scheduler = build_scheduler(service, scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)  # jobs get the defaults when they reach the job store
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    assert scheduler._job_defaults == JOB_DEFAULTS  # noqa: SLF001 - what APScheduler applies to new jobs
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"sync", "digest", "heartbeat"}
    for job in (jobs["sync"], jobs["digest"]):
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 3600
    assert jobs["heartbeat"].misfire_grace_time is None
    assert jobs["heartbeat"].executor == "heartbeat" and jobs["sync"].executor == jobs["digest"].executor == "default"
    scheduler.shutdown(wait=False)


def test_sync_interval_and_jitter() -> None:
    assert poll_interval(_config()) == (600.0, 30.0)
    # jitter is capped at a tenth of the interval, and off when the interval is forced
    cfg = _config(schedule=ScheduleConfig(poll_minutes=1, jitter_seconds=30))
    assert poll_interval(cfg) == (60.0, 6.0)
    assert poll_interval(cfg, poll_seconds=1) == (1.0, 0.0)
    trigger = sync_trigger(_config())
    assert trigger.interval == timedelta(minutes=10) and trigger.jitter == 30
    assert sync_trigger(_config(), poll_seconds=2).jitter is None


def test_digest_trigger_fires_at_local_time_across_dst() -> None:
    trigger = digest_trigger(_config())
    berlin = ZoneInfo("Europe/Berlin")
    assert str(trigger.timezone) == "Europe/Berlin"
    # the night summer time ends (25 Oct 2026): still 07:30 local, which is 06:30 UTC
    before = datetime(2026, 10, 24, 8, 0, tzinfo=berlin)
    fire = trigger.get_next_fire_time(None, before)
    assert fire.astimezone(berlin).replace(tzinfo=None) == datetime(2026, 10, 25, 7, 30)
    assert fire.astimezone(timezone.utc).hour == 6
    summer = trigger.get_next_fire_time(None, datetime(2026, 7, 1, 8, 0, tzinfo=berlin))
    assert summer.astimezone(timezone.utc).hour == 5


def test_heartbeat_detects_a_wall_clock_jump(tmp_path: Path, service: Service) -> None:
    offset = tmp_path / "offset"
    service.clock = Clock(offset)
    service._last_wall = service.clock.now().timestamp()  # noqa: SLF001
    woke: list[bool] = []
    service.wake = lambda: woke.append(True)  # type: ignore[method-assign]
    assert service.heartbeat_job() is False
    offset.write_text("7200")  # two hours passed on the wall clock, none on the monotonic one
    assert service.heartbeat_job() is True
    assert woke == [True]
    assert service.heartbeat_job() is False  # once per jump


def test_reload_keeps_the_old_config_when_the_new_one_is_invalid(tmp_path: Path, service: Service) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[accounts]]\nname = "b"\nhost = "h"\nusername = "u"\n[schedule]\npoll_minutes = 5\n')
    service.config_loader = lambda: load_config(path, required=True)
    scheduler = build_scheduler(service, scheduler_class=BackgroundScheduler)
    service.scheduler = scheduler
    scheduler.start(paused=True)
    try:
        assert service.reload() is True
        assert [a.name for a in service.config.accounts] == ["b"]
        assert scheduler.get_job("sync").trigger.interval == timedelta(minutes=5)
        path.write_text('[schedule]\npoll_minutes = "often"\n')
        with pytest.raises(ConfigError):
            load_config(path, required=True)
        assert service.reload() is False
        assert [a.name for a in service.config.accounts] == ["b"]
        assert scheduler.get_job("sync").trigger.interval == timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=False)


def test_one_failing_account_is_recorded_and_the_others_go_on(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "ow.db")
    accounts = (AccountConfig(name="bad", host="h", username="u"), AccountConfig(name="good", host="h", username="u"))

    def factory(acct: AccountConfig):
        return FailingSource(acct) if acct.name == "bad" else EmptySource(acct)

    svc = Service(_config(accounts=accounts), store, source_factory=factory, retry_base_delay=0)
    result = svc.run_once()
    assert result is not None and result.failed == ["bad"] and result.accounts == 2
    rows = {(r["account"], r["name"]): r for r in store.rows("SELECT * FROM folders")}
    assert "server unreachable" in rows[("bad", "INBOX")]["last_error"]
    assert rows[("good", "INBOX")]["last_error"] is None and rows[("good", "INBOX")]["last_sync"]
    store.close()


def test_stop_request_ends_the_scheduler_and_waits_for_the_work(service: Service) -> None:
    service.heartbeat_seconds = 0.2
    runner = threading.Thread(target=service.run_forever)
    runner.start()
    deadline = time.monotonic() + 10
    while service.polls == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.polls == 1  # the first sync runs at start
    started = time.monotonic()
    service.request_stop("test")
    runner.join(10)
    assert not runner.is_alive() and time.monotonic() - started < 5
    assert service.stop_event.is_set()


def test_log_file_rotates_and_journald_gets_priorities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from offerwatch.daemon.service import configure_service_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
        log_file = tmp_path / "logs" / "offerwatch.log"
        configure_service_logging(logging.INFO, log_file, max_bytes=2000, backups=2)
        for i in range(100):
            logging.getLogger("offerwatch.test").info("line %d %s", i, "x" * 40)
        logging.getLogger("offerwatch.test").error("bad thing")
        err = capsys.readouterr().err
        assert "<6>offerwatch.test: line 0" in err and "<3>offerwatch.test: bad thing" in err
        assert log_file.exists() and (tmp_path / "logs" / "offerwatch.log.1").exists()
        assert not (tmp_path / "logs" / "offerwatch.log.3").exists()
        assert "ERROR offerwatch.test: bad thing" in log_file.read_text()
        configure_service_logging(logging.DEBUG, log_file)  # even at debug: no IMAP conversation, no mail text
        assert not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG)
    finally:
        logging.getLogger("imapclient").setLevel(logging.NOTSET)
        for h in root.handlers:
            if h not in saved[0]:
                h.close()
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
