"""Closing the window: it never freezes the window and never outlasts its deadline, whatever the scanner does."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import pytest
from PySide6.QtCore import QMetaObject, Qt, QTimer

from app import paths
from app.settings import load
from app.storage import live as live_repo
from app.storage.db import Database
from app.ui.workers import still_running
from tests.conftest import ROOT


@pytest.fixture
def window(qtbot):
    from app.ui.main_window import MainWindow

    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=3600)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None and w.worker.session is not None, timeout=60_000)
    yield w
    w.close()
    qtbot.waitUntil(lambda: not still_running(), timeout=30_000)  # a worker given up on ends by itself


def _slow_next_cycle(qtbot, w, seconds: float) -> threading.Event:
    """The worker's next cycle sleeps `seconds` first (a slow exchange, a big scan) without looking at any flag;
    returns once the worker's thread is inside it."""
    session = w.worker.session
    real = session.cycle
    entered = threading.Event()

    def slow():
        entered.set()
        time.sleep(seconds)
        return real()

    session.cycle = slow
    QMetaObject.invokeMethod(w.worker, "cycle", Qt.ConnectionType.QueuedConnection)
    qtbot.waitUntil(entered.is_set, timeout=5_000)
    return entered


def _close_from_the_event_loop(qtbot, w, timeout_ms: int) -> dict:
    """Close as a click does (from inside the running event loop), with a heartbeat timer; waits until closed."""
    beats: list[float] = []
    heart = QTimer()
    heart.timeout.connect(lambda: beats.append(time.monotonic()))
    heart.start(50)
    got: dict = {}

    def close_now() -> None:
        got["t0"] = time.monotonic()
        got["accepted"] = w.close()
        got["returned_s"] = time.monotonic() - got["t0"]
        got["message"] = w.statusBar().currentMessage()

    QTimer.singleShot(0, close_now)
    qtbot.waitUntil(lambda: "t0" in got and not w.isVisible(), timeout=timeout_ms)
    got["closed_s"] = time.monotonic() - got["t0"]
    heart.stop()
    got["beats"] = [b - got["t0"] for b in beats if b >= got["t0"]]
    return got


def test_closing_during_a_slow_cycle_keeps_the_window_responsive_and_closes_when_the_cycle_ends(window, qtbot):
    w = window
    _slow_next_cycle(qtbot, w, 5.0)
    got = _close_from_the_event_loop(qtbot, w, 12_000)
    assert got["accepted"] is False and got["returned_s"] < 0.2  # refused at once: control is back in the loop
    assert got["message"].startswith("Stopping the scanner…")
    assert 3.0 < got["closed_s"] < w.closer.deadline_s  # the cycle ended (5 s), the session closed, the window too
    beats = got["beats"]  # the GUI thread kept running its timers the whole time
    assert len(beats) >= got["closed_s"] / 0.05 * 0.5
    assert max(b - a for a, b in zip([0.0, *beats], beats, strict=False)) < 0.5
    assert not w.closer.forced and not w.pipeline_thread.alive and w.worker.session is None
    assert still_running() == []


def test_the_cycle_in_progress_is_cancelled_between_feeds(window, qtbot, caplog):
    """A cycle of slow fetches (0.4 s per pair) stops at its next pair: the window closes within about one fetch."""
    w = window
    session = w.worker.session
    real_fetch = session.source.fetch
    fetches = []

    def slow_fetch(*a, **k):
        fetches.append(time.monotonic())
        time.sleep(0.4)
        return real_fetch(*a, **k)

    with Database(paths.default_db_path()) as db:
        before = live_repo.feed_positions(db.conn, "SIMULATED")
    session.source.fetch = slow_fetch
    QMetaObject.invokeMethod(w.worker, "cycle", Qt.ConnectionType.QueuedConnection)
    qtbot.waitUntil(lambda: len(fetches) >= 1, timeout=5_000)
    with caplog.at_level(logging.INFO):
        got = _close_from_the_event_loop(qtbot, w, 10_000)
    assert got["accepted"] is False and got["returned_s"] < 0.2
    assert got["closed_s"] < 2.0 and len(fetches) < len(session.pipeline.feeds())  # not every pair was fetched
    assert any("scan cycle cancelled before its transaction" in r.getMessage() for r in caplog.records)
    with Database(paths.default_db_path()) as db:
        assert live_repo.feed_positions(db.conn, "SIMULATED") == before  # nothing of the cancelled cycle written


def test_at_the_deadline_the_window_closes_anyway_and_says_what_was_still_running(window, qtbot, caplog):
    w = window
    w.closer.deadline_s = 1.0
    _slow_next_cycle(qtbot, w, 3.0)
    thread = w.pipeline_thread
    with caplog.at_level(logging.ERROR):
        got = _close_from_the_event_loop(qtbot, w, 5_000)
    assert got["accepted"] is False and 0.9 < got["closed_s"] < 2.0
    assert w.closer.forced and "the scanner (a scan cycle, for" in w.closer.left[0]
    assert "in slow" in w.closer.left[0]  # where its thread was: the stack names the slow call
    assert any("work still running" in r.getMessage() for r in caplog.records)
    assert thread.alive and still_running()  # kept referenced: destroying a running QThread would abort
    qtbot.waitUntil(lambda: not still_running(), timeout=10_000)  # it ends by itself once its call returns
    assert not thread.alive and w.worker.session is None  # and it closed its session on the way out


def test_close_without_an_event_loop_waits_here_bounded(window, qtbot):
    """A script (or the smoke test, after exec() returned) calls close() with no event loop running: the close
    completes before it returns, bounded by the deadline."""
    w = window
    w.closer.deadline_s = 2.0
    t0 = time.monotonic()
    assert w.close() is True
    assert time.monotonic() - t0 < 2.5 and not w.pipeline_thread.alive and not w.isVisible()


STUCK_APP = r"""
import sys, time, threading
from PySide6.QtCore import QMetaObject, Qt, QTimer
from PySide6.QtWidgets import QApplication
from app import paths
from app.settings import load
from app.ui.app import _leave
from app.ui.main_window import MainWindow

app = QApplication([])
w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=3600)
w.closer.deadline_s = 1.0
w.show()
entered = threading.Event()

def stick():
    if w.worker.session is None or w.latest is None:
        QTimer.singleShot(50, stick)
        return
    session = w.worker.session
    real = session.cycle
    def slow():
        entered.set()
        time.sleep(60)
        return real()
    session.cycle = slow
    QMetaObject.invokeMethod(w.worker, "cycle", Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(300, w.close)  # as a click on the close button

QTimer.singleShot(0, stick)
t0 = time.monotonic()
code = app.exec()  # ends when the window has closed (the last window)
print(f"closed after {time.monotonic() - t0:.1f} s, stuck worker entered: {entered.is_set()}", flush=True)
sys.exit(_leave(code))
"""


def test_the_app_quits_at_the_deadline_with_a_stuck_worker_without_the_qthread_abort(tmp_path, monkeypatch):
    from dataclasses import replace

    from app.core.outcomes import Costs
    from app.core.signals import Signal
    from app.services.live.tracker import LiveSignalTracker

    home = tmp_path / "home"
    monkeypatch.setenv("SCALPDESK_HOME", str(home))
    db_path = paths.default_db_path()
    t = (int(time.time() * 1000) // 300_000 - 10) * 300_000
    base = Signal("BTC/USDT", "5m", "LONG", t, 100.0, 98.5, 102.0, 71.5, {"trend": 20.0}, ("CDLENGULFING",), 1.0)
    with Database(db_path) as db:
        recorded = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="SIMULATED").add_signal(
            replace(base, symbol="ETH/USDT"))
    env = {**os.environ, "SCALPDESK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "SCALPDESK_NO_DIALOGS": "1"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", STUCK_APP], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "stuck worker entered: True" in proc.stdout
    assert "Destroyed while thread" not in proc.stderr
    assert time.monotonic() - t0 < 60  # did not wait for the 60 s call
    with Database(db_path) as db:  # what was stored before is all there, and the file is sound
        assert db.query("PRAGMA integrity_check")[0][0] == "ok"
        assert db.query("SELECT status FROM live_signals WHERE id = ?", (recorded,))[0][0] == "OPEN"


def test_close_cancels_the_jobs_and_waits_for_them_and_names_one_that_ignores_its_cancel(window, qtbot):
    from app.ui.workers import Job

    w = window
    w.closer.deadline_s = 1.0

    def polite(progress, cancel):
        while not cancel.wait(0.02):
            pass

    def deaf(progress, cancel):
        time.sleep(2.0)

    jobs = [Job("backtest", polite), Job("training", deaf)]
    for job in jobs:
        assert w.jobs.submit(job)
    qtbot.waitUntil(lambda: all(job.alive for job in jobs), timeout=5_000)
    got = _close_from_the_event_loop(qtbot, w, 5_000)
    assert got["accepted"] is False and 0.9 < got["closed_s"] < 2.0
    assert jobs[0].cancel_event.is_set() and not jobs[0].alive  # the polite one stopped at once
    assert len(w.closer.left) == 1 and w.closer.left[0].startswith("the training job (cancelled, running for")
    assert still_running() and "training" in still_running()[0]
    qtbot.waitUntil(lambda: not still_running(), timeout=5_000)
