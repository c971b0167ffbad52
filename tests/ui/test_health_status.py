"""The app's own reliability where the trader sees it: alerts and reports that wait or failed in the status bar (only
then), and a banner when the disk is almost full; both computed by the worker, never in the GUI thread."""

from __future__ import annotations

import shutil
import threading
from collections import namedtuple

import pytest
from PySide6.QtCore import QMetaObject, Qt, QTimer

from app import paths
from app.services.reporting.notifier import TelegramNotifier
from app.settings import load

TOKEN = "123456:SECRET-token-value-xyz"


@pytest.fixture
def open_window(qtbot):
    from app.ui.main_window import MainWindow

    made = []

    def make():
        w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=3600)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.latest is not None and w.worker.session is not None, timeout=60_000)
        w.refresh()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def _cycling(w) -> QTimer:
    """A worker cycle (and so a fresh snapshot) every 200 ms, as a live source would give."""
    timer = QTimer()
    timer.timeout.connect(lambda: QMetaObject.invokeMethod(w.worker, "cycle", Qt.ConnectionType.QueuedConnection))
    timer.start(200)
    return timer


def test_the_status_bar_says_when_alerts_wait_or_were_dropped_and_a_report_failed(open_window, qtbot):
    w = open_window()
    assert w.notify_label.text() == "" and w.notify_label.isHidden()  # nothing waits, nothing failed: no words

    def trouble(session):  # in the worker's thread: Telegram unreachable, a queue of 2, a report that fails
        session.telegram = TelegramNotifier(TOKEN, "42", base_url="http://127.0.0.1:9", retries=0,
                                            sleep=lambda s: None, db_path=session.db_path, maxsize=2)
        for i in range(5):
            session.telegram.post(f"alert {i}")
        session.outbox.submit("daily report", lambda: 1 / 0)

    QTimer.singleShot(0, w.worker, lambda: trouble(w.worker.session))
    timer = _cycling(w)
    want = "Telegram: 2 queued, 3 dropped · Reports and backups: 1 failed"
    qtbot.waitUntil(lambda: (w.refresh(), w.notify_label.text())[1] == want, timeout=20_000)
    timer.stop()
    assert w.notify_label.isVisible()
    tip = w.notify_label.toolTip()
    assert "Telegram alerts, every session: 0 sent, 2 waiting" in tip and "3 dropped" in tip
    assert "Last error: daily report: division by zero" in tip


def test_a_banner_says_the_disk_is_almost_full_checked_in_the_worker_once_a_minute(open_window, qtbot, monkeypatch):
    usage = namedtuple("usage", "total used free")
    calls = []

    def nearly_full(path):
        calls.append(threading.current_thread() is threading.main_thread())
        return usage(10**12, 10**12 - 50_000_000, 50_000_000)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    w = open_window()
    assert w.disk_banner.isVisible() and "almost full (50 MB free)" in w.disk_banner.message
    assert "cannot be saved until space is freed" in w.disk_banner.text.text()
    timer = _cycling(w)
    qtbot.wait(1_000)  # about five more snapshots
    timer.stop()
    assert calls == [False]  # asked once (the next time a minute later), and never by the GUI thread
    assert not w.banner.isVisible()  # the connection's banner is another strip: both can show
