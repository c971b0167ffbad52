"""Candlestick patterns with TA-Lib's CDL functions.

TA-Lib returns +100 (bullish), -100 (bearish) or 0 per candle (some +/-200 for confirmed variants).
Neutral patterns (indecision, e.g. doji) count for both sides. A pattern at candle i reads only the
candles i - lookback .. i (its own candles plus TA-Lib's body/shadow averaging periods), so a scan
that needs the last few candles computes on that window alone and gets the same values.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import talib

from app.core.talib_raw import ta

_groups = getattr(talib, "get_function_groups")  # noqa: B009 (talib's functions are untyped)
KNOWN_PATTERNS: frozenset[str] = frozenset(_groups()["Pattern Recognition"])
NEUTRAL_PATTERNS: frozenset[str] = frozenset({
    "CDLDOJI", "CDLSPINNINGTOP", "CDLHIGHWAVE", "CDLLONGLEGGEDDOJI", "CDLRICKSHAWMAN", "CDLSHORTLINE",
    "CDLLONGLINE", "CDLMARUBOZU",
})


@cache
def lookback(name: str) -> int:
    from talib import abstract

    return int(abstract.Function(name).lookback)  # type: ignore[attr-defined]


@cache
def max_lookback(names: tuple[str, ...]) -> int:
    return max((lookback(n) for n in names), default=0)


def detect(names: list[str] | tuple[str, ...], o: np.ndarray, h: np.ndarray, lo: np.ndarray,
           c: np.ndarray) -> dict[str, np.ndarray]:
    """Per pattern TA-Lib's int array: > 0 bullish, < 0 bearish, 0 none (neutral patterns > 0 when seen)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name not in KNOWN_PATTERNS:
            raise ValueError(f"unknown candlestick pattern '{name}' (expected a TA-Lib CDL function name)")
        out[name] = getattr(ta, name)(o, h, lo, c)
    return out
