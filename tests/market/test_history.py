"""Exchange history on disk: downloaded through the real ccxt client from the fake Binance on 127.0.0.1, stored as
freqtrade's feather, updated by appending only new candles, and cancelled without touching the files."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from app.core.candles import Candles
from app.errors import CancelledError
from app.market import history
from app.market.exchange import ExchangeClient
from app.market.files import load_file
from app.market.simulated import generate
from tests.conftest import RECORDINGS
from tests.fake_binance import FakeBinance

TF = 60_000
START = 1_700_000_000_000 - (1_700_000_000_000 % TF)


@pytest.fixture
def fake():
    data = generate(["BTC/USDT", "ETH/USDT"], "1m", 6000, seed=3, start_ms=START)
    with FakeBinance(RECORDINGS, {"BTCUSDT": data["BTC/USDT"], "ETHUSDT": data["ETH/USDT"]},
                     START + 3000 * TF + 25_000) as server:
        server.generated = data
        server.starts = []
        klines = server.klines

        def recording(symbol, interval, start, limit):
            server.starts.append(start)
            return klines(symbol, interval, start, limit)

        server.klines = recording
        yield server


def client(fake: FakeBinance) -> ExchangeClient:
    return ExchangeClient("binance", base_url=fake.url, sleep=lambda s: None)


def test_download_writes_closed_candles_as_freqtrade_feather(fake, tmp_path):
    report = history.download(client(fake), tmp_path, "BTC/USDT", "1m", START + 500 * TF)
    path = tmp_path / "BTC_USDT-1m.feather"
    assert report.path == path and not report.updated
    frame = pd.read_feather(path)
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    c, _ = load_file(path)
    assert (c.symbol, c.timeframe) == ("BTC/USDT", "1m")
    assert report.added == len(c) == 2500  # candles 500..2999; 3000 is still forming
    assert c.time[0] == START + 500 * TF and c.time[-1] == START + 2999 * TF
    np.testing.assert_allclose(c.close, fake.generated["BTC/USDT"].close[500:3000], rtol=1e-8)
    assert len([s for s in fake.starts]) >= 3  # pages of 1000


def test_update_appends_only_new_candles(fake, tmp_path):
    history.download(client(fake), tmp_path, "BTC/USDT", "1m", START + 500 * TF)
    before, _ = load_file(tmp_path / "BTC_USDT-1m.feather")
    fake.starts.clear()
    fake.now_ms += 120 * TF
    report = history.download(client(fake), tmp_path, "BTC/USDT", "1m", START)  # an earlier 'from' is ignored
    after, _ = load_file(tmp_path / "BTC_USDT-1m.feather")
    assert report.updated and report.added == 120 and len(after) == len(before) + 120
    assert fake.starts and min(fake.starts) == int(before.time[-1]) + TF  # nothing old was asked for again
    np.testing.assert_array_equal(after.time[:len(before)], before.time)
    np.testing.assert_array_equal(after.close[:len(before)], before.close)
    assert np.all(np.diff(after.time) == TF)
    again = history.download(client(fake), tmp_path, "BTC/USDT", "1m", START)
    assert again.added == 0 and again.candles == len(after)


def test_cancel_leaves_the_file_as_it_was(fake, tmp_path):
    history.download(client(fake), tmp_path, "ETH/USDT", "1m", START + 2000 * TF)
    path = tmp_path / "ETH_USDT-1m.feather"
    stamp = path.read_bytes()
    fake.now_ms += 2500 * TF
    pages = []

    def check():
        if len(pages) >= 1:
            raise CancelledError("cancelled")

    with pytest.raises(CancelledError):
        history.download(client(fake), tmp_path, "ETH/USDT", "1m", START, progress=lambda f, m: pages.append(m),
                         check=check)
    assert path.read_bytes() == stamp
    with pytest.raises(CancelledError):
        history.download(client(fake), tmp_path, "BTC/USDT", "1m", START, check=check)
    assert not (tmp_path / "BTC_USDT-1m.feather").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ETH_USDT-1m.feather"]  # no temporary file left


def test_inventory_reports_span_count_and_gaps(tmp_path):
    c = generate(["SOL/USDT"], "5m", 1000, seed=1, start_ms=START)["SOL/USDT"]
    keep = np.r_[0:300, 310:700, 703:1000]  # two holes: 10 and 3 candles missing
    history.write_candles(tmp_path / "SOL_USDT-5m.feather", c.take(keep))
    history.write_candles(tmp_path / "SOL_USDT-1h.feather", Candles.from_arrays(
        "SOL/USDT", "1h", np.array([START]), *[np.array([1.0])] * 5))
    (tmp_path / "XRP_USDT-5m.feather").write_bytes(b"not arrow")
    rows = history.inventory(tmp_path)
    assert [(h.symbol, h.timeframe) for h in rows] == [("SOL/USDT", "5m"), ("SOL/USDT", "1h"), ("XRP/USDT", "5m")]
    sol = rows[0]
    assert sol.candles == len(keep) and sol.first_ms == START and sol.last_ms == START + 999 * 300_000
    assert (sol.gaps, sol.missing) == (2, 13)
    assert rows[2].error.startswith("not readable") and rows[2].candles == 0
    assert history.inventory(tmp_path / "absent") == []


def test_concurrent_reader_never_sees_half_a_file(tmp_path):
    c = generate(["BTC/USDT"], "1m", 50_000, seed=2, start_ms=START)["BTC/USDT"]
    path = tmp_path / "BTC_USDT-1m.feather"
    history.write_candles(path, c.slice(0, 1000))
    stop = threading.Event()
    seen: list[int] = []

    def reader():
        while not stop.is_set():
            seen.append(len(load_file(path)[0]))

    t = threading.Thread(target=reader)
    t.start()
    for n in (20_000, 50_000, 30_000):
        history.write_candles(path, c.slice(0, n))
    stop.set()
    t.join()
    assert set(seen) <= {1000, 20_000, 50_000, 30_000}
