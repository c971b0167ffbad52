"""Statistics of decided signals, reused by the backtester, the GUI and the reports.

Win rate = wins / decided signals (expired ones count as not won), always with a Wilson 95 % interval
and its sample size. Below MIN_SAMPLES a rate is reported as None ("not enough history").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

MIN_SAMPLES = 30
Z95 = 1.959963984540054


class Rate(TypedDict):
    """A win rate with its sample: the rate and its Wilson 95 % interval are None under MIN_SAMPLES."""

    n: int
    wins: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None


class RateBand(Rate):
    lo: float
    hi: float


class PatternRate(Rate):
    expectancy_pct: float


class Figures(Rate):
    """A group of trades: expectancy first (its interval clustered by day), then the rest; None under MIN_SAMPLES."""

    break_even_win_rate: float | None
    expectancy_pct: float | None
    exp_ci_low: float | None
    exp_ci_high: float | None
    profit_factor: float | None
    profitable_share: float | None


class Band(Figures):
    """A score band, "50-55": [lo, hi)."""

    lo: float
    hi: float
    label: str


class Row(Figures):
    """A row of a breakdown table (a symbol, a month, a side, an hour)."""

    key: str


class Summary(TypedDict):
    """Counts and figures of decided signals (`net_pnl_pct` and `max_drawdown_pct` are of the plain sum of their
    results: never an account's, see app.core.portfolio)."""

    signals: int
    wins: int
    losses: int
    expired: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    enough_history: bool
    profit_factor: float | None
    expectancy_pct: float | None
    break_even_win_rate: float | None
    net_pnl_pct: float
    max_drawdown_pct: float
    avg_bars_held: float | None
    open: NotRequired[int]
    recorded: NotRequired[int]
    profitable_share: NotRequired[float | None]
    wins_losing_after_costs: NotRequired[int]
    avg_minutes_in_trade: NotRequired[float | None]


def wilson(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n <= 0:
        return (0.0, 1.0)
    p = wins / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def profit_factor(pnl: np.ndarray) -> float | None:
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    if gross_loss == 0:
        return None  # undefined (no losing signal): shown as "n/a", never as infinity
    return gross_win / gross_loss


def summary(outcome: Iterable[str] | np.ndarray, pnl: np.ndarray, bars: np.ndarray | None = None) -> Summary:
    out = np.asarray(list(outcome) if not isinstance(outcome, np.ndarray) else outcome)
    pnl = np.asarray(pnl, dtype=np.float64)
    return summary_of(Totals.of(out, pnl, bars))


@dataclass
class Totals:
    """Additive totals of decided signals (in time order, for the drawdown): what a summary is made of, and
    what a running history extends by its newest rows instead of recomputing everything."""

    n: int = 0
    wins: int = 0
    losses: int = 0
    expired: int = 0
    pnl_sum: float = 0.0
    win_pnl_sum: float = 0.0  # of the wins alone (their mean payoff sets the break-even win rate)
    gross_win: float = 0.0
    gross_loss: float = 0.0
    bars_sum: float = 0.0
    bars_n: int = 0
    equity: float = 0.0  # cumulative pnl at the last row
    peak: float = 0.0  # its running maximum (starting from 0)
    max_drawdown: float = 0.0  # largest fall of the cumulative pnl from its running peak (percentage points)

    @classmethod
    def of(cls, outcome: np.ndarray, pnl: np.ndarray, bars: np.ndarray | None = None) -> Totals:
        t = cls()
        t.add(outcome, pnl, bars)
        return t

    def add(self, outcome: np.ndarray, pnl: np.ndarray, bars: np.ndarray | None = None) -> None:
        """Rows that come after every row already added."""
        self.n += len(outcome)
        self.wins += int(np.sum(outcome == "WIN"))
        self.losses += int(np.sum(outcome == "LOSS"))
        self.expired += int(np.sum(outcome == "EXPIRED"))
        self.pnl_sum += float(pnl.sum())
        self.win_pnl_sum += float(pnl[outcome == "WIN"].sum())
        self.gross_win += float(pnl[pnl > 0].sum())
        self.gross_loss += float(-pnl[pnl < 0].sum())
        if bars is not None:
            self.bars_sum += float(np.sum(bars))
            self.bars_n += len(bars)
        if len(pnl):
            equity = self.equity + np.cumsum(pnl)
            peak = np.maximum.accumulate(np.r_[self.peak, equity])[1:]
            self.max_drawdown = max(self.max_drawdown, float(np.max(peak - equity)))
            self.equity, self.peak = float(equity[-1]), float(peak[-1])


def summary_of(t: Totals) -> Summary:
    lo, hi = wilson(t.wins, t.n)
    enough = t.n >= MIN_SAMPLES
    return {
        "signals": t.n, "wins": t.wins, "losses": t.losses, "expired": t.expired,
        "win_rate": (t.wins / t.n) if enough else None,
        "ci_low": lo if enough else None, "ci_high": hi if enough else None,
        "enough_history": enough,
        "profit_factor": (t.gross_win / t.gross_loss if t.gross_loss else None) if t.n else None,
        "expectancy_pct": t.pnl_sum / t.n if t.n else None,
        "break_even_win_rate": break_even(t.wins, t.n, t.win_pnl_sum, t.pnl_sum) if enough else None,
        "net_pnl_pct": t.pnl_sum,
        "max_drawdown_pct": t.max_drawdown,
        "avg_bars_held": t.bars_sum / t.bars_n if t.bars_n else None,
    }


def break_even(wins: int, n: int, win_pnl_sum: float, pnl_sum: float) -> float | None:
    """The win rate at which these payoffs break even after costs, from sums: -L / (W - L), W the mean result of the
    wins, L of the rest; None when there are no wins or nothing else, or when the wins do not pay (W <= 0)."""
    if wins == 0 or wins == n:
        return None
    w, lo = win_pnl_sum / wins, (pnl_sum - win_pnl_sum) / (n - wins)
    if w <= 0 or w <= lo:
        return None
    return float(min(1.0, max(0.0, -lo / (w - lo))))


def rate_entry(wins: int, n: int) -> Rate:
    lo, hi = wilson(wins, n)
    enough = n >= MIN_SAMPLES
    return {"n": n, "wins": wins, "win_rate": wins / n if enough else None,
            "ci_low": lo if enough else None, "ci_high": hi if enough else None}


def by_score(score: np.ndarray, outcome: np.ndarray, width: float = 5.0) -> list[RateBand]:
    """5-point buckets [lo, hi) of the confluence score (100 falls in the last bucket)."""
    score = np.asarray(score, dtype=np.float64)
    out = np.asarray(outcome)
    rows: list[RateBand] = []
    if len(score) == 0:
        return rows
    bucket = np.minimum(np.floor(score / width), 100.0 / width - 1)
    for b in np.unique(bucket):
        mask = bucket == b
        rows.append({"lo": float(b * width), "hi": float((b + 1) * width),
                     **rate_entry(int(np.sum(out[mask] == "WIN")), int(mask.sum()))})
    return rows


def by_pattern(patterns: list[list[str]], outcome: np.ndarray, pnl: np.ndarray) -> dict[str, PatternRate]:
    out = np.asarray(outcome)
    pnl = np.asarray(pnl, dtype=np.float64)
    names = sorted({p for ps in patterns for p in ps})
    result: dict[str, PatternRate] = {}
    for name in names:
        mask = np.array([name in ps for ps in patterns])
        result[name] = {**rate_entry(int(np.sum(out[mask] == "WIN")), int(mask.sum())),
                        "expectancy_pct": float(pnl[mask].mean())}
    return result


# ---------------------------------------------------------------- breakdown tables (expectancy first)
class Groups:
    """Per-group figures of one set of trades, with expectancy intervals clustered by day from one shared
    stationary bootstrap of all the days (app.core.bootstrap): every group is resampled the same way, and a
    table of 50 groups costs one set of draws."""

    def __init__(self, win: np.ndarray, pnl: np.ndarray, time_ms: np.ndarray, reps: int = 1000, seed: int = 0) -> None:
        from app.core import bootstrap

        self.win = np.asarray(win, dtype=bool)
        self.pnl = np.asarray(pnl, dtype=np.float64)
        self.day = bootstrap.days(time_ms)
        self.keys, self.pos = np.unique(self.day, return_inverse=True)
        self._idx: np.ndarray | None = None
        self._reps, self._seed = reps, seed

    def _draws(self) -> np.ndarray:
        from app.core import bootstrap

        if self._idx is None:
            daily = np.bincount(self.pos, weights=self.pnl, minlength=len(self.keys))
            self._idx = bootstrap.resample_indices(len(self.keys), bootstrap.block_length(daily), self._reps,
                                                   self._seed)
        return self._idx

    def entry(self, mask: np.ndarray) -> Figures:
        """n, wins, win rate (Wilson 95 %), expectancy (clustered 95 %), profit factor and the share of trades that
        made money after costs; every figure None under MIN_SAMPLES ("not enough history")."""
        from app.core import bootstrap

        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        pnl = self.pnl[mask]
        enough = n >= MIN_SAMPLES
        wins = int(self.win[mask].sum())
        out: Figures = {**rate_entry(wins, n),
                        "break_even_win_rate": break_even(wins, n, float(pnl[self.win[mask]].sum()), float(pnl.sum()))
                        if enough else None,
                        "expectancy_pct": float(pnl.mean()) if enough else None, "exp_ci_low": None,
                        "exp_ci_high": None, "profit_factor": profit_factor(pnl) if enough else None,
                        "profitable_share": float(np.mean(pnl > 0)) if enough else None}
        if enough and len(self.keys) >= 2:
            c = bootstrap.Clustered(self.keys, np.bincount(self.pos[mask], weights=pnl, minlength=len(self.keys))[None],
                                    np.bincount(self.pos[mask], minlength=len(self.keys)).astype(np.float64)[None])
            out["exp_ci_low"], out["exp_ci_high"] = bootstrap.percentile_interval(
                bootstrap.ratio_draws(c, self._draws())[0])
        return out

    def table(self, keys: np.ndarray, label: Callable[[Any], str] = str) -> list[Row]:
        keys = np.asarray(keys)
        return [{"key": label(k), **self.entry(keys == k)} for k in np.unique(keys)]


BAND_WIDTH = 5.0


def band_of(score: Any, width: float = BAND_WIDTH) -> Any:
    """The lower edge of each score's band: 62.4 -> 60.0; 100 falls in the last band (95). One rule for the
    backtest tables, the live accuracy lookup, the drift monitor and the dashboard."""
    out = np.minimum(np.floor(np.asarray(score, dtype=np.float64) / width), 100.0 / width - 1) * width
    return float(out) if np.ndim(out) == 0 else out


def score_bands(groups: Groups, score: np.ndarray, floor: float = 50.0, width: float = BAND_WIDTH) -> list[Band]:
    """Every stored band from `floor` up, "50-55" (100 falls in the last band), each with its figures."""
    score = np.asarray(score, dtype=np.float64)
    if len(score) == 0:
        return []
    band = band_of(score, width) / width
    rows: list[Band] = []
    for b in np.arange(np.floor(floor / width), np.max(band) + 1):
        lo, hi = float(b * width), float((b + 1) * width)
        rows.append({"lo": lo, "hi": hi, "label": f"{lo:.0f}-{hi:.0f}", **groups.entry(band == b)})
    return rows


def breakdowns(groups: Groups, symbol: np.ndarray, side: np.ndarray, time_ms: np.ndarray) -> dict[str, list[Row]]:
    """Per symbol, per month (UTC), per side and per hour of day (UTC)."""
    t = np.asarray(time_ms, dtype=np.int64)
    month = t.astype("datetime64[ms]").astype("datetime64[M]").astype(str)
    return {"by_symbol": groups.table(np.asarray(symbol).astype(str)), "by_month": groups.table(month),
            "by_side": groups.table(np.where(np.asarray(side) > 0, "LONG", "SHORT")),
            "by_hour": groups.table((t // 3_600_000) % 24, lambda h: f"{int(h):02d}:00")}
