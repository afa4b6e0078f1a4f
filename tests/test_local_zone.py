"""The machine's time zone is read in one place, DST-aware (issue 14).

Timeline days used ``datetime.now().astimezone().tzinfo``, today's fixed offset, while the
digest used a DST-aware zone: in Berlin in January a July evening's message landed on the
wrong day in one and the right day in the other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import tzlocal

from offerwatch.daemon.digest.job import system_zone
from offerwatch.models.calendar_days import local_date, local_zone, zone


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    tzlocal.reload_localzone()
    yield
    monkeypatch.undo()
    tzlocal.reload_localzone()


def test_the_local_zone_keeps_summer_time_whatever_today_is(berlin: None) -> None:
    tz = local_zone()
    assert datetime(2026, 1, 15, 12, tzinfo=tz).utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    assert datetime(2026, 7, 15, 12, tzinfo=tz).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    # 22:30 UTC on a July evening is already the next day in Berlin (UTC+2), not at +1
    assert local_date(datetime(2026, 7, 15, 22, 30, tzinfo=timezone.utc), zone(None)).day == 16


def test_timeline_digest_and_service_ask_the_same_place(berlin: None) -> None:
    assert str(zone(None)) == str(system_zone()) == str(local_zone()) == "Europe/Berlin"
