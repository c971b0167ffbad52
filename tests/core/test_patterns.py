"""Candlestick patterns on hand-made candles."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.patterns import NEUTRAL_PATTERNS, detect


def _base(n=30):
    """Quiet alternating candles so TA-Lib's body-size averages have a history."""
    o = np.full(n, 100.0)
    c = np.where(np.arange(n) % 2 == 0, 100.5, 99.5)
    h = np.maximum(o, c) + 0.2
    lo = np.minimum(o, c) - 0.2
    return [list(x) for x in (o, h, lo, c)]


def _with(rows):
    o, h, lo, c = _base()
    for ro, rh, rl, rc in rows:
        o.append(ro)
        h.append(rh)
        lo.append(rl)
        c.append(rc)
    return tuple(np.array(x, dtype=float) for x in (o, h, lo, c))


def test_bullish_engulfing():
    o, h, lo, c = _with([(101.0, 101.2, 98.8, 99.0), (98.8, 102.2, 98.6, 102.0)])
    flags = detect(["CDLENGULFING"], o, h, lo, c)["CDLENGULFING"]
    assert flags[-1] > 0
    assert np.all(flags[:-1] == 0)


def test_bearish_engulfing():
    o, h, lo, c = _with([(99.0, 101.2, 98.8, 101.0), (101.2, 101.4, 97.8, 98.0)])
    assert detect(["CDLENGULFING"], o, h, lo, c)["CDLENGULFING"][-1] < 0


def test_doji_is_neutral():
    o, h, lo, c = _with([(100.0, 101.5, 98.5, 100.01)])
    flags = detect(["CDLDOJI"], o, h, lo, c)["CDLDOJI"]
    assert flags[-1] != 0
    assert "CDLDOJI" in NEUTRAL_PATTERNS  # counted for both sides by the score


def test_three_white_soldiers():
    o, h, lo, c = _with([(100.0, 101.55, 99.95, 101.5), (101.0, 103.05, 100.95, 103.0),
                         (102.5, 104.55, 102.45, 104.5)])
    assert detect(["CDL3WHITESOLDIERS"], o, h, lo, c)["CDL3WHITESOLDIERS"][-1] > 0


def test_unknown_pattern_is_rejected():
    o, h, lo, c = _with([])
    with pytest.raises(ValueError, match="CDLNOPE"):
        detect(["CDLNOPE"], o, h, lo, c)


def test_patterns_on_a_tail_window_equal_full_history():
    from app.core.signals import compute_patterns
    from app.market.simulated import generate

    c = generate(["X/USDT"], "5m", 3000, seed=8)["X/USDT"]
    names = ("CDLENGULFING", "CDLHAMMER", "CDLMORNINGSTAR", "CDL3WHITESOLDIERS", "CDLDOJI", "CDLHARAMI",
             "CDLPIERCING", "CDLDARKCLOUDCOVER", "CDLEVENINGSTAR", "CDL3BLACKCROWS", "CDLSHOOTINGSTAR",
             "CDLINVERTEDHAMMER")
    full = compute_patterns(c, names)
    for start in (2990, 2500, 37):
        part = compute_patterns(c, names, start=start)
        for name in names:
            np.testing.assert_array_equal(part[name], full[name][start:], err_msg=name)
    assert sum(int((full[n] != 0).sum()) for n in names) > 300


def test_static_pattern_names_match_talib():
    import talib

    from app.core.pattern_names import CDL_NAMES

    assert set(talib.get_function_groups()["Pattern Recognition"]) == CDL_NAMES
