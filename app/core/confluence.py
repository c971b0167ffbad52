"""Confluence score 0..100 from five components, each in 0..1, weighted by the settings.

Each component is computed for both sides; a LONG reads bullish evidence, a SHORT its mirror.
The pattern component is the sum of the points of the patterns seen on the candle (points are score
units), capped at the pattern weight. Warm-up values (NaN) count as no evidence. Everything is pointwise
in the indicators of candle t (MACD's
slope also reads t-1), so scoring is causal whenever the indicators are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.patterns import NEUTRAL_PATTERNS

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
    components: np.ndarray  # (5, n) points contributed by each component (component-major: fast to build)
    patterns: np.ndarray  # (P, n) bool: pattern seen in this side's direction

    def rows(self, sl: slice) -> SideScores:
        return SideScores(self.score[sl], self.components[:, sl], self.patterns[:, sl])


def score_sides(ind: dict[str, np.ndarray], o: np.ndarray, c: np.ndarray, pattern_flags: dict[str, np.ndarray],
                pattern_points: dict[str, float], weights: Weights) -> tuple[SideScores, SideScores]:
    """Scores for LONG and SHORT at every row of the given (aligned) arrays.

    Vectorised numpy (15 ms for 72k rows): measured against the compiled loop it replaced (5 ms), the same results
    bit for bit, and a scan no longer pays numba's ~0.4 s start-up to score five candles."""
    n = len(c)
    names = list(pattern_flags)
    total_w = sum(weights.as_tuple())
    w = np.array(weights.as_tuple(), dtype=np.float64) * (100.0 / total_w if total_w > 0 else 0.0)
    flags = np.empty((len(names), n), dtype=np.int32)
    for j, name in enumerate(names):
        flags[j] = pattern_flags[name]
    neutral = np.array([name in NEUTRAL_PATTERNS for name in names], dtype=np.bool_)
    points = np.array([float(pattern_points.get(name, 0.0)) for name in names], dtype=np.float64)
    cap = float(weights.pattern)
    scale_pat = w[4] / cap if cap > 0 else 0.0
    g = {k: np.asarray(ind[k], dtype=np.float64) for k in (
        "ema9", "ema21", "ema50", "ema200", "adx", "rsi", "macd_hist", "macd_hist_prev", "stoch_k", "stoch_d",
        "vol_z", "vwap", "bb_upper", "bb_lower", "bb_width", "bb_width_avg")}
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        adx_f = 0.5 + 0.5 * _unit((g["adx"] - 15.0) / 20.0)
        vol_part = _unit(g["vol_z"] / 2.0)
        band = g["bb_upper"] - g["bb_lower"]
        pct_b = np.where(band > 0, (c - g["bb_lower"]) / np.where(band > 0, band, 1.0), np.nan)
        avg = g["bb_width_avg"]
        expansion = np.where(avg > 0, _unit(g["bb_width"] / np.where(avg > 0, avg, 1.0) - 0.5), 0.0)
        for side in (1, -1):
            up = side > 0
            e9, e21, e50, e200, rsi, k, d = (g[x] for x in ("ema9", "ema21", "ema50", "ema200", "rsi", "stoch_k",
                                                            "stoch_d"))
            hist, prev = g["macd_hist"], g["macd_hist_prev"]
            if up:  # bullish evidence; a SHORT reads its mirror
                align = (c > e9).astype(np.float64) + (e9 > e21) + (e21 > e50) + (c > e200)
                rsi_part = np.where(rsi < 75, _unit((rsi - 45.0) / 15.0), 0.0)
                macd = 0.5 * ((hist > 0.0).astype(np.float64) + (hist > prev))
                stoch = ((k > d) & (k < 80)).astype(np.float64)
                volume = 0.6 * vol_part * (c > o) + 0.4 * (c > g["vwap"])
                hit = np.where(neutral[:, None], flags != 0, flags > 0)
            else:
                align = (c < e9).astype(np.float64) + (e9 < e21) + (e21 < e50) + (c < e200)
                rsi_part = np.where(rsi > 25, _unit((55.0 - rsi) / 15.0), 0.0)
                macd = 0.5 * ((hist < 0.0).astype(np.float64) + (hist < prev))
                stoch = ((k < d) & (k > 20)).astype(np.float64)
                volume = 0.6 * vol_part * (c < o) + 0.4 * (c < g["vwap"])
                hit = np.where(neutral[:, None], flags != 0, flags < 0)
            position = _unit(1.0 - 2.0 * np.abs(pct_b - (0.75 if up else 0.25)))
            pts = points @ hit if len(points) else np.zeros(n)
            comps = np.empty((5, n))
            comps[0] = w[0] * 0.25 * align * adx_f
            comps[1] = w[1] * (rsi_part + macd + stoch) / 3.0
            comps[2] = w[2] * volume
            comps[3] = w[3] * 0.5 * (position + expansion)
            comps[4] = scale_pat * np.minimum(pts, cap)
            total = comps[0] + comps[1] + comps[2] + comps[3] + comps[4]
            out.append(SideScores(np.clip(total, 0.0, 100.0), comps, hit.astype(np.bool_)))
    return out[0], out[1]


def _unit(x: np.ndarray) -> np.ndarray:
    """x clipped to 0..1, NaN (warm-up) counted as no evidence."""
    return np.where(np.isnan(x) | (x <= 0.0), 0.0, np.minimum(x, 1.0))
