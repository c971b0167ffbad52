"""The window as a scalper's desk (issue 19), against a real pipeline worker on the simulated market: the
watchlist, the chart of a selected signal with its levels, why it fired and how to size it, alerts, the source's
state and banners, replay, local or UTC times, empty states."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from app import paths
from app.core.candles import Candles
from app.core.outcomes import Costs
from app.core.signals import Signal
from app.market.sources import ConnectionState
from app.services.live.tracker import LiveSignalTracker
from app.settings import load
from app.storage.db import Database

T5 = 300_000


def _seed(db_path, now_ms):
    """An open BTC signal and a closed ETH one, recorded the way the pipeline records them."""
    t = (now_ms // T5) * T5 - 10 * T5
    base = Signal("BTC/USDT", "5m", "LONG", t, 100.0, 98.5, 102.0, 71.5,
                  {"trend": 20.0, "momentum": 18.0, "volume": 9.0, "volatility": 6.5, "pattern": 18.0},
                  ("CDLENGULFING",), 1.0)
    with Database(db_path) as db:
        tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="SIMULATED")
        open_id = tr.add_signal(base)
        closed_id = tr.add_signal(replace(base, symbol="ETH/USDT", side="SHORT", take_profit=98.0, stop_loss=101.5))
        with tr.cycle():
            tr.on_candle("ETH/USDT", "5m", t + T5, 100.0, 100.2, 97.5, 97.8)  # the short's target: WIN
        return open_id, closed_id


@pytest.fixture
def desk(qtbot):
    from app.ui.main_window import MainWindow

    ids = _seed(paths.default_db_path(), int(time.time() * 1000))
    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), interval_s=3600)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitUntil(lambda: w.latest is not None, timeout=60_000)
    w.refresh()
    yield w, ids
    w.close()


def _in_worker(w, fn) -> None:
    """Run `fn(session)` in the pipeline's thread, as the pipeline itself would, then publish a snapshot."""
    def run():
        fn(w.worker.session)
        w.worker.cycle()

    QTimer.singleShot(0, w.worker, run)


def _add_signal(w, qtbot, symbol: str, score: float) -> int:
    before = {r.id for r in w.latest.open_rows}

    def add(session):
        t = int(session.pipeline.buffers[(symbol, "5m")].time[-1])
        session.tracker.add_signal(Signal(symbol, "5m", "LONG", t, 100.0, 98.5, 102.0, score, {"trend": 20.0}, (),
                                          1.0))

    _in_worker(w, add)
    qtbot.waitUntil(lambda: {r.id for r in w.latest.open_rows} - before != set(), timeout=20_000)
    w.refresh()
    return max({r.id for r in w.latest.open_rows} - before)


def test_the_watchlist_lists_every_watched_pair_and_marks_the_one_with_an_open_signal(desk, qtbot, qtmodeltester):
    w, _ = desk
    m = w.watch.model
    qtmodeltester.check(m)
    assert [m.row_at(r).symbol for r in range(m.rowCount())] == list(w.settings.scanner.symbols)
    btc = m.row_at(m.row_of("BTC/USDT"))
    assert btc.open_signals == 1 and m.data(m.index(m.row_of("BTC/USDT"), 0)) == "● BTC/USDT"
    assert all(m.row_at(r).last is not None and m.row_at(r).score is not None for r in range(m.rowCount()))
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Close"  # no live quotes from the simulated market
    assert "no live quotes" in w.watch.note.text()
    view = w.watch.view
    rect = view.visualRect(m.index(m.row_of("SOL/USDT"), 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double-click's first press
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.candle_chart.symbol == "SOL/USDT", timeout=20_000)
    assert w.chart_panel.stack.currentWidget() is w.candle_chart and len(w.candle_chart.data) > 100


def test_the_watchlist_filter_and_sort_hold_while_rows_refresh(desk, qtmodeltester):
    w, _ = desk
    m = w.watch.model
    w.watch.filter.setText("o")  # SOL, DOGE
    assert sorted(m.row_at(r).symbol for r in range(m.rowCount())) == ["DOGE/USDT", "SOL/USDT"]
    w.watch.filter.setText("")
    score = next(k for k, c in enumerate(m.columns) if c.key == "score")
    w.watch.view.sortByColumn(score, Qt.SortOrder.DescendingOrder)
    rows = list(w.latest.watchlist)
    for k in range(5):  # scores change every refresh: the order follows, the indicator stays true
        rows = [replace(r, score=(r.score or 0) + (k * 7 + i * 13) % 11) for i, r in enumerate(rows)]
        m.set_rows(rows)
        qtmodeltester.check(m)
        shown = [m.row_at(r).score for r in range(m.rowCount())]
        assert shown == sorted(shown, reverse=True)
    assert w.watch.view.horizontalHeader().sortIndicatorSection() == score


def test_selecting_a_signal_shows_its_levels_size_and_why_it_fired(desk, qtbot):
    w, (open_id, closed_id) = desk
    assert w.selected is not None and w.selected.id == open_id  # the first open signal is selected at start
    w.done_view.selectRow(w.completions.row_of(closed_id))  # then the trader looks at another one, and back
    row = w.active.row_of(open_id)
    with qtbot.waitSignal(w.source.why_ready, timeout=20_000,  # the worker's answer
                          check_params_cb=lambda r: r is not None and r.signal_id == open_id):
        w.active_view.selectRow(row)
    assert w.why.report is not None and w.why.report.signal_id == open_id
    chart = w.candle_chart
    assert chart.symbol == "BTC/USDT" or w.chart_panel.current == ("BTC/USDT", "5m")
    assert [chart.level_lines[k].value() for k in ("entry", "stop", "target")] == [100.0, 98.5, 102.0]
    assert all(chart.level_lines[k].isVisible() for k in ("entry", "stop", "target"))
    r = w.why.report
    assert [c.name for c in r.components] == ["trend", "momentum", "volume", "volatility", "pattern"]
    assert sum(c.points for c in r.components) == pytest.approx(71.5)
    assert r.patterns == ("CDLENGULFING",)
    text = w.why.body.text()
    assert "Engulfing (+10)" in text and "not enough history" in text  # no backtest: nothing invented
    assert "off" in text and "not rated" in text  # the ML filter is off and says so
    sizing = w.sizing.text.text()
    s = w.settings.risk
    qty = s.account_size * s.risk_per_trade_pct / 100 / 1.5
    assert "Position size" in sizing and f"{qty:.2f}" in sizing.replace(",", "")
    copy = next(a for a in w.findChildren(type(w.live_action)) if a.shortcut().toString() == "Ctrl+Shift+C")
    copy.trigger()
    tick = w.latest.ticks["BTC/USDT"]
    assert QGuiApplication.clipboard().text().startswith(f"BTC/USDT LONG entry {100.0:.{_dec(tick)}f} SL ")
    assert " size " in QGuiApplication.clipboard().text()


def _dec(tick: float) -> int:
    from app.core.prices import decimals

    return decimals(tick)


def test_a_closed_signals_levels_show_only_while_it_is_selected(desk, qtbot):
    w, (open_id, closed_id) = desk
    chart = w.candle_chart
    with qtbot.waitSignal(w.source.chart_ready, timeout=20_000, check_params_cb=lambda d: d.symbol == "ETH/USDT"):
        w.done_view.selectRow(w.completions.row_of(closed_id))
    assert chart.symbol == "ETH/USDT"
    assert [chart.level_lines[k].value() for k in ("entry", "stop", "target")] == [100.0, 101.5, 98.0]
    assert len(chart.trade_path.getData()[0]) == 2  # entry to exit
    assert not chart.follow  # the trade is framed, not the live edge
    w.show_symbol("SOL/USDT")  # another pair from the watchlist: the closed trade's lines go
    assert not any(line.isVisible() for line in chart.level_lines.values())
    assert chart.trade_path.getData()[0] is None
    assert not w.done_view.selectionModel().hasSelection()  # and the table says so
    w.active_view.selectRow(w.active.row_of(open_id))
    assert [chart.level_lines[k].value() for k in ("entry", "stop", "target")] == [100.0, 98.5, 102.0]


@dataclass(frozen=True)
class TradeRef:
    """The backtest explorer's trade, as agreed with the tools engineer."""

    symbol: str
    timeframe: str
    side: str
    signal_time: int
    entry: float
    stop_loss: float
    take_profit: float
    exit_time: int | None
    exit_price: float | None
    outcome: str
    candles: Candles


def test_show_trade_draws_a_backtest_trade_until_follow_live(desk, qtbot):
    from app.market.simulated import generate

    w, _ = desk
    c = generate(["LINK/USDT"], "5m", 400, seed=3)["LINK/USDT"]
    k = 300
    entry = float(c.open[k + 1])
    ref = TradeRef("LINK/USDT", "5m", "LONG", int(c.time[k]), entry, entry * 0.99, entry * 1.015,
                   int(c.time[k + 6]), entry * 1.015, "WIN", c)
    w.show_trade(ref)
    chart = w.candle_chart
    assert chart.symbol == "LINK/USDT" and len(chart.data) == 400 and w.chart_panel.trade_mode
    assert [chart.level_lines[k].value() for k in ("entry", "stop", "target")] == pytest.approx(
        [entry, entry * 0.99, entry * 1.015])
    x, y = chart.trade_path.getData()
    assert list(x) == [c.time[k + 1] / 1000, c.time[k + 6] / 1000] and list(y) == pytest.approx([entry, entry * 1.015])
    left, right = chart.price.viewRange()[0]
    assert left < c.time[k] / 1000 and right > c.time[k + 6] / 1000
    low, high = chart.price.viewRange()[1]
    assert low < entry * 0.99 and high > entry * 1.015
    assert "BACKTEST TRADE" in w.chart_panel.mode.text() and "WIN" in w.chart_panel.mode.text()
    qtbot.waitUntil(lambda: chart.lines["ema21"].getData()[0] is not None, timeout=20_000)  # indicators, off-thread
    w.refresh()
    w.source.request_chart.emit(("BTC/USDT", "5m", True))  # a live chart arriving meanwhile does not replace it
    qtbot.wait(300)
    assert chart.symbol == "LINK/USDT"
    w.chart_panel.follow.setChecked(True)
    assert not w.chart_panel.trade_mode


def test_alerts_sound_above_the_pairs_alert_score_and_never_for_a_muted_pair(desk, qtbot):
    w, _ = desk
    shipped = paths.default_config_path().read_bytes()
    beeps: list[int] = []
    pops: list[tuple[str, str]] = []
    w.alert_center.beep = lambda: beeps.append(1)
    w.alert_center.tray = type("Tray", (), {"showMessage": lambda self, *m: pops.append(m)})()
    _add_signal(w, qtbot, "SOL/USDT", 72.0)
    # the desk here runs on the simulated market: its pop-ups say so first
    assert beeps == [1] and pops == [("SIMULATED · New signal", "New: LONG SOL/USDT 5m · score 72.0")]
    top = w.alert_center.model.row_at(0)
    assert (top.symbol, top.alerted, top.what) == ("SOL/USDT", True, "sound and pop-up")
    w.set_alert_score("XRP/USDT", 80)
    _add_signal(w, qtbot, "XRP/USDT", 75.0)
    assert beeps == [1] and len(pops) == 1 and w.alert_center.model.row_at(0).what == "below the alert score 80"
    w.toggle_mute("DOGE/USDT")
    assert load().alerts.muted == ["DOGE/USDT"]  # a setting, saved
    _add_signal(w, qtbot, "DOGE/USDT", 90.0)
    assert beeps == [1] and w.alert_center.model.row_at(0).what == "muted"
    assert w.alert_center.model.rowCount() == 3
    assert paths.default_config_path().read_bytes() == shipped  # saved in the user's file, never the defaults


def test_the_exchange_unreachable_shows_a_banner_and_nothing_switches_on_its_own(desk, qtbot):
    w, _ = desk
    down = replace(w.latest, source="LIVE binance", connection=ConnectionState("reconnecting", "timed out", 12.0))
    w.latest = down
    w.refresh()
    assert w.banner.isVisible() and w.banner.kind == "offline"
    assert "cannot be reached" in w.banner.text.text() and "Retrying in 12 s" in w.banner.text.text()
    assert "reconnecting in 12s: timed out" in w.source_label.text()
    w.statusBar().showMessage("something else", 5000)
    assert w.source_label.isVisible()  # the connection state is never hidden
    assert w.source.spec is None  # still the settings' source: no silent switch
    w.banner.simulated.click()  # the trader's choice
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.source == "SIMULATED", timeout=60_000)
    w.refresh()
    assert w.source.spec.kind == "sim" and not w.banner.isVisible()
    assert "SIMULATED" in w.source_label.text()


def test_a_replay_runs_the_whole_desk_labelled_replay_and_returns_to_live(desk, qtbot, tmp_path):
    from app.market.simulated import generate
    from app.session.live import SourceSpec
    from app.ui.replay_dialog import ReplayDialog

    w, _ = desk
    files = []
    for sym, c in generate(["BTC/USDT", "ETH/USDT"], "5m", 900, seed=4).items():
        path = tmp_path / f"{sym.replace('/', '_')}-5m.csv"
        rows = np.column_stack([c.time, c.open, c.high, c.low, c.close, c.volume])
        np.savetxt(path, rows, delimiter=",", header="timestamp,open,high,low,close,volume", comments="", fmt="%.10g")
        files.append(str(path))
    dlg = ReplayDialog(w)
    qtbot.addWidget(dlg)
    dlg.set_files(files)
    with qtbot.waitSignal(dlg.replay_chosen) as chosen:
        dlg.start_button.click()
    spec = chosen.args[0]
    assert spec == SourceSpec(kind="replay", files=tuple(files), speed=60.0)
    w.start_replay(replace(spec, speed=0.0, step=300))
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.source.startswith("REPLAY"), timeout=60_000)
    w.refresh()
    assert "REPLAY" in w.windowTitle() and "REPLAY" in w.source_label.text()
    assert w.banner.isVisible() and w.banner.live.isVisible()
    assert "<b>REPLAY</b>" in w.stats_label.text()
    assert [r.symbol for r in w.latest.watchlist] == ["BTC/USDT", "ETH/USDT"]
    w.banner.live.click()
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.source == "SIMULATED", timeout=60_000)
    w.refresh()
    assert not w.banner.isVisible() and w.source.spec is None


def test_a_replay_of_several_timeframes_is_refused_with_the_reason(qtbot):
    from app.ui.replay_dialog import ReplayDialog

    dlg = ReplayDialog()
    qtbot.addWidget(dlg)
    dlg.open()
    dlg.set_files(["/x/BTC_USDT-5m.feather", "/x/BTC_USDT-1h.feather"])
    chosen: list[Any] = []
    dlg.replay_chosen.connect(chosen.append)
    dlg.start_button.click()
    assert "several timeframes (1h, 5m)" in dlg.error.text()
    assert dlg.isVisible() and chosen == []


def test_times_are_local_with_the_zone_named_or_utc(desk, monkeypatch):
    import os

    w, _ = desk
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        w._apply_view_settings(w.settings)
        assert w.completions.headerData(0, Qt.Orientation.Horizontal) == "Closed (UTC+05:30)"
        w.utc_action.setChecked(True)
        w.toggle_utc()
        assert load().appearance.times == "utc"
        assert w.completions.headerData(0, Qt.Orientation.Horizontal) == "Closed (UTC)"
        axis = next(p for p in w.candle_chart._stack() if p.getAxis("bottom").isVisible()).getAxis("bottom")
        assert axis.labelText == "time (UTC)"
    finally:
        monkeypatch.delenv("TZ", raising=False)
        os.environ.pop("TZ", None)
        time.tzset()


def test_empty_states_say_what_to_do(qtbot):
    from app.ui.main_window import MainWindow

    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), start_worker=False)
    qtbot.addWidget(w)
    w.show()
    assert w.active_view.empty_text.startswith("Starting: loading candles for 5 pairs")
    assert w.chart_panel.stack.currentWidget() is w.chart_panel.empty  # no meaningless axes
    assert "Double-click a pair" in w.chart_panel.empty.text()
    snap = _empty_snapshot()
    w.latest = snap
    w.refresh()
    assert w.active_view.empty_text.startswith("No open signals. The scanner is watching 5 pairs on 5m")
    assert "after 24 candles" in w.done_view.empty_text
    assert "No alerts yet" in w.alerts_panel.view.empty_text


def _empty_snapshot() -> Any:
    from app.services.live.dashboard import Snapshot

    stats = {"signals": 0, "wins": 0, "losses": 0, "expired": 0, "win_rate": None, "ci_low": None, "ci_high": None,
             "net_pnl_pct": 0.0, "profit_factor": None, "open": 0}
    return Snapshot((), (), stats, stats, (np.empty(0), np.empty(0)), {}, "SIMULATED", "off: no model", None,
                    timeframes=("5m",), min_score=60.0, symbols_watched=5, connection=ConnectionState("simulated"))


def test_shortcuts_for_the_desks_actions(desk):
    w, _ = desk
    keys = {a.shortcut().toString() for a in w.findChildren(type(w.live_action)) if not a.shortcut().isEmpty()}
    assert {"Ctrl+Shift+C", "Ctrl+F", "Ctrl+K", "End", "Ctrl+M", "Ctrl+Shift+H", "Ctrl+Shift+L", "Ctrl+1",
            "Ctrl+Shift+U"} <= keys


def test_context_menu_of_a_pair_offers_its_alert_score_and_mute(desk):
    w, _ = desk
    menu = w.watch.context_menu("BTC/USDT")
    assert [a.text() for a in menu.actions()] == ["Show BTC/USDT chart", "Alert score for BTC/USDT…",
                                                 "Mute alerts for BTC/USDT"]
    w.toggle_mute("BTC/USDT")
    assert w.watch.context_menu("BTC/USDT").actions()[2].text() == "Unmute alerts for BTC/USDT"
