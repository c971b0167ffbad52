"""Does a set of trades make money after costs, and does it beat chance? The vocabulary every result leads with.

- expectancy: the net result per trade after fees and slippage, with a 95 % interval clustered by day;
- baseline: random entries under the same rules (same symbols, count, sides, ATR stops and targets, hold and
  costs), drawn many times with a fixed seed; `always_long` / `always_short` at every candle beside it;
- edge: expectancy minus the baseline's, with an interval from the same (paired) resampling of days and the
  matching two-sided p-value;
- verdict, in the exact words used everywhere (see `Verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from app.core.bootstrap import (
    REPS,
    Clustered,
    Interval,
    block_length,
    days,
    percentile_interval,
    ratio_draws,
    resample_indices,
    two_sided_p,
)


class Verdict(StrEnum):
    PROFITABLE = "PROFITABLE"  # the net expectancy's interval is above 0
    EDGE_BELOW_COSTS = "EDGE_BELOW_COSTS"  # the edge's interval is above 0, the net expectancy's is not
    NO_EDGE = "NO_EDGE"  # the edge's interval contains 0
    WORSE_THAN_RANDOM = "WORSE_THAN_RANDOM"  # the edge's interval is below 0

    @property
    def text(self) -> str:
        return VERDICT_TEXT[self]


VERDICT_TEXT = {
    Verdict.PROFITABLE: "these signals made money after costs on this history",
    Verdict.EDGE_BELOW_COSTS: "these signals beat random entries, but not by enough to pay the costs: they have "
                              "not made money after costs on this history",
    Verdict.NO_EDGE: "these signals have not made money after costs on this history, and did no better than random "
                     "entries with the same stops and targets",
    Verdict.WORSE_THAN_RANDOM: "these signals have not made money after costs on this history, and did worse than "
                               "random entries with the same stops and targets",
}


NOT_JUDGED = "not enough history to judge whether these signals make money after costs or beat chance"


def verdict_of(net: Interval, edge: Interval) -> Verdict | None:
    """The verdict from the two intervals; None ("not enough history") when either could not be measured or rests
    on fewer than MIN_SAMPLES trades: no claim is made from nothing."""
    from app.core.stats import MIN_SAMPLES

    if net.low is None or edge.low is None or net.n < MIN_SAMPLES:
        return None
    if net.above_zero:
        return Verdict.PROFITABLE
    if edge.above_zero:
        return Verdict.EDGE_BELOW_COSTS
    if edge.below_zero:
        return Verdict.WORSE_THAN_RANDOM
    return Verdict.NO_EDGE


@dataclass(frozen=True, eq=False)
class Daily:
    """Per-day sums and (weighted) counts of net results, % after costs: all the clustered bootstrap needs, and
    small enough to come back from a worker process however many random draws were made."""

    day: np.ndarray  # sorted UTC day numbers
    sums: np.ndarray
    counts: np.ndarray

    @staticmethod
    def of(pnl: np.ndarray, time_ms: np.ndarray, weight: float = 1.0) -> Daily:
        d = days(time_ms)
        keys, pos = np.unique(d, return_inverse=True)
        pnl = np.asarray(pnl, dtype=np.float64)
        return Daily(keys, np.bincount(pos, weights=pnl, minlength=len(keys)) * weight,
                     np.bincount(pos, minlength=len(keys)).astype(np.float64) * weight)

    @staticmethod
    def empty() -> Daily:
        return Daily(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))

    @staticmethod
    def merge(parts: list[Daily]) -> Daily:
        parts = [p for p in parts if len(p.day)]
        if not parts:
            return Daily.empty()
        keys = np.unique(np.concatenate([p.day for p in parts]))
        sums, counts = np.zeros(len(keys)), np.zeros(len(keys))
        for p in parts:
            pos = np.searchsorted(keys, p.day)
            np.add.at(sums, pos, p.sums)
            np.add.at(counts, pos, p.counts)
        return Daily(keys, sums, counts)

    @property
    def n(self) -> float:
        return float(self.counts.sum())

    @property
    def mean(self) -> float | None:
        n = self.n
        return float(self.sums.sum() / n) if n > 0 else None

    def on(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums and counts laid on a larger sorted set of days (0 where this has none)."""
        s, c = np.zeros(len(keys)), np.zeros(len(keys))
        pos = np.searchsorted(keys, self.day)
        s[pos], c[pos] = self.sums, self.counts
        return s, c


@dataclass(frozen=True)
class EdgeReport:
    expectancy: Interval
    baseline: Interval
    draws: int
    edge: Interval
    p_value: float | None
    always_long: Interval
    always_short: Interval
    verdict: Verdict | None  # None: not enough history to judge
    seed: int
    reps: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectancy": self.expectancy.to_dict(),
            "baseline": {"kind": "random_entries", "draws": self.draws, "expectancy_pct": self.baseline.estimate,
                         "ci_low": self.baseline.low, "ci_high": self.baseline.high,
                         "n": round(self.baseline.n), "seed": self.seed,
                         "always_long": self.always_long.to_dict("expectancy_pct"),
                         "always_short": self.always_short.to_dict("expectancy_pct")},
            "edge": {"pct": self.edge.estimate, "ci_low": self.edge.low, "ci_high": self.edge.high,
                     "p_value": self.p_value},
            "verdict": None if self.verdict is None else str(self.verdict),
            "verdict_text": NOT_JUDGED if self.verdict is None else self.verdict.text,
        }


def daily_interval(d: Daily, reps: int = REPS, seed: int = 0) -> Interval:
    """The per-trade mean of a Daily with its interval clustered by day."""
    est = d.mean
    n = round(d.n)
    if est is None or len(d.day) < 2:
        return Interval(est, None, None, n, len(d.day))
    c = Clustered(d.day, d.sums[None], d.counts[None])
    idx = resample_indices(len(d.day), block_length(d.sums), reps, seed)
    lo, hi = percentile_interval(ratio_draws(c, idx)[0])
    return Interval(est, lo, hi, n, len(d.day))


def edge_report(signals: Daily, baseline: Daily, draws: int, always_long: Daily | None = None,
                always_short: Daily | None = None, reps: int = REPS, seed: int = 0) -> EdgeReport:
    """Expectancy, baseline and edge with intervals from one stationary bootstrap of the days (paired: a resample
    draws the same days for the signals and for the random entries), and the verdict."""
    keys = np.union1d(signals.day, baseline.day)
    ss, sc = signals.on(keys)
    bs, bc = baseline.on(keys)
    c = Clustered(keys, np.vstack([ss, bs]), np.vstack([sc, bc]))
    exp_est, base_est = signals.mean, baseline.mean
    exp_iv = Interval(exp_est, None, None, round(signals.n), len(signals.day))
    base_iv = Interval(base_est, None, None, round(baseline.n), len(baseline.day))
    edge_est = None if exp_est is None or base_est is None else exp_est - base_est
    edge_iv = Interval(edge_est, None, None, exp_iv.n, len(keys))
    p = None
    if exp_iv.n >= 2 and len(keys) >= 2:
        idx = resample_indices(len(keys), block_length(ss - bs * (sc.sum() / max(bc.sum(), 1e-12))), reps, seed)
        d = ratio_draws(c, idx)
        exp_iv = Interval(exp_est, *percentile_interval(d[0]), exp_iv.n, exp_iv.clusters)
        if base_est is not None:
            base_iv = Interval(base_est, *percentile_interval(d[1]), base_iv.n, base_iv.clusters)
            diff = d[0] - d[1]
            edge_iv = Interval(edge_est, *percentile_interval(diff), exp_iv.n, len(keys))
            p = two_sided_p(diff)
    along = daily_interval(always_long, reps, seed) if always_long is not None else Interval(None, None, None, 0, 0)
    ashort = daily_interval(always_short, reps, seed) if always_short is not None else \
        Interval(None, None, None, 0, 0)
    return EdgeReport(exp_iv, base_iv, draws, edge_iv, p, along, ashort, verdict_of(exp_iv, edge_iv), seed, reps)


def break_even_win_rate(pnl: np.ndarray, win: np.ndarray) -> float | None:
    """The win rate at which these payoffs break even after costs (app.core.stats.break_even on arrays)."""
    from app.core.stats import break_even

    pnl = np.asarray(pnl, dtype=np.float64)
    win = np.asarray(win, dtype=bool)
    return break_even(int(win.sum()), len(pnl), float(pnl[win].sum()), float(pnl.sum()))


def cost_to_stop(round_trip_pct: float, entry: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Round-trip costs as a fraction of each trade's stop distance (0.3 means costs eat 30 % of what is risked)."""
    dist = 100.0 * np.abs(np.asarray(entry, dtype=np.float64) - np.asarray(stop, dtype=np.float64)) / \
        np.asarray(entry, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(dist > 0, round_trip_pct / np.where(dist > 0, dist, 1.0), np.inf)


COST_TO_STOP_WARNING = 0.3
