"""The data manager against the fake Binance on 127.0.0.1: download with progress, what is on disk, an update that
adds only new candles, an unlisted pair reported, Cancel within a second leaving the files as they were."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate

from app.market.files import load_file
from app.market.simulated import generate
from app.settings import load
from app.ui.dialogs import DataManagerDialog
from app.ui.workers import JobManager
from tests.cancel_probe import stage_reached
from tests.conftest import RECORDINGS
from tests.fake_binance import FakeBinance

TF = 60_000
NOW = 1_730_000_000_000 - 1_730_000_000_000 % TF  # 2024-10-27


@pytest.fixture
def fake():
    start = NOW - 40_000 * TF
    g = generate(["BTC/USDT", "ETH/USDT"], "1m", 40_000, seed=8, start_ms=start)
    with FakeBinance(RECORDINGS, {"BTCUSDT": g["BTC/USDT"], "ETHUSDT": g["ETH/USDT"]}, NOW - 100 * TF) as srv:
        yield srv


def _dialog(qtbot, fake, folder, pairs="BTC/USDT", tfs=("1m",), days=2) -> DataManagerDialog:
    dlg = DataManagerDialog(JobManager(), load(), folder=folder, exchange_url=fake.url)
    qtbot.addWidget(dlg)
    dlg.open()
    dlg.symbols.setText(pairs)
    for tf, box in dlg.timeframes.items():
        box.setChecked(tf in tfs)
    since = QDate.fromString("2024-10-27", "yyyy-MM-dd").addDays(-days)
    dlg.since.setMaximumDate(QDate(2100, 1, 1))
    dlg.since.setDate(since)
    return dlg


def _download(qtbot, dlg):
    progress: list[float] = []
    dlg.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(dlg.job_done, timeout=60_000):
        dlg.run_button.click()
    return progress


def test_download_shows_progress_and_what_is_on_disk_then_updates(qtbot, qtmodeltester, fake, tmp_path):
    dlg = _dialog(qtbot, fake, tmp_path, "BTC/USDT, NOTACOIN/USDT", ("1m", "5m"))
    progress = _download(qtbot, dlg)
    assert len(set(progress)) > 3 and max(progress) == 1000
    rows = [dlg.on_disk.row_dict(i) for i in range(dlg.on_disk.rowCount())]
    assert [(r["symbol"], r["timeframe"]) for r in rows] == [("BTC/USDT", "1m"), ("BTC/USDT", "5m")]
    one = rows[0]
    c, _ = load_file(tmp_path / "BTC_USDT-1m.feather")
    assert (one["candles"], one["first"], one["last"], one["gaps_text"]) == (len(c), int(c.time[0]),
                                                                             int(c.time[-1]), "none")
    assert int(c.time[-1]) + TF <= fake.now_ms  # closed candles only
    last = [dlg.last_run.row_dict(i) for i in range(dlg.last_run.rowCount())]
    assert {r["note"] for r in last if r["symbol"] == "BTC/USDT"} == {"new file"}
    assert "NOTACOIN/USDT is not listed" in next(r["note"] for r in last if r["symbol"] == "NOTACOIN/USDT")
    assert "2 failed" in dlg.status.text()
    for model in (dlg.on_disk, dlg.last_run):
        qtmodeltester.check(model)
    fake.now_ms += 30 * TF
    dlg.symbols.setText("BTC/USDT")
    _download(qtbot, dlg)
    after, _ = load_file(tmp_path / "BTC_USDT-1m.feather")
    assert len(after) == len(c) + 30 and (after.time[:len(c)] == c.time).all()
    last = {(r["timeframe"]): r for r in (dlg.last_run.row_dict(i) for i in range(dlg.last_run.rowCount()))}
    assert last["1m"]["added"] == 30 and last["1m"]["note"] == "updated"
    assert dlg.status.text().startswith(f"{30 + last['5m']['added']:,} candles added in 2 files")


def test_select_everything_on_disk_fills_the_pairs_and_timeframes(qtbot, fake, tmp_path):
    dlg = _dialog(qtbot, fake, tmp_path, "ETH/USDT", ("15m",))
    _download(qtbot, dlg)
    dlg.symbols.setText("")
    dlg.timeframes["15m"].setChecked(False)
    dlg.select_all_on_disk()
    assert dlg.symbols.text() == "ETH/USDT" and [tf for tf, b in dlg.timeframes.items() if b.isChecked()] == ["15m"]


def test_bad_pairs_are_named_before_anything_runs(qtbot, fake, tmp_path):
    dlg = _dialog(qtbot, fake, tmp_path, "BTC/USDT, btc-usdt")
    dlg.run_button.click()
    assert dlg.job is None and dlg.status.text() == "Pairs: 'BTC-USDT' is not a pair like BTC/USDT."
    dlg.symbols.setText("BTC/USDT")
    for box in dlg.timeframes.values():
        box.setChecked(False)
    dlg.run_button.click()
    assert dlg.job is None and dlg.status.text() == "Timeframes: tick at least one."


def test_cancel_stops_within_a_second_and_keeps_the_files(qtbot, fake, tmp_path):
    dlg = _dialog(qtbot, fake, tmp_path, "ETH/USDT", ("1m",), days=1)
    _download(qtbot, dlg)
    before = (tmp_path / "ETH_USDT-1m.feather").read_bytes()
    dlg.symbols.setText("ETH/USDT, BTC/USDT")
    fake.now_ms += 10 * TF
    dlg.since.setDate(QDate(2024, 9, 15))  # BTC: ~40 pages of candles
    with stage_reached("download") as written:
        dlg.run_button.click()
        qtbot.waitUntil(written.is_set, timeout=30_000)  # ETH's update written; BTC is downloading
        qtbot.waitUntil(lambda: "BTC/USDT 1m: from" in dlg.status.text(), timeout=30_000)
        dlg.cancel_button.click()
        qtbot.waitUntil(lambda: dlg.job is None, timeout=5_000)
    assert dlg.cancel_latency_s is not None and dlg.cancel_latency_s < 1.0
    assert dlg.status.text() == dlg.cancelled_text
    assert not (tmp_path / "BTC_USDT-1m.feather").exists()
    eth, _ = load_file(tmp_path / "ETH_USDT-1m.feather")
    assert (tmp_path / "ETH_USDT-1m.feather").read_bytes() != before and eth.time[-1] + TF <= fake.now_ms
    qtbot.waitUntil(lambda: dlg.on_disk.rowCount() == 1, timeout=10_000)
