"""Confluence score 0..100 from five components, each in 0..1, weighted by the settings.

Each component is computed for both sides; a LONG reads bullish evidence, a SHORT its mirror.
The pattern component is the sum of the points of the patterns seen on the candle (points are score
units), capped at the pattern weight. Everything is pointwise in the indicators of candle t (MACD's
slope also reads t-1), so scoring is causal whenever the indicators are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.patterns import directional

COMPONENTS = ("trend", "momentum", "volume", "volatility", "pattern")


@dataclass(frozen=True)
class Weights:
    trend: float = 25.0
    momentum: float = 25.0
    volume: float = 15.0
    volatility: float = 10.0
    pattern: float = 25.0

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.trend, self.momentum, self.volume, self.volatility, self.pattern)


@dataclass(frozen=True)
class SideScores:
    score: np.ndarray  # (n,) 0..100
    components: np.ndarray  # (n, 5) points contributed by each component
    patterns: np.ndarray  # (n, P) bool: pattern seen in this side's direction


def _clip01(x: np.ndarray) -> np.ndarray:
    """Clip to 0..1 with NaN (warm-up) as 0: fmax/fmin ignore NaN."""
    return np.fmin(np.fmax(x, 0.0), 1.0)


def score_sides(ind: dict[str, np.ndarray], o: np.ndarray, c: np.ndarray, pattern_flags: dict[str, np.ndarray],
                pattern_points: dict[str, float], weights: Weights) -> tuple[SideScores, SideScores]:
    """Scores for LONG and SHORT at every row of the given (aligned) arrays."""
    ema9, ema21, ema50, ema200 = ind["ema9"], ind["ema21"], ind["ema50"], ind["ema200"]
    adx_f = 0.5 + 0.5 * _clip01((ind["adx"] - 15.0) / 20.0)
    rsi = ind["rsi"]
    hist = ind["macd_hist"]
    hist_prev = ind["macd_hist_prev"]
    k, d = ind["stoch_k"], ind["stoch_d"]
    vol_part = _clip01(ind["vol_z"] / 2.0)
    rng = ind["bb_upper"] - ind["bb_lower"]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_b = (c - ind["bb_lower"]) / rng
        expansion = _clip01(ind["bb_width"] / ind["bb_width_avg"] - 0.5)

    def side(sign: float) -> tuple[np.ndarray, ...]:
        if sign > 0:
            align = ((c > ema9).astype(float) + (ema9 > ema21) + (ema21 > ema50) + (c > ema200)) / 4.0
            rsi_part = _clip01((rsi - 45.0) / 15.0) * (rsi < 75)
            macd_part = 0.5 * (hist > 0) + 0.5 * (hist > hist_prev)
            stoch_part = ((k > d) & (k < 80)).astype(float)
            volume = 0.6 * vol_part * (c > o) + 0.4 * (c > ind["vwap"])
            position = _clip01(1.0 - np.abs(pct_b - 0.75) / 0.5)
        else:
            align = ((c < ema9).astype(float) + (ema9 < ema21) + (ema21 < ema50) + (c < ema200)) / 4.0
            rsi_part = _clip01((55.0 - rsi) / 15.0) * (rsi > 25)
            macd_part = 0.5 * (hist < 0) + 0.5 * (hist < hist_prev)
            stoch_part = ((k < d) & (k > 20)).astype(float)
            volume = 0.6 * vol_part * (c < o) + 0.4 * (c < ind["vwap"])
            position = _clip01(1.0 - np.abs(pct_b - 0.25) / 0.5)
        trend = align * adx_f
        momentum = (rsi_part + macd_part + stoch_part) / 3.0
        volatility = 0.5 * position + 0.5 * expansion
        return trend, momentum, volume, volatility

    names = list(pattern_flags)
    n = len(c)
    results = []
    total_w = sum(weights.as_tuple())
    scale = 100.0 / total_w if total_w > 0 else 0.0
    for sign in (1.0, -1.0):
        trend, momentum, volume, volatility = side(sign)
        seen = np.zeros((n, len(names)), dtype=bool)
        points = np.zeros(n)
        for j, name in enumerate(names):
            bull, bear = directional(name, pattern_flags[name])
            hit = bull if sign > 0 else bear
            seen[:, j] = hit
            points += hit * float(pattern_points.get(name, 0.0))
        comps = np.empty((n, 5))
        comps[:, 0] = weights.trend * trend
        comps[:, 1] = weights.momentum * momentum
        comps[:, 2] = weights.volume * np.clip(volume, 0.0, 1.0)
        comps[:, 3] = weights.volatility * volatility
        comps[:, 4] = np.minimum(points, weights.pattern)
        comps *= scale
        results.append(SideScores(score=np.clip(comps.sum(axis=1), 0.0, 100.0), components=comps, patterns=seen))
    return results[0], results[1]
