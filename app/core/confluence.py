"""Confluence score 0..100 from five components, each in 0..1, weighted by the settings.

Each component is computed for both sides; a LONG reads bullish evidence, a SHORT its mirror.
The pattern component is the sum of the points of the patterns seen on the candle (points are score
units), capped at the pattern weight. Everything is pointwise in the indicators of candle t (MACD's
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
    """Scores for LONG and SHORT at every row of the given (aligned) arrays (a compiled loop)."""
    from app.core.kernels import confluence

    n = len(c)
    names = list(pattern_flags)
    total_w = sum(weights.as_tuple())
    scale = 100.0 / total_w if total_w > 0 else 0.0
    w = np.array(weights.as_tuple(), dtype=np.float64) * scale
    flags = np.empty((len(names), n), dtype=np.int32)
    for j, name in enumerate(names):
        flags[j] = pattern_flags[name]
    neutral = np.array([name in NEUTRAL_PATTERNS for name in names], dtype=np.bool_)
    points = np.array([float(pattern_points.get(name, 0.0)) for name in names], dtype=np.float64)
    comps = np.empty((2, 5, n))
    seen = np.empty((2, len(names), n), dtype=np.bool_)
    score = np.empty((2, n))
    f = np.ascontiguousarray
    confluence(f(o), f(c), *(f(ind[k]) for k in ("ema9", "ema21", "ema50", "ema200", "adx", "rsi", "macd_hist",
                                                  "macd_hist_prev", "stoch_k", "stoch_d", "vol_z", "vwap",
                                                  "bb_upper", "bb_lower", "bb_width", "bb_width_avg")),
               flags, neutral, points, w, float(weights.pattern), comps, seen, score)
    return (SideScores(score[0], comps[0], seen[0]), SideScores(score[1], comps[1], seen[1]))
