"""Candlestick patterns with TA-Lib's CDL functions.

TA-Lib returns +100 (bullish), -100 (bearish) or 0 per candle (some +/-200 for confirmed variants).
Neutral patterns (indecision, e.g. doji) count for both sides.
"""

from __future__ import annotations

import numpy as np
import talib

KNOWN_PATTERNS: frozenset[str] = frozenset(talib.get_function_groups()["Pattern Recognition"])
NEUTRAL_PATTERNS: frozenset[str] = frozenset({
    "CDLDOJI", "CDLSPINNINGTOP", "CDLHIGHWAVE", "CDLLONGLEGGEDDOJI", "CDLRICKSHAWMAN", "CDLSHORTLINE",
    "CDLLONGLINE", "CDLMARUBOZU",
})


def detect(names: list[str] | tuple[str, ...], o: np.ndarray, h: np.ndarray, lo: np.ndarray,
           c: np.ndarray) -> dict[str, np.ndarray]:
    """Per pattern an int8 array: +1 bullish, -1 bearish, 0 none (neutral patterns give +1 when seen)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name not in KNOWN_PATTERNS:
            raise ValueError(f"unknown candlestick pattern '{name}' (expected a TA-Lib CDL function name)")
        raw = getattr(talib, name)(o, h, lo, c)
        out[name] = np.sign(raw).astype(np.int8)
    return out


def directional(name: str, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bullish, bearish) boolean arrays for one pattern's flags."""
    if name in NEUTRAL_PATTERNS:
        seen = flags != 0
        return seen, seen
    return flags > 0, flags < 0
