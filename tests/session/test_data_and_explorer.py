"""The data manager's and the explorer's session jobs: downloads against the fake Binance, symbol checks (exchange,
else files, else said), a backtest whose trades come back with the candles around them, finished runs, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import glob
from pathlib import Path

import numpy as np
import pytest

from app.errors import ExchangeError, ScalpDeskError
from app.market import history
from app.market.simulated import generate
from app.session import data, explorer, jobs
from app.storage.db import Database
from tests.conftest import REAL, RECORDINGS
from tests.fake_binance import FakeBinance
from tests.services.test_reporting import _fill

TF = 60_000
START = 1_700_000_000_000 - (1_700_000_000_000 % TF)
OFFLINE = "http://127.0.0.1:9"  # nothing listens there


@pytest.fixture
def fake():
    g = generate(["BTC/USDT", "ETH/USDT"], "1m", 4000, seed=5, start_ms=START)
    with FakeBinance(RECORDINGS, {"BTCUSDT": g["BTC/USDT"], "ETHUSDT": g["ETH/USDT"]}, START + 3000 * TF) as srv:
        yield srv


def test_download_goes_on_past_an_unlisted_pair_and_lists_the_files(fake, settings, tmp_path):
    req = data.DownloadRequest(("BTC/USDT", "NOTACOIN/USDT"), ("1m", "5m"), START + 1000 * TF, tmp_path, "binance",
                               fake.url)
    msgs: list[str] = []
    r = data.download(settings, req, jobs.Control(lambda f, m: msgs.append(m)))
    assert {(d["symbol"], d["timeframe"]) for d in r.downloads} == {("BTC/USDT", "1m"), ("BTC/USDT", "5m")}
    assert [(f["symbol"], f["timeframe"]) for f in r.failed] == [("NOTACOIN/USDT", "1m"), ("NOTACOIN/USDT", "5m")]
    assert "NOTACOIN/USDT is not listed" in r.failed[0]["error"]
    assert [(f["symbol"], f["timeframe"], f["candles"]) for f in r.files] == [("BTC/USDT", "1m", 2000),
                                                                             ("BTC/USDT", "5m", 400)]
    assert any("BTC/USDT 1m: from" in m for m in msgs)


def test_download_refuses_bad_input_and_stops_when_the_exchange_is_unreachable(settings, tmp_path):
    with pytest.raises(ScalpDeskError, match="'btcusdt' is not a pair like BTC/USDT"):
        data.download(settings, data.DownloadRequest(("btcusdt",), ("1m",), START, tmp_path))
    with pytest.raises(ScalpDeskError, match="at least one pair"):
        data.download(settings, data.DownloadRequest((), ("1m",), START, tmp_path))
    req = data.DownloadRequest(("BTC/USDT", "ETH/USDT"), ("1m",), START, tmp_path, "binance", OFFLINE)
    ctl = jobs.Control()
    import threading

    threading.Timer(3.0, ctl.cancel.set).start()  # the retries wait between tries; a cancel ends those waits
    with pytest.raises((ExchangeError, ScalpDeskError)):
        data.download(settings, req, ctl)
    assert list(tmp_path.iterdir()) == []


def test_symbols_are_checked_against_the_exchange_else_the_files_else_said(fake, settings, tmp_path):
    check = data.check_symbols(settings, ["BTC/USDT", "NOTACOIN/USDT", "btc-usdt"], exchange_url=fake.url,
                               folder=tmp_path)
    assert check.checked_against == "binance markets"
    assert check.unknown == ("NOTACOIN/USDT",) and check.malformed == ("btc-usdt",) and not check.ok
    offline = data.check_symbols(settings, ["BTC/USDT", "NOTACOIN/USDT"], exchange_url=OFFLINE, folder=tmp_path)
    assert offline.checked_against == "" and "could not load the market list of binance" in offline.note
    c = generate(["BTC/USDT"], "5m", 100, seed=1)["BTC/USDT"]
    history.write_candles(history.history_path(tmp_path, "BTC/USDT", "5m"), c)
    files = data.check_symbols(settings, ["BTC/USDT", "NOTACOIN/USDT"], exchange_url=OFFLINE, folder=tmp_path)
    assert files.checked_against.startswith("the history files") and files.unknown == ("NOTACOIN/USDT",)


def _request() -> jobs.BacktestRequest:
    files = tuple(sorted(glob.glob(str(REAL / "*-5m.feather"))))[:2]
    if files:
        return jobs.BacktestRequest(files=files, start_ms=1_717_200_000_000)  # June 2024 on
    return jobs.BacktestRequest(sim_candles=20_000, symbols=("BTC/USDT", "ETH/USDT"))


def test_explore_returns_the_result_the_trades_and_each_trade_with_its_candles(settings, tmp_path):
    db = tmp_path / "e.sqlite"
    ex = explorer.explore(settings, db, _request())
    r = ex.result
    assert r["verdict"] in ("PROFITABLE", "EDGE_BELOW_COSTS", "NO_EDGE", "WORSE_THAN_RANDOM")
    assert len(ex.trades) == r["stored_signals"] > 0
    assert np.all(np.diff(ex.trades.columns["signal_time"]) >= 0)
    head = ex.trades.columns["confluence_score"] >= ex.trades.min_score
    assert int(head.sum()) == r["signals"] and ex.trades.min_score == r["min_score"]
    i = int(np.flatnonzero(head)[len(np.flatnonzero(head)) // 2])
    ref = ex.trade(i)
    with Database(db) as d:
        row = dict(d.query("SELECT * FROM backtest_signals WHERE id = ?", (int(ex.trades.columns["id"][i]),))[0])
    assert (ref.symbol, ref.timeframe, ref.side, ref.signal_time, ref.exit_time, ref.outcome) == \
        (row["symbol"], row["timeframe"], row["side"], row["signal_time"], row["exit_time"], row["outcome"])
    assert (ref.entry, ref.stop_loss, ref.take_profit, ref.exit_price) == \
        (row["entry"], row["stop_loss"], row["take_profit"], row["exit_price"])
    c = ref.candles
    assert c.symbol == ref.symbol and c.time[0] < ref.signal_time and c.time[-1] > ref.exit_time
    assert ref.signal_time in c.time and ref.exit_time in c.time
    assert not np.shares_memory(c.close, ex.candles[(ref.symbol, ref.timeframe)].close)  # a copy, safe to keep
    runs = explorer.finished_runs(db)
    assert [x["id"] for x in runs] == [r["run_id"]] and runs[0]["verdict"] == r["verdict"]
    assert runs[0]["signals"] == r["signals"] and "5m" in runs[0]["timeframes"]


def test_csv_of_a_run_and_of_live_signals_has_iso_times_with_the_zone(settings, tmp_path):
    db = tmp_path / "c.sqlite"
    result = jobs.backtest(settings, db, jobs.BacktestRequest(sim_candles=6000, symbols=("BTC/USDT",)))
    out = jobs.export_csv(settings, db, jobs.ExportRequest(tmp_path / "run.csv", result.run_id))
    rows = list(csv.DictReader(Path(out["out"]).read_text(encoding="utf-8").splitlines()))
    assert out["rows"] == len(rows) == result.stored > 0
    first = rows[0]
    t = dt.datetime.fromisoformat(first["signal_time"])
    assert first["signal_time"].endswith("+00:00") and t.tzinfo is not None
    assert dt.datetime.fromisoformat(first["exit_time"]) > t
    _fill(db, 4)  # live signals, closed
    live = jobs.export_csv(settings, db, jobs.ExportRequest(tmp_path / "sub" / "live.csv"))
    rows = list(csv.DictReader(Path(live["out"]).read_text(encoding="utf-8").splitlines()))
    assert live["rows"] == len(rows) == 4
    assert rows[0]["signal_time"] == "2024-08-05T00:00:00+00:00"
    assert all(dt.datetime.fromisoformat(r["closed_at"]).tzinfo is not None for r in rows)
    assert all(r[k].endswith("+00:00") for r in rows for k in ("created_at", "closed_at"))
    with pytest.raises(ScalpDeskError, match="no backtest run 999"):
        jobs.export_csv(settings, db, jobs.ExportRequest(tmp_path / "x.csv", 999))
    assert not (tmp_path / "x.csv").exists()
