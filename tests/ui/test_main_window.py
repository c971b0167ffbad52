"""The main window against a real pipeline worker on the simulated market."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from PySide6.QtCore import QTimer

from app import paths
from app.core.outcomes import Costs
from app.core.signals import Signal
from app.services.live.tracker import LiveSignalTracker
from app.settings import load
from app.storage.db import Database
from tests.conftest import ROOT


def _seed(db_path, now_ms):
    """One open signal and one that closed, recorded the way the pipeline records them."""
    t = (now_ms // 300_000) * 300_000 - 10 * 300_000
    base = Signal("BTC/USDT", "5m", "LONG", t, 100.0, 98.5, 102.0, 71.5, {"trend": 20.0}, ("CDLENGULFING",), 1.0)
    with Database(db_path) as db:
        tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="SIMULATED")
        open_id = tr.add_signal(base)
        closed_id = tr.add_signal(replace(base, symbol="ETH/USDT", side="SHORT", take_profit=98.0, stop_loss=101.5))
        with tr.cycle():
            tr.on_candle("ETH/USDT", "5m", t + 300_000, 100.0, 100.2, 97.5, 97.8)  # short target hit: WIN
        return open_id, closed_id


@pytest.fixture
def window(qtbot):
    import time

    from app.ui.main_window import MainWindow

    settings = load()
    ids = _seed(paths.default_db_path(), int(time.time() * 1000))
    w = MainWindow(settings, paths.default_db_path(), paths.default_model_path(), interval_s=3600)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None, timeout=60_000)
    w.refresh()
    yield w, ids
    w.close()


def test_window_shows_pipeline_signals_with_their_values(window):
    w, (open_id, closed_id) = window
    with Database(paths.default_db_path()) as db:
        row = dict(db.query("SELECT * FROM live_signals WHERE id = ?", (open_id,))[0])
        n_closed = db.query("SELECT COUNT(*) FROM live_signals WHERE status != 'OPEN'")[0][0]
    m = w.active
    ids = [m.row_at(r).id for r in range(m.rowCount())]
    assert open_id in ids and closed_id not in ids
    r = ids.index(open_id)
    col = {c.key: k for k, c in enumerate(m.columns)}
    decimals = len(f"{w.latest.ticks['BTC/USDT']:f}".rstrip("0").split(".")[1])  # the pair's tick size
    assert m.data(m.index(r, col["symbol"])) == "BTC/USDT"
    assert m.data(m.index(r, col["entry"])) == f"{row['entry']:.{decimals}f}"
    assert m.data(m.index(r, col["stop_loss"])) == f"{row['stop_loss']:.{decimals}f}"
    assert m.data(m.index(r, col["status_text"])).startswith("Tracking live…")
    assert "not enough history" in m.data(m.index(r, col["accuracy"]))  # no backtest yet: no invented number
    assert m.data(m.index(r, col["ml_probability"])) == "—"
    assert "h" in m.data(m.index(r, col["closed_candle_ms"])) or "m" in m.data(m.index(r, col["closed_candle_ms"]))
    comp = [w.completions.row_at(k).id for k in range(w.completions.rowCount())]
    assert closed_id in comp
    text = w.stats_label.text()
    assert f"Closed (all time)</td><td align='right'><b>{n_closed}</b>" in text
    assert "SIMULATED" in text and "SIMULATED" in w.source_label.text()
    assert w.ml_label.text().startswith("ML filter: off")


class FakeTray:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title: str, text: str) -> None:
        self.messages.append((title, text))


def test_a_closed_signal_moves_to_completions(window, qtbot):
    w, (open_id, _) = window
    w.alert_center.tray = FakeTray()

    def close_in_worker():
        tr = w.worker.pipeline.tracker
        g = tr._book[("BTC/USDT", "5m")]
        t = int(g["last_time"][0]) + 300_000
        with tr.cycle():
            tr.on_candle("BTC/USDT", "5m", t, 100.0, 100.5, 97.0, 97.5)  # stop hit: LOSS
        w.worker.cycle()

    QTimer.singleShot(0, w.worker, close_in_worker)  # runs in the worker's thread, like the pipeline
    qtbot.waitUntil(lambda: w.latest is not None and all(r.id != open_id for r in w.latest.open_rows),
                    timeout=20_000)
    w.refresh()
    assert open_id not in [w.active.row_at(r).id for r in range(w.active.rowCount())]
    top = w.completions.row_at(w.completions.row_of(open_id))  # most recent close first: ties by id
    assert top.closed_at == max(w.completions.row_at(k).closed_at for k in range(w.completions.rowCount()))
    assert top.status == "LOSS"
    assert w.alert_center.tray.messages == [("SIMULATED · Signal closed",  # the window's default market
                                             f"LOSS: LONG BTC/USDT 5m · {top.pnl_pct:+.2f}% after fees")]
    assert top.pnl_pct < -1.5  # the stop (1.5 %) plus fees: the pop-up shows the real loss


def test_a_burst_makes_one_pop_up_with_the_mean_result_per_trade():
    from types import SimpleNamespace as Row

    from app.ui.main_window import tray_message

    closed = [Row(status=s, side="LONG", symbol="S/USDT", timeframe="1m", pnl_pct=p)
              for s, p in (("WIN", 1.76), ("LOSS", -1.74), ("LOSS", -1.74), ("EXPIRED", 0.1))]
    opened = [Row(side="SHORT", symbol="X/USDT", timeframe="5m", confluence_score=71.25)]
    mean = (1.76 - 1.74 - 1.74 + 0.1) / 4  # never the sum of overlapping returns
    assert tray_message(opened, closed) == ("Signals", "New: SHORT X/USDT 5m · score 71.2\n"
                                            f"4 closed: 1 won, 2 lost, 1 expired · {mean:+.2f}% per trade after fees")
    assert tray_message(opened, closed, "SIMULATED")[0] == "SIMULATED · Signals"  # never mistaken for real trades
    assert tray_message([], []) is None


def test_layout_is_remembered_per_screen_size(window, monkeypatch):
    from app.ui import layout

    w, _ = window
    w.resize(700, 520)  # the offscreen screen is 800 x 600: a window is kept inside it
    w.left_split.setSizes([100, 300, 100])
    w.save_layout()
    assert (paths.user_config_dir() / "window.ini").exists()
    key = layout.screen_key(w)
    assert w._qsettings().value(f"{key}/geometry") is not None
    w.resize(600, 400)
    assert "geometry" in w.layout_memory.restore() and w.width() == 700
    monkeypatch.setattr(layout, "screen_key", lambda _w: "3840x2160")  # another monitor: its own layout
    assert w.layout_memory.restore() == set()


def test_smoke_test_subprocess(tmp_path):
    import os

    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "main.py", "--smoke-test"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "smoke test: window shown, one scan cycle on SIMULATED" in proc.stdout


def test_pyside_void_calls_do_not_crash_the_interpreter():
    """PySide6 6.12.0 on CPython 3.11 aborts after ~30,000 calls of Qt methods returning nothing."""
    code = ("import os; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
            "from PySide6.QtWidgets import QApplication, QWidget\n"
            "app = QApplication([]); w = QWidget()\n"
            "for i in range(100_000):\n    w.setObjectName('x'); w.resize(10, 10)\n"
            "print('survived')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-500:]


def test_first_start_offers_to_build_history(window, qtbot):
    w, _ = window
    assert w.latest is not None and not w.latest.has_history
    assert w.history_button.isVisibleTo(w)
    dlg = w.build_history()
    assert dlg.isVisible() and dlg.windowTitle() == "Backtest explorer"
    dlg.reject()


def test_saved_settings_reach_the_running_scanner_without_a_restart(window, qtbot):
    """The settings dialog saves: the running session uses the new minimum score and stop from its next cycle, the
    window says what changed, and the open signal stays tracked (issue 15, end to end in the window)."""
    from app.ui.dialogs import SettingsDialog

    w, (open_id, _) = window
    dlg = SettingsDialog(w.settings, w, jobs=w.jobs)
    qtbot.addWidget(dlg)
    dlg.saved.connect(w.on_settings_saved)
    dlg.editors["confluence.min_score"][0].setText("73")
    dlg.editors["risk.sl_atr"][0].setText("2.5")
    with qtbot.waitSignal(w.worker.settings_applied, timeout=30_000) as sig:
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    lines = sig.args[0]
    assert "minimum score 60 -> 73 (from the next cycle)" in lines and any("stop (ATR) 1.5 -> 2.5" in x for x in lines)
    qtbot.waitUntil(lambda: "minimum score 60 -> 73" in w.statusBar().currentMessage(), timeout=5_000)
    cfg = w.worker.session.pipeline.cfg
    assert (cfg.min_score, cfg.sl_atr) == (73, 2.5) and w.worker.session.tracker.sl_atr == 2.5
    qtbot.waitUntil(lambda: w.latest is not None and open_id in [r.id for r in w.latest.open_rows], timeout=10_000)
