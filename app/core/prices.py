"""Prices shown in a pair's own tick size, volumes in K/M/B.

An exchange states each pair's tick size in its market data; for files and the simulated market the tick is
inferred from the prices themselves: the fewest decimals that write every recent price exactly (real candles are
decimal prices stored as floats). Prices with no short decimal form (a simulated market's random floats) get the
decimals that give them six significant digits. Entry, stop and target are then written with the same decimals,
so "64032" never stands beside "64294.4".
"""

from __future__ import annotations

import math

import numpy as np

MAX_DECIMALS = 10
SIGNIFICANT = 6  # for prices without a short decimal form
_SAMPLE = 2000  # recent prices read to infer a tick


def infer_tick(prices: np.ndarray) -> float:
    """The tick size the prices are written in (10**-decimals)."""
    p = np.asarray(prices, dtype=np.float64).ravel()
    p = p[np.isfinite(p) & (p > 0)][-_SAMPLE:]
    if len(p) == 0:
        return 0.01
    for d in range(MAX_DECIMALS + 1):
        scaled = p * 10.0 ** d
        whole = np.round(scaled)
        if np.all(whole >= 1.0) and np.all(np.abs(scaled - whole) <= 1e-3):  # whole ticks, up to float error
            return float(10.0 ** -d)
    magnitude = math.floor(math.log10(float(np.median(p))))
    return float(10.0 ** -min(MAX_DECIMALS, max(0, SIGNIFICANT - 1 - magnitude)))


def decimals(tick: float) -> int:
    """Decimals a price in this tick size needs (0.01 -> 2, 0.5 -> 1, 0.25 -> 2, 5 -> 0)."""
    if not tick or not math.isfinite(tick) or tick <= 0:
        return 2
    for d in range(MAX_DECIMALS + 1):
        x = tick * 10.0 ** d
        if x >= 1.0 - 1e-9 and abs(x - round(x)) <= 1e-6 * x:
            return d
    return MAX_DECIMALS


def format_price(value: float | None, tick: float) -> str:
    """A price with the tick's decimals ("" for none), never in exponent notation."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{decimals(tick)}f}"


def format_volume(value: float | None) -> str:
    """1234 -> 1.23K, 999999 -> 1M, 6.1e11 -> 610B; under 1,000 up to three significant digits."""
    if value is None or not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    a = abs(value)
    if a < 0.001:
        return f"{value:.2e}"
    for size, suffix in ((1.0, ""), (1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        text = f"{value / size:.3g}"
        if abs(float(text)) < 1000 or suffix == "T":
            return text + suffix if "e" not in text else f"{value / size:.0f}{suffix}"
    return f"{value:.3g}"  # pragma: no cover (the loop always returns)
