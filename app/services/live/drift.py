"""Drift monitor: are the live signals winning as often as their backtest said they would?

Per score band, the live wins are tested against the backtest's win rate of that band with an exact binomial
test; overall, against what each live signal's own band expected (so a live mix richer in low bands is not
called drift). An alert needs at least 30 closed live signals and p < 0.01 (two-sided): at 30 signals a live rate
outside the backtest's narrow interval happens by chance alone far too often to alarm on. It is raised once, and
again only after live came back in line: backtests that do not match live are the trader's most common
complaint, so ScalpDesk watches for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

from app.core import stats

ALPHA = 0.01


class DriftMonitor:
    """`backtest_bands`: the newest matching run's rows per score band ({lo, n, wins, ...}); `min_score`: the live
    scanner's minimum score (live has no signals below it, so bands under it are not expected)."""

    def __init__(self, backtest_bands: Sequence[Mapping[str, Any]], min_score: float = 0.0,
                 alpha: float = ALPHA) -> None:
        floor = stats.band_of(min_score)
        self.expected = {float(b["lo"]): b["wins"] / b["n"] for b in backtest_bands
                         if b.get("n", 0) >= stats.MIN_SAMPLES and float(b["lo"]) >= floor}
        self.alpha = alpha
        self.alerting: set[str] = set()

    def check(self, scores: np.ndarray, wins: np.ndarray) -> list[dict[str, Any]]:
        """New alerts for the live closed signals given (scores, win flags)."""
        scores = np.asarray(scores, dtype=np.float64)
        wins = np.asarray(wins, dtype=bool)
        band = stats.band_of(scores) if len(scores) else np.empty(0)
        p = np.array([self.expected.get(float(b), np.nan) for b in band]) if len(band) else np.empty(0)
        known = np.isfinite(p)
        groups: list[tuple[str, np.ndarray]] = [("all", known)]
        groups += [(f"{lo:g}-{lo + stats.BAND_WIDTH:g}", band == lo) for lo in sorted(self.expected)]
        alerts = []
        for name, mask in groups:
            n = int(mask.sum())
            if n < stats.MIN_SAMPLES:
                continue
            k = int(wins[mask].sum())
            expected = float(p[mask].mean())
            p_value = _p_value(k, p[mask]) if name == "all" else float(binomtest(k, n, expected).pvalue)
            drifted = p_value < self.alpha
            if drifted and name not in self.alerting:
                self.alerting.add(name)
                rate = k / n
                direction = "below" if rate < expected else "above"
                message = (f"score {name}: live win rate {rate:.0%} over {n} signals is {direction} the backtest's "
                           f"{expected:.0%} (p = {p_value:.3f}; chance alone gives that less than 1 time in 100)")
                alerts.append({"bucket": name, "live_win_rate": rate, "live_n": n, "backtest_win_rate": expected,
                               "p_value": p_value, "message": message})
            elif not drifted:
                self.alerting.discard(name)
        return alerts


def _p_value(wins: int, p: np.ndarray) -> float:
    """Two-sided p of `wins` successes among independent signals with success chances `p` (Poisson binomial), by
    its normal approximation with continuity correction (n >= 30)."""
    mean = float(p.sum())
    sd = math.sqrt(float((p * (1 - p)).sum()))
    if sd == 0:
        return 1.0 if wins == round(mean) else 0.0
    z = max(0.0, abs(wins - mean) - 0.5) / sd
    return float(math.erfc(z / math.sqrt(2)))
