"""Closing never waits longer than its timeout: a Telegram send that hangs, a report task that hangs behind a full
queue, or both in a live session; and what could not go out is kept (alerts in the database), never lost."""

from __future__ import annotations

import threading
import time

from app.services.reporting.outbox import AlertQueue, Outbox
from app.storage import outbox as repo
from app.storage.db import Database

SLACK_S = 0.15  # thread scheduling on a loaded machine


def _stuck_sender():
    entered, release = threading.Event(), threading.Event()

    def send(text: str) -> None:
        entered.set()
        release.wait(30)

    return send, entered, release


def test_alert_queue_close_returns_within_its_timeout_while_a_send_hangs_and_keeps_the_alerts(tmp_path):
    db_path = tmp_path / "live.sqlite"
    Database(db_path).close()
    send, entered, release = _stuck_sender()
    q = AlertQueue(send, "telegram", db_path)
    try:
        q.post("first")
        assert entered.wait(10)  # the sender is inside a send that will not return
        q.post("second")  # posted while it hangs: not yet in the database
        t0 = time.monotonic()
        assert q.close(timeout=1.0) is False
        assert time.monotonic() - t0 < 1.0 + SLACK_S
        with Database(db_path) as db:
            queued = [r["payload"] for r in db.query("SELECT payload FROM outbox ORDER BY id")]
        assert queued == ["first", "second"]  # both wait for the next start
    finally:
        release.set()


def test_alert_queue_close_with_nothing_to_send_is_immediate(tmp_path):
    q = AlertQueue(lambda text: None, "telegram", None)
    t0 = time.monotonic()
    assert q.close(timeout=5.0) is True
    assert time.monotonic() - t0 < 0.1


def test_outbox_close_returns_within_its_timeout_with_a_hung_task_and_a_full_queue():
    started, release = threading.Event(), threading.Event()
    box = Outbox(maxsize=2)
    try:
        box.submit("report", lambda: (started.set(), release.wait(30)))
        assert started.wait(10)
        assert box.submit("backup", lambda: None) and box.submit("e-mail", lambda: None)  # the queue is now full
        assert not box.submit("another", lambda: None) and box.dropped == 1  # never blocks the caller either
        t0 = time.monotonic()
        assert box.close(timeout=0.5) is False  # (it used to wait for room, then again for the thread)
        assert time.monotonic() - t0 < 0.5 + SLACK_S
        assert box.pending() == ["backup", "e-mail", "report"]
    finally:
        release.set()


def test_outbox_close_with_room_in_the_queue_is_bounded_too_and_true_once_done():
    release = threading.Event()
    box = Outbox()
    box.submit("report", lambda: release.wait(30))
    t0 = time.monotonic()
    assert box.close(timeout=0.5) is False
    assert time.monotonic() - t0 < 0.5 + SLACK_S
    release.set()
    done = Outbox()
    done.submit("quick", lambda: None)
    assert done.close(timeout=5.0) is True and done.done == 1


def test_a_live_session_closes_within_its_timeout_with_telegram_and_a_task_hung(tmp_path, settings):
    from app.session.live import LiveSession, SourceSpec

    db_path = tmp_path / "live.sqlite"
    send, entered, release = _stuck_sender()
    session = LiveSession(settings, db_path, tmp_path / "none.model", SourceSpec(kind="sim"), alerts=False,
                          watch_file=False)
    try:
        session.cycle()
        session.telegram = _Telegram(AlertQueue(send, "telegram", db_path))
        session.telegram.queue.post("signal")
        assert entered.wait(10)
        session.outbox.submit("daily report", lambda: release.wait(30))
        t0 = time.monotonic()
        unfinished = session.close(timeout=1.0)
        assert time.monotonic() - t0 < 1.0 + 2 * SLACK_S
        assert any("Telegram sender did not finish" in u for u in unfinished)
        assert any("daily report" in u for u in unfinished)
        with Database(db_path) as db:
            assert repo.counts(db, "telegram")["queued"] == 1  # sent at the next start, not lost
    finally:
        release.set()


class _Telegram:
    def __init__(self, queue: AlertQueue) -> None:
        self.queue = queue

    def close(self, timeout: float = 5.0) -> bool:
        return self.queue.close(timeout)
