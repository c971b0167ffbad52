"""The backtest explorer: data, pairs, timeframe and period chosen; the result leads with the verdict; per pair, by
score band and the trade list (a columnar model, sorted and filtered); selecting a trade emits a TradeRef with the
candles around it, which the main window forwards to its chart."""

from __future__ import annotations

import glob

import numpy as np
import pytest
from PySide6.QtCore import QDate, Qt

from app import paths
from app.market import history
from app.market.simulated import generate
from app.services.research.trades import TradeRef
from app.settings import load
from app.storage.db import Database
from app.ui.dialogs import BacktestExplorer
from app.ui.dialogs.data_choice import DOWNLOADED, FILES, SIMULATED
from app.ui.workers import JobManager
from tests.conftest import REAL


@pytest.fixture(scope="module")
def jobs():
    return JobManager()


def _explorer(qtbot, jobs, folder=None) -> BacktestExplorer:
    dlg = BacktestExplorer(jobs, load(), paths.default_db_path(), history_folder=folder)
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitUntil(lambda: not any(k.startswith("backtest-inventory") for k in jobs.running), timeout=10_000)
    return dlg


def _run(qtbot, dlg) -> dict:
    with qtbot.waitSignal(dlg.job_done, timeout=300_000):
        dlg.run_button.click()
    return dlg.result


def _files() -> list[str]:
    real = sorted(glob.glob(str(REAL / "*-5m.feather")))
    return [f for f in real if any(p in f for p in ("BTC_", "ETH_", "SOL_"))]


@pytest.fixture
def explored(qtbot, qtmodeltester, jobs, tmp_path):
    """Three real pairs from June 2024 (or the simulated market without ../shared/data), two of them chosen."""
    dlg = _explorer(qtbot, jobs, tmp_path / "none")
    files = _files()
    if files:
        dlg.set_files(files)
        dlg.period.whole.setChecked(False)
        dlg.period.start.setDate(QDate(2024, 6, 1))
        dlg.period.end.setDate(QDate(2024, 7, 31))
    else:
        dlg.sim_candles.setValue(20_000)
    unchecked = dlg.pairs.boxes[-1].text()
    dlg.pairs.boxes[-1].setChecked(False)
    r = _run(qtbot, dlg)
    for model in (dlg.per_pair, dlg.buckets, dlg.trades):
        qtmodeltester.check(model)
    return dlg, r, unchecked, bool(files)


def test_result_leads_with_the_verdict_and_covers_the_chosen_pairs_and_period(explored):
    dlg, r, unchecked, real = explored
    text = dlg.summary.text()
    assert text.index(r["verdict"]) < text.index("Net expectancy") < text.index("Edge over random entries") \
        < text.index("Account")
    assert f"{r['expectancy']['pct']:+.3f}%" in text
    pairs = {d["symbol"] for d in r["data"]}
    assert unchecked not in pairs and len(pairs) == len(dlg.pairs.boxes) - 1
    if real:
        assert min(d["first"] for d in r["data"]) == 1_717_200_000_000  # 2024-06-01 00:00 UTC
        assert max(d["last"] for d in r["data"]) < 1_722_470_400_000  # before 2024-08-01
        assert "SIMULATED" not in text
    assert [dlg.per_pair.row_dict(i)["key"] for i in range(dlg.per_pair.rowCount())] == sorted(pairs)
    assert dlg.per_pair.headerData(1, Qt.Orientation.Horizontal) == "Expectancy %"  # expectancy first
    bands = [dlg.buckets.row_dict(i)["label"] for i in range(dlg.buckets.rowCount())]
    assert bands[0] == "50-55" and dlg.buckets.headerData(1, Qt.Orientation.Horizontal) == "Expectancy %"
    with Database(paths.default_db_path()) as db:
        stored = db.query("SELECT COUNT(*) AS n FROM backtest_signals WHERE run_id = ?", (r["run_id"],))[0]["n"]
    assert stored == r["stored_signals"] == len(dlg.trades.table)


def test_trade_list_filters_sorts_and_sends_the_selected_trade(explored, qtbot):
    dlg, r, _, _ = explored
    m = dlg.trades
    assert m.rowCount() == r["signals"]  # the trades the verdict describes
    dlg.only_headline.setChecked(False)
    assert m.rowCount() == r["stored_signals"]
    dlg.only_headline.setChecked(True)
    symbol = dlg.trade_pair.itemText(1)
    dlg.trade_pair.setCurrentIndex(1)
    assert 0 < m.rowCount() < r["signals"]
    assert {m.data(m.index(i, 1)) for i in range(m.rowCount())} == {symbol}
    pnl_col = 11
    dlg.trade_view.sortByColumn(pnl_col, Qt.SortOrder.DescendingOrder)
    values = [m.data(m.index(i, pnl_col), Qt.ItemDataRole.UserRole) for i in range(m.rowCount())]
    assert values == sorted(values, reverse=True)
    best = m.table.row(m.table_row(0))
    with qtbot.waitSignal(dlg.trade_selected, timeout=10_000) as sig:
        dlg.trade_view.selectRow(0)
    ref = sig.args[0]
    assert isinstance(ref, TradeRef)
    assert (ref.symbol, ref.side, ref.signal_time, ref.exit_time, ref.outcome, ref.pnl_pct) == \
        (best["symbol"], best["side"], best["signal_time"], best["exit_time"], best["outcome"], best["pnl_pct"])
    c = ref.candles
    assert c.symbol == symbol and c.time[0] < ref.signal_time < ref.exit_time <= c.time[-1]
    assert ref.entry == best["entry"] and ref.stop_loss == best["stop_loss"] and ref.take_profit == best["take_profit"]
    assert symbol in dlg.trade_note.text() and f"{best['pnl_pct']:+.3f}%" in dlg.trade_note.text()


def test_the_main_window_forwards_a_selected_trade_to_its_chart(qtbot):
    from app.ui.main_window import MainWindow

    shown: list[object] = []

    class Window(MainWindow):
        def show_trade(self, ref: object) -> None:
            shown.append(ref)

    w = Window(load(), paths.default_db_path(), paths.default_model_path(), start_worker=False)
    qtbot.addWidget(w)
    dlg = w.open_backtest()
    assert isinstance(dlg, BacktestExplorer)
    dlg.trade_selected.emit("a trade")
    assert shown == ["a trade"]
    for name, cls in (("open_data_manager", "DataManagerDialog"), ("export_report", "PdfExportDialog"),
                      ("export_csv", "CsvExportDialog")):
        assert type(getattr(w, name)()).__name__ == cls
    actions = [a.text() for m in w.menuBar().findChildren(type(w.menuBar().addMenu("x"))) for a in m.actions()]
    assert "&Data manager…" in actions and "&Backtest explorer…" in actions


def test_downloaded_history_is_offered_and_bad_choices_are_explained(qtbot, jobs, tmp_path):
    folder = tmp_path / "history"
    data = generate(["BTC/USDT", "ETH/USDT"], "5m", 3000, seed=4)
    for c in data.values():
        history.write_candles(history.history_path(folder, c.symbol, "5m"), c)
    dlg = _explorer(qtbot, jobs, folder)
    qtbot.waitUntil(lambda: dlg.source_key() == DOWNLOADED, timeout=10_000)
    assert dlg.pairs.pairs() == ["BTC/USDT", "ETH/USDT"] and dlg.timeframe.currentText() == "5m"
    first = data["BTC/USDT"].time[0]
    assert dlg.period.range_label.text().startswith("data: ")
    req = dlg.request()
    assert req.files and all(str(folder) in f for f in req.files) and req.start_ms is None
    dlg.period.whole.setChecked(False)
    assert dlg.request().start_ms == first - first % 86_400_000  # the data's first day, as the default 'from'
    dlg.pairs.boxes[0].setChecked(False)
    dlg.source.setCurrentIndex(dlg.source.findData(SIMULATED))
    dlg.source.setCurrentIndex(dlg.source.findData(DOWNLOADED))
    assert dlg.pairs.checked() == ["ETH/USDT"]  # an unticked pair stays unticked
    dlg.pairs.none_button.click()
    dlg.run_button.click()
    assert dlg.job is None and dlg.status.text() == "Choose at least one pair."
    dlg.pairs.all_button.click()
    dlg.period.start.setDate(dlg.period.end.date().addDays(3))
    dlg.run_button.click()
    assert dlg.job is None and "starts after it ends" in dlg.status.text()
    dlg.source.setCurrentIndex(dlg.source.findData(FILES))
    dlg.period.whole.setChecked(True)
    dlg.run_button.click()
    assert dlg.job is None and dlg.status.text() == "Choose history files first."


def test_simulated_runs_are_labelled_and_their_trades_too(qtbot, jobs):
    dlg = _explorer(qtbot, jobs)
    assert dlg.source_key() == SIMULATED
    dlg.sim_candles.setValue(8000)
    for b in dlg.pairs.boxes[1:]:
        b.setChecked(False)
    r = _run(qtbot, dlg)
    assert r["simulated"] and dlg.summary.text().count("SIMULATED") >= 1
    with qtbot.waitSignal(dlg.trade_selected, timeout=10_000) as sig:
        dlg.trade_view.selectRow(0)
    assert sig.args[0].source == "SIMULATED" and "SIMULATED" in dlg.trade_note.text()
    assert np.all(np.diff(sig.args[0].candles.time) > 0)
