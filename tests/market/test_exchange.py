"""The real ccxt client against a fake Binance on 127.0.0.1 (recordings + generated candles)."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import ExchangeError
from app.market.exchange import ExchangeClient
from app.market.simulated import generate
from tests.conftest import RECORDINGS
from tests.fake_binance import FakeBinance

TF = 60_000
START = 1_700_000_000_000 - (1_700_000_000_000 % TF)


@pytest.fixture
def fake():
    data = generate(["BTC/USDT", "ETH/USDT"], "1m", 3000, seed=3, start_ms=START)
    candles = {"BTCUSDT": data["BTC/USDT"], "ETHUSDT": data["ETH/USDT"]}
    now = START + 2500 * TF + 25_000  # 25 s into candle 2500, which is still forming
    with FakeBinance(RECORDINGS, candles, now) as server:
        server.generated = data
        yield server


def client(fake: FakeBinance, **kw) -> ExchangeClient:
    kw.setdefault("sleep", lambda s: None)
    return ExchangeClient("binance", base_url=fake.url, **kw)


def test_history_pages_and_only_closed_candles(fake):
    c = client(fake).fetch_candles("BTC/USDT", "1m", since_ms=START + 100 * TF, page=500)
    ref = fake.generated["BTC/USDT"]
    assert len(c) == 2400  # candles 100..2499; 2500 is forming and must not appear
    assert c.time[0] == START + 100 * TF and c.time[-1] == START + 2499 * TF
    assert np.all(np.diff(c.time) == TF)
    np.testing.assert_allclose(c.close, ref.close[100:2500], rtol=1e-8)
    klines = [p for p in fake.requests if p.endswith("/klines")]
    assert len(klines) >= 5  # 2400 candles in pages of 500


def test_last_n_closed_candles(fake):
    c = client(fake).fetch_candles("ETH/USDT", "1m", limit=300)
    assert len(c) == 300
    assert c.time[-1] + TF <= fake.now_ms


@pytest.mark.parametrize("faults", [["500"], ["429"], ["429-retry-after"], ["malformed"], ["503", "truncated"],
                                    ["reset"]])
def test_faults_are_retried_then_succeed(fake, faults):
    cl = client(fake)
    cl.load_markets()
    fake.faults.extend(faults)
    c = cl.fetch_candles("BTC/USDT", "1m", limit=50)
    assert len(c) == 50
    assert cl.retry_count == len(faults)


def test_timeout_ends_in_a_clear_retryable_error(fake):
    cl = client(fake, timeout_ms=300, retries=1)
    cl.load_markets()
    fake.timeout_s = 1.0
    fake.faults.extend(["timeout", "timeout"])
    with pytest.raises(ExchangeError) as err:
        cl.fetch_candles("BTC/USDT", "1m", limit=10)
    assert err.value.retryable
    assert "did not answer in time" in str(err.value)


def test_persistent_server_errors_give_up_with_a_message(fake):
    cl = client(fake, retries=2)
    cl.load_markets()
    fake.faults.extend(["500"] * 3)
    with pytest.raises(ExchangeError, match=r"unavailable|failed after 3 tries"):
        cl.fetch_candles("BTC/USDT", "1m", limit=10)


def test_unlisted_symbol_is_named(fake):
    with pytest.raises(ExchangeError, match="SOL/USDT is not listed"):
        client(fake).fetch_candles("SOL/USDT", "1m", limit=10)


def test_unknown_exchange():
    with pytest.raises(ExchangeError, match="unknown exchange 'nosuchex'"):
        ExchangeClient("nosuchex")


def test_a_fresh_clone_gets_a_generated_market_list(tmp_path):
    """Without ../shared/data the fake exchange generates its markets: ccxt parses them and candles flow."""
    data = generate(["BTC/USDT", "SOL/USDT", "PEPE/USDT"], "1m", 600, seed=4, start_ms=START)
    candles = {s.replace("/", ""): c for s, c in data.items()}
    with FakeBinance(tmp_path / "no-such-folder", candles, START + 500 * TF + 1_000) as fake:
        assert fake.generated_markets
        cl = client(fake)
        assert {"BTC/USDT", "SOL/USDT", "PEPE/USDT"} <= set(cl.load_markets())
        c = cl.fetch_candles("PEPE/USDT", "1m", limit=100)
        assert len(c) == 100 and c.time[-1] == START + 499 * TF
        tickers = cl.fetch_tickers()
        assert tickers["SOL/USDT"]["quoteVolume"] > 0


def test_unreachable_exchange_fails_fast_once_and_says_so():
    """Markets are loaded once: an unreachable exchange costs one short try, then the same error at once (until its
    backoff ends), worded "could not reach <exchange>"."""
    import socket
    import time

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    cl = ExchangeClient("binance", base_url=f"http://127.0.0.1:{port}", sleep=lambda s: None)
    t0 = time.monotonic()
    for _ in range(5):
        with pytest.raises(ExchangeError, match=r"^could not reach binance: ") as err:
            cl.fetch_candles("BTC/USDT", "1m", limit=10)
        assert err.value.retryable
    assert time.monotonic() - t0 < 5
    assert cl.retry_count == 1  # one retry of the first load; the other four calls did not touch the network


def test_bad_timeframe_and_symbols_are_named(fake):
    cl = client(fake)
    with pytest.raises(ExchangeError, match="'2m' is not supported"):
        cl.check_timeframes(["1m", "2m"])
    cl.load_markets()
    with pytest.raises(ExchangeError, match="does not list DOGE/USDT, FOO/USDT"):
        cl.check_symbols(["BTC/USDT", "DOGE/USDT", "FOO/USDT"])
