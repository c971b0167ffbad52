"""The watchlist rows: every watched pair, its price from the quote when the source has one (else the last close,
said so), changes over the session and 24 h from the candles, the score the scanner gives its latest closed candle,
the time since its last signal; scores recomputed only when a candle closed."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.candles import Candles
from app.core.signals import analyse, find_signals
from app.market.simulated import generate
from app.market.sources import Quote
from app.services.live.tracker import Event
from app.services.live.watchlist import DAY_MS, Watchlist, day_back, score_feeds, watch_rows

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


@pytest.fixture(scope="module")
def buffers():
    data = generate(SYMBOLS, "5m", 1200, seed=5)
    return {(s, "5m"): c for s, c in data.items()}


def test_scores_are_the_scanners_scores_of_the_latest_closed_candle(buffers, engine_cfg):
    scored = score_feeds(list(buffers), buffers, engine_cfg)
    for feed, c in buffers.items():
        an = analyse(c, engine_cfg, tail=1)
        best = max(float(an.long.score[-1]), float(an.short.score[-1]))
        assert scored[feed].score == pytest.approx(best)
        assert scored[feed].candle_time == int(c.time[-1])
    # where the scanner fires on that candle, the signal's score is the watchlist's score
    c = buffers[("BTC/USDT", "5m")]
    batch = find_signals(c, engine_cfg)
    k = int(batch.index[-1])
    cut = c.slice(0, k + 1)
    s = score_feeds([("BTC/USDT", "5m")], {("BTC/USDT", "5m"): cut}, engine_cfg)[("BTC/USDT", "5m")]
    assert s.score == pytest.approx(float(batch.score[-1]))
    assert s.side == ("LONG" if batch.side[-1] > 0 else "SHORT")


def test_a_score_is_recomputed_only_when_a_candle_closed(buffers, engine_cfg):
    wl = Watchlist()
    short = {f: c.slice(0, len(c) - 1) for f, c in buffers.items()}
    wl.update(SYMBOLS, "5m", short, engine_cfg)
    assert wl.scored_feeds == 3
    wl.update(SYMBOLS, "5m", short, engine_cfg)
    assert wl.scored_feeds == 3  # nothing closed: nothing scored
    grown = dict(short)
    grown[("ETH/USDT", "5m")] = buffers[("ETH/USDT", "5m")]
    wl.update(SYMBOLS, "5m", grown, engine_cfg)
    assert wl.scored_feeds == 4


def test_rows_use_quotes_when_the_source_has_them_and_say_so_when_not(buffers, engine_cfg):
    wl = Watchlist()
    wl.update(SYMBOLS, "5m", buffers, engine_cfg)
    btc = buffers[("BTC/USDT", "5m")]
    q = Quote("ETH/USDT", 2500.0, int(btc.time[-1]), bid=2499.5, ask=2500.5)
    rows = {r.symbol: r for r in wl.rows(SYMBOLS, "5m", buffers, {"ETH/USDT": q}, {"SOL/USDT": 2})}
    assert list(rows) == SYMBOLS
    assert rows["BTC/USDT"].last == float(btc.close[-1]) and not rows["BTC/USDT"].live_price
    assert rows["BTC/USDT"].spread_pct is None
    assert rows["ETH/USDT"].live_price and rows["ETH/USDT"].last == 2500.0
    assert rows["ETH/USDT"].spread_pct == pytest.approx(1.0 / 2499.5 * 100)
    assert rows["SOL/USDT"].open_signals == 2 and rows["BTC/USDT"].open_signals == 0
    assert rows["BTC/USDT"].change_session_pct == 0.0  # the session's first price is this one
    assert rows["BTC/USDT"].tick > 0


def test_change_over_24h_from_the_candle_that_closed_a_day_ago():
    n = 400
    t = np.arange(n, dtype=np.int64) * 300_000
    close = np.linspace(100.0, 140.0, n)
    c = Candles.from_arrays("X/USDT", "5m", t, close, close, close, close, np.ones(n))
    ref = n - 1 - DAY_MS // 300_000  # 288 candles back
    change, volume = day_back(c, float(close[-1]))
    assert change == pytest.approx((close[-1] / close[ref] - 1) * 100)
    assert volume == pytest.approx(float(np.sum(close[ref + 1:])))
    assert day_back(c.slice(n - 100), 140.0) == (None, None)  # fewer than 24 h of candles: no figure


def test_time_since_the_last_signal_follows_the_trackers_events(buffers, engine_cfg):
    wl = Watchlist(last_signal={"BTC/USDT": 1_000})
    wl.on_event(Event("signal_opened", {"symbol": "SOL/USDT", "timeframe": "5m", "signal_time": 600_000}))
    wl.on_event(Event("signal_closed", {"symbol": "BTC/USDT"}))
    rows = {r.symbol: r for r in watch_rows(SYMBOLS, "5m", buffers, {}, {}, {}, wl.last_signal, {}, {})}
    assert rows["SOL/USDT"].last_signal_ms == 900_000  # the close of the signal candle
    assert rows["BTC/USDT"].last_signal_ms == 1_000 and rows["ETH/USDT"].last_signal_ms is None


def test_the_exchanges_tick_size_wins_over_the_inferred_one(buffers, engine_cfg):
    wl = Watchlist(tick_of=lambda symbol: 0.5 if symbol == "BTC/USDT" else None)
    wl.update(SYMBOLS, "5m", buffers, engine_cfg)
    assert wl.ticks["BTC/USDT"] == 0.5
    assert wl.ticks["ETH/USDT"] == pytest.approx(0.01)  # simulated floats near 2,500: six significant digits
