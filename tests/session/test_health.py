"""The reliability figures the status bar reads: alerts and tasks, and the disk checked at most once a minute."""

from __future__ import annotations

import shutil
from collections import namedtuple

from app.session.health import DiskWatch

usage = namedtuple("usage", "total used free")


def test_the_disk_is_asked_at_most_once_a_minute(monkeypatch, tmp_path):
    free = [50_000_000]
    asked = []
    monkeypatch.setattr(shutil, "disk_usage", lambda p: (asked.append(p), usage(10**12, 0, free[0]))[1])
    now = [1000.0]
    watch = DiskWatch(tmp_path, clock=lambda: now[0])
    assert "almost full (50 MB free)" in watch.warning()
    free[0] = 10**12  # space freed: seen at the next check, not before
    now[0] += 59.0
    assert watch.warning() is not None and len(asked) == 1
    now[0] += 1.0
    assert watch.warning() is None and len(asked) == 2


def test_a_live_snapshot_carries_the_notifications_and_the_disk(tmp_path, settings, monkeypatch):
    from app.session.live import LiveSession, SourceSpec

    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 0, 10**12))
    with LiveSession(settings, tmp_path / "live.sqlite", tmp_path / "none.model", SourceSpec(kind="sim"),
                     alerts=False, watch_file=False) as session:
        session.cycle()
        assert session.outbox.submit("weekly report", lambda: 1 / 0)
        session.outbox.close(timeout=5)
        snap = session.snapshot()
        assert snap.disk_warning is None
        assert snap.notifications == {"telegram": None, "telegram_this_session": None, "tasks_dropped": 0,
                                      "tasks_failed": 1, "last_error": "weekly report: division by zero",
                                      "problems": []}
