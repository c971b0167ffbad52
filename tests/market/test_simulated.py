"""The simulated market: reproducible, correlated, clustered volatility, fat tails, daily volume cycle."""

from __future__ import annotations

import numpy as np

from app.market.simulated import SimulatedMarket, generate

SYMS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_same_seed_same_candles_other_seed_other_candles():
    a = generate(SYMS, "1m", 2000, seed=4)
    b = generate(SYMS, "1m", 2000, seed=4)
    c = generate(SYMS, "1m", 2000, seed=5)
    np.testing.assert_array_equal(a["ETH/USDT"].close, b["ETH/USDT"].close)
    assert not np.allclose(a["ETH/USDT"].close, c["ETH/USDT"].close)


def test_candles_are_valid_ohlc():
    d = generate(SYMS, "5m", 5000, seed=1)["SOL/USDT"]
    assert np.all(d.high >= np.maximum(d.open, d.close)) and np.all(d.low <= np.minimum(d.open, d.close))
    assert np.all(d.volume > 0) and np.all(np.diff(d.time) == 300_000)


def test_stylised_facts():
    d = generate(SYMS, "1m", 200_000, seed=2)
    r = {s: np.diff(np.log(d[s].close)) for s in SYMS}
    corr = np.corrcoef(r["BTC/USDT"], r["ETH/USDT"])[0, 1]
    assert 0.3 < corr < 0.9  # correlated symbols
    x = r["BTC/USDT"]
    kurt = np.mean((x - x.mean()) ** 4) / np.var(x) ** 2
    assert kurt > 4.0  # fat tails (a normal distribution has 3)
    a = np.abs(x)
    ac = np.corrcoef(a[:-10], a[10:])[0, 1]
    assert ac > 0.1  # volatility clustering: |returns| stay correlated
    hours = (d["BTC/USDT"].time // 3_600_000) % 24
    v = d["BTC/USDT"].volume
    assert v[hours == 15].mean() > 1.5 * v[hours == 3].mean()  # busier in the afternoon (UTC)


def test_market_shows_only_closed_candles():
    now = 1_750_000_000_000 + 20_000
    m = SimulatedMarket(SYMS, "1m", seed=3, history=500, now_ms=now)
    c = m.candles("BTC/USDT", now, 300)
    assert len(c) == 300 and c.time[-1] + 60_000 <= now
    later = m.candles("BTC/USDT", now + 120_000, 300)
    assert later.time[-1] == c.time[-1] + 120_000
