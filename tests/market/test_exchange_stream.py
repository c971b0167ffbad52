"""The streaming exchange source: the real ccxt.pro client against the fake Binance (REST + websocket) on 127.0.0.1,
with generated markets and candles (no ../shared/data needed)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.errors import ScalpDeskError
from app.market.exchange_stream import ExchangeStream, streaming_support
from tests.stream_harness import START, TF, Exchange, market

T0 = START + 400 * TF + 25_000


def until(cond, timeout: float = 20.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out: {what}")


def stream(ex: Exchange, symbols, **kw) -> ExchangeStream:
    kw.setdefault("history", 300)
    return ExchangeStream("binance", symbols, kw.pop("timeframes", ["1m"]), base_url=ex.rest.url, ws_url=ex.ws.url,
                          clock_ms=ex.clock, **kw)


@pytest.fixture
def data():
    return market(4, 600, seed=3)


def test_streamed_candles_are_the_exchanges_closed_candles_and_prices_carry_bid_and_ask(data):
    with Exchange(data, T0) as ex:
        src = stream(ex, sorted(data))
        try:
            until(lambda: src.connection().state == "connected" and len(ex.ws.subscribed()) == 8, what="connect")
            until(lambda: all(len(src.fetch(s, "1m", 300)) == 300 for s in data), what="history")
            end = T0 + 5 * TF
            while ex.now_ms < end:
                ex.ws.advance(ex.now_ms + 5_000)
                time.sleep(0.01)
            last = (end // TF) * TF - TF
            until(lambda: all(src.fetch(s, "1m", 1).time[-1] == last for s in data), what="the last close")
            for sym, ref in data.items():
                got = src.fetch(sym, "1m", 300)
                i = int(np.searchsorted(ref.time, got.time[0]))
                for col in ("time", "open", "high", "low", "close", "volume"):
                    assert np.array_equal(getattr(got, col), getattr(ref, col)[i:i + 300]), (sym, col)
            assert src.stats()["closed_stream"] >= 4 * 4  # the closes came over the websocket
            quotes = src.quotes()
            assert set(quotes) == set(data)
            q = quotes["BTC/USDT"]
            assert q.bid is not None and q.ask is not None and q.bid < q.ask
            assert q.exit_price(1) == q.bid and q.exit_price(-1) == q.ask
            state = src.connection()
            assert state.state == "connected" and "4 symbols" in state.detail and state.problems == {}
        finally:
            src.close()


def test_a_closed_candle_wakes_the_reader(data):
    with Exchange(data, T0) as ex:
        src = stream(ex, ["BTC/USDT"])
        try:
            until(lambda: len(src.fetch("BTC/USDT", "1m", 10)) == 10 and len(ex.ws.subscribed()) == 2)
            src.mark_seen()
            assert not src.wait_for_update(0.2)  # nothing closed
            ex.ws.advance(ex.now_ms + 20_000)  # forming updates only
            assert not src.wait_for_update(0.2)
            ex.ws.advance((ex.now_ms // TF + 1) * TF + 100)  # the close
            t0 = time.monotonic()
            assert src.wait_for_update(5.0)
            assert time.monotonic() - t0 < 1.0
        finally:
            src.close()


def test_bad_input_is_named_before_anything_starts(data):
    with Exchange(data, T0) as ex:
        with pytest.raises(ScalpDeskError, match="does not list FOO/USDT"):
            stream(ex, ["BTC/USDT", "FOO/USDT"])
        with pytest.raises(ScalpDeskError, match="timeframe '2m' is not supported"):
            stream(ex, ["BTC/USDT"], timeframes=["1m", "2m"])
        with pytest.raises(ScalpDeskError, match="unknown exchange 'nosuchex'"):
            ExchangeStream("nosuchex", ["BTC/USDT"], ["1m"])
        with pytest.raises(ScalpDeskError, match="'everything' is not one of"):
            stream(ex, ["BTC/USDT"], universe="everything")
        assert ex.ws.counts["connections"] == 0  # nothing connected


def test_an_exchange_without_streaming_is_polled_and_says_why(data):
    ok, reason = streaming_support("bitstamp")
    assert not ok and "bitstamp" in reason
    with Exchange(data, T0) as ex:
        src = stream(ex, ["ETH/USDT"], streaming=False, grace_s=1.0)
        try:
            state = src.connection()
            assert state.state == "polling" and "polling was asked for" in state.detail
            until(lambda: len(src.fetch("ETH/USDT", "1m", 300)) == 300, what="history")
            before = int(src.fetch("ETH/USDT", "1m", 1).time[-1])
            ex.rest.now_ms += 2 * TF
            until(lambda: int(src.fetch("ETH/USDT", "1m", 1).time[-1]) == before + 2 * TF, what="polled candles")
            assert ex.ws.counts["connections"] == 0
        finally:
            src.close()


def test_offline_at_start_is_a_state_then_it_connects(data):
    with Exchange(data, T0) as ex:
        ex.ws.outage(True)
        src = stream(ex, ["BTC/USDT"], backoff_s=0.2, max_backoff_s=0.5)
        try:
            state = src.connection()
            assert state.state == "offline" and state.detail.startswith("could not reach binance")
            assert src.symbols() == [] and len(src.fetch("BTC/USDT", "1m", 10)) == 0
            ex.ws.outage(False)
            until(lambda: src.connection().state == "connected", what="connected after the outage")
            until(lambda: len(src.fetch("BTC/USDT", "1m", 300)) == 300, what="history")
        finally:
            src.close()


def test_a_refused_symbol_is_reported_and_polled_while_the_others_stream(data):
    with Exchange(data, T0) as ex:
        ex.ws.refuse = {"ETHUSDT"}
        src = stream(ex, sorted(data), grace_s=2.0)
        try:
            others = {f"{s.replace('/', '').lower()}@kline_1m" for s in data if s != "ETH/USDT"}
            until(lambda: others <= ex.ws.subscribed(), what="the other subscriptions")
            until(lambda: "ETH/USDT 1m" in src.connection().problems, what="the refusal reported")
            assert "refused" in src.connection().problems["ETH/USDT 1m"]
            until(lambda: all(len(src.fetch(s, "1m", 300)) == 300 for s in data), what="history")
            end = T0 + 3 * TF
            while ex.now_ms < end:
                ex.ws.advance(ex.now_ms + 5_000)
                time.sleep(0.01)
            last = (end // TF) * TF - TF
            until(lambda: all(src.fetch(s, "1m", 1).time[-1] == last for s in data), what="every symbol's candles")
            assert not any(s.startswith("ethusdt") for s in ex.ws.subscribed())
        finally:
            src.close()


def test_top_volume_universe_from_the_exchange_tickers(data):
    extra = {"USDCUSDT": {"base": "USDC", "quote": "USDT", "quote_volume": 9e12, "last": 1.0},
             "BTCUPUSDT": {"base": "BTCUP", "quote": "USDT", "quote_volume": 8e12, "last": 5.0}}
    with Exchange(data, T0, extra_markets=extra) as ex:
        src = stream(ex, [], universe="top_volume", top_n=3)
        try:
            # the fake's 24 h quote volume: the candles closed by now (400 of them here)
            volume = {s: float(np.sum(c.close[:400] * c.volume[:400])) for s, c in data.items()}
            assert src.symbols() == sorted(volume, key=lambda s: -volume[s])[:3]  # no USDC/USDT, no BTCUP/USDT
        finally:
            src.close()


def test_several_timeframes_at_once(data):
    from tests.fake_binance import resample

    with Exchange(data, START + 400 * TF + 25_000) as ex:
        src = stream(ex, ["BTC/USDT", "SOL/USDT"], timeframes=["1m", "5m"], history=60)
        try:
            until(lambda: len(ex.ws.subscribed()) == 6, what="kline 1m, kline 5m and book ticker streams")
            until(lambda: all(len(src.fetch(s, tf, 60)) == 60 for s in ("BTC/USDT", "SOL/USDT")
                              for tf in ("1m", "5m")), what="history")
            end = START + 411 * TF
            while ex.now_ms < end:
                ex.ws.advance(ex.now_ms + 5_000)
                time.sleep(0.01)
            five = 5 * TF
            until(lambda: src.fetch("SOL/USDT", "5m", 1).time[-1] == end // five * five - five and
                  src.fetch("SOL/USDT", "1m", 1).time[-1] == end - TF, what="the closes of both")
            ref = resample(data["SOL/USDT"], "5m")
            got = src.fetch("SOL/USDT", "5m", 60)
            i = int(np.searchsorted(ref.time, got.time[0]))
            assert np.array_equal(got.close, ref.close[i:i + 60]) and np.array_equal(got.high, ref.high[i:i + 60])
            assert src.stats()["closed_stream"] >= 2 * 10 + 2 * 2  # 1m and 5m closes came over the websocket
        finally:
            src.close()
