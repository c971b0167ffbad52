"""Score bounds and monotonicity."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.confluence import Weights
from app.core.signals import EngineConfig, analyse
from app.market.simulated import generate


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), w=st.lists(st.floats(0, 100), min_size=5, max_size=5),
       pts=st.floats(0, 25))
def test_scores_stay_within_0_and_100(seed, w, pts):
    c = generate(["X/USDT"], "5m", 600, seed=seed)["X/USDT"]
    base = EngineConfig()
    cfg = dataclasses.replace(base, weights=Weights(*w) if sum(w) > 0 else Weights(),
                              pattern_points=(("CDLENGULFING", pts), ("CDLDOJI", pts), ("CDLHAMMER", pts)))
    an = analyse(c, cfg)
    for side in (an.long, an.short):
        assert np.all(side.score >= 0) and np.all(side.score <= 100)
        assert np.all(side.components >= -1e-12)


def test_more_pattern_points_never_lower_a_score(sim_candles):
    c = sim_candles["BTC/USDT"]
    names = ("CDLENGULFING", "CDLDOJI", "CDLHARAMI", "CDLHAMMER", "CDLSHOOTINGSTAR")
    low = EngineConfig(pattern_points=tuple((n, 2.0) for n in names))
    high = EngineConfig(pattern_points=tuple((n, 12.0) for n in names))
    a, b = analyse(c, low), analyse(c, high)
    assert np.all(b.long.score >= a.long.score - 1e-9)
    assert np.all(b.short.score >= a.short.score - 1e-9)
    seen = a.long.patterns.any(axis=0)
    assert seen.sum() > 10  # the test exercises candles with patterns
    assert np.all(b.long.score[seen] > a.long.score[seen] - 1e-9)
    assert np.any(b.long.score[seen] > a.long.score[seen])


def test_pattern_component_is_capped_at_its_weight(sim_candles):
    c = sim_candles["ETH/USDT"]
    cfg = EngineConfig(pattern_points=(("CDLDOJI", 25.0), ("CDLENGULFING", 25.0), ("CDLHARAMI", 25.0)))
    an = analyse(c, cfg)
    assert an.long.components[4].max() <= 25.0 + 1e-9


def test_a_stronger_uptrend_scores_higher_long():
    """Monotone in evidence: the same candles with a steeper rise give a higher LONG trend component."""
    n = 400
    t = 1_704_067_200_000 + np.arange(n, dtype=np.int64) * 300_000
    from app.core.candles import Candles

    def series(slope):
        rng = np.random.default_rng(0)
        c = 100 * np.exp(np.cumsum(slope + rng.normal(0, 0.002, n)))
        o = np.r_[100.0, c[:-1]]
        return Candles.from_arrays("X/USDT", "5m", t, o, np.maximum(o, c) * 1.001, np.minimum(o, c) * 0.999, c,
                                   np.full(n, 10.0))

    flat, up = analyse(series(0.0), EngineConfig()), analyse(series(0.002), EngineConfig())
    assert up.long.components[0, -50:].mean() > flat.long.components[0, -50:].mean()
    assert up.long.score[-50:].mean() > up.short.score[-50:].mean()
