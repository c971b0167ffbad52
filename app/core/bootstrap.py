"""Intervals for per-trade figures whose trades are not independent.

Signals of one day share the market's mood (and often overlap in time), so an interval that treats every trade
as an independent draw is too narrow. Trades are grouped into clusters (UTC days) and whole days are resampled
with the stationary bootstrap of Politis & Romano (1994, JASA 89(428)), which also keeps runs of neighbouring
days together; the mean block length is Politis & White's (2004) automatic choice (`arch.bootstrap`). A
per-trade expectancy is the ratio sum(pnl) / count over the resampled days, so busy days weigh as they should.

Every draw is seeded: the same data and seed give the same interval. The index draws and the block length are
arch's algorithms, computed here without importing arch (see `politis_white`); tests check they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_MS = 86_400_000
REPS = 2000
ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % percentile interval, over `n` trades in `clusters` days."""

    estimate: float | None
    low: float | None
    high: float | None
    n: int
    clusters: int

    @property
    def above_zero(self) -> bool:
        return self.low is not None and self.low > 0

    @property
    def below_zero(self) -> bool:
        return self.high is not None and self.high < 0

    def to_dict(self, key: str = "pct") -> dict[str, float | int | None]:
        return {key: self.estimate, "ci_low": self.low, "ci_high": self.high, "n": self.n, "clusters": self.clusters}


def days(time_ms: np.ndarray) -> np.ndarray:
    """UTC day number of each time (the cluster of a trade)."""
    return np.asarray(time_ms, dtype=np.int64) // DAY_MS


@dataclass(frozen=True)
class Clustered:
    """Per-cluster sums of one or more series over a common, ordered set of clusters (days)."""

    keys: np.ndarray  # (C,) sorted cluster keys
    sums: np.ndarray  # (S, C)
    counts: np.ndarray  # (S, C)

    @staticmethod
    def of(keys: np.ndarray, *series: tuple[np.ndarray, np.ndarray, np.ndarray | float]) -> Clustered:
        """`series`: (cluster key per value, value, weight) triples; the weight divides both sums and counts
        (e.g. 1 / draws for pooled random draws)."""
        k = np.unique(np.asarray(keys, dtype=np.int64))
        sums = np.zeros((len(series), len(k)))
        counts = np.zeros((len(series), len(k)))
        for j, (key, value, weight) in enumerate(series):
            pos = np.searchsorted(k, np.asarray(key, dtype=np.int64))
            w = np.broadcast_to(np.asarray(weight, dtype=np.float64), np.shape(value))
            sums[j] = np.bincount(pos, weights=np.asarray(value, dtype=np.float64) * w, minlength=len(k))
            counts[j] = np.bincount(pos, weights=w, minlength=len(k))
        return Clustered(k, sums, counts)


def block_length(daily: np.ndarray) -> float:
    """Politis & White's automatic mean block length for the stationary bootstrap, at least 1 day."""
    if len(daily) < 10 or not np.isfinite(daily).all() or np.std(daily) == 0:
        return 1.0
    value = politis_white(np.asarray(daily, dtype=np.float64))
    if not np.isfinite(value):
        return 1.0
    return float(min(max(1.0, value), max(1.0, len(daily) / 4.0)))


def politis_white(x: np.ndarray) -> float:
    """The stationary bootstrap's optimal mean block length: Politis & White (2004, Econometric Reviews 23(1)) with
    the correction of Patton, Politis & White (2009, Econometric Reviews 28(4)), computed as arch's
    `optimal_block_length` does (tests compare the two). Written here because importing `arch.bootstrap` costs
    about 1.3 s (it imports arch's univariate models) on every backtest."""
    nobs = len(x)
    eps = x - x.mean()
    b_max = np.ceil(min(3 * np.sqrt(nobs), nobs / 3))
    kn = max(5, int(np.log10(nobs)))
    m_max = int(np.ceil(np.sqrt(nobs))) + kn
    cv = 2 * np.sqrt(np.log10(nobs) / nobs)
    acv = np.zeros(m_max + 1)
    abs_acorr = np.zeros(m_max + 1)
    opt_m: int | None = None
    with np.errstate(all="ignore"):
        for i in range(m_max + 1):
            v1 = eps[i + 1:] @ eps[i + 1:]
            v2 = eps[: -(i + 1)] @ eps[: -(i + 1)]
            cross = eps[i:] @ eps[: nobs - i]
            acv[i] = cross / nobs
            abs_acorr[i] = np.abs(cross) / np.sqrt(v1 * v2)
            if i >= kn and opt_m is None and np.all(abs_acorr[i - kn: i] < cv):
                opt_m = i - kn
        m = min(2 * max(opt_m, 1) if opt_m is not None else m_max, m_max)
        k = np.arange(1, m + 1)
        lam = np.where(k / m <= 0.5, 1.0, 2 * (1 - k / m))
        g = float(np.sum(2 * lam * k * acv[1:m + 1]))
        lr = float(acv[0] + np.sum(2 * lam * acv[1:m + 1]))
        b = ((2 * g ** 2) / (2 * lr ** 2)) ** (1 / 3) * nobs ** (1 / 3)
    return float(min(b, b_max))


def resample_indices(n_clusters: int, block: float, reps: int = REPS, seed: int = 0) -> np.ndarray:
    """(reps, n_clusters) cluster indices of the stationary bootstrap (Politis & Romano 1994): each position
    starts a new block at a random cluster with probability 1 / block, else continues the previous one (wrapping).
    The draws are those of arch's `StationaryBootstrap(block, ..., seed=seed)` (tests compare them)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / max(1.0, float(block))  # the automatic block length is fractional: used as it is, as arch does
    starts = np.empty((reps, n_clusters), dtype=np.int64)
    u = np.empty((reps, n_clusters))
    for r in range(reps):  # arch's order of draws: the integers, then the uniforms, for each replication
        starts[r] = rng.integers(n_clusters, size=n_clusters, dtype=np.int64)
        u[r] = rng.random(n_clusters)
    col = np.arange(n_clusters)
    new = u <= p
    new[:, 0] = True
    last = np.maximum.accumulate(np.where(new, col, 0), axis=1)
    first = np.take_along_axis(starts, last, axis=1)
    return np.asarray((first + (col - last)) % n_clusters)


def ratio_draws(c: Clustered, idx: np.ndarray) -> np.ndarray:
    """(S, reps) per-trade means sum/count of every series over each resample of the clusters."""
    s = c.sums[:, idx].sum(axis=2)
    n = c.counts[:, idx].sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.where(n > 0, n, 1.0), np.nan)


def percentile_interval(draws: np.ndarray, alpha: float = ALPHA) -> tuple[float | None, float | None]:
    """The percentile interval as order statistics: the k-th smallest and k-th largest draw, k = ceil(B alpha / 2)
    (no interpolation), so that it agrees exactly with `two_sided_p`."""
    d = np.sort(draws[np.isfinite(draws)])
    if len(d) < 20:
        return None, None
    k = max(1, int(np.ceil(len(d) * alpha / 2 - 1e-9)))
    return float(d[k - 1]), float(d[len(d) - k])


def two_sided_p(draws: np.ndarray) -> float | None:
    """Bootstrap p-value of 'the figure is 0', consistent with the percentile interval: 0 lies outside the 95 %
    interval exactly when p < 0.05. Its resolution is 1 / draws (0 means: below that)."""
    d = draws[np.isfinite(draws)]
    if len(d) < 20:
        return None
    below = np.sum(d <= 0) / len(d)
    above = np.sum(d >= 0) / len(d)
    return float(min(1.0, 2 * min(below, above)))


def mean_interval(pnl: np.ndarray, time_ms: np.ndarray, reps: int = REPS, seed: int = 0) -> Interval:
    """Per-trade mean of `pnl` with a 95 % interval clustered by UTC day (stationary bootstrap over days)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    n = len(pnl)
    if n == 0:
        return Interval(None, None, None, 0, 0)
    d = days(time_ms)
    c = Clustered.of(d, (d, pnl, 1.0))
    est = float(pnl.mean())
    if len(c.keys) < 2:
        return Interval(est, None, None, n, len(c.keys))
    idx = resample_indices(len(c.keys), block_length(c.sums[0] / np.maximum(c.counts[0], 1)), reps, seed)
    lo, hi = percentile_interval(ratio_draws(c, idx)[0])
    return Interval(est, lo, hi, n, len(c.keys))


def naive_interval(pnl: np.ndarray) -> tuple[float, float]:
    """The textbook interval that treats trades as independent (for comparison only: too narrow here)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    half = 1.959963984540054 * pnl.std(ddof=1) / np.sqrt(len(pnl))
    return float(pnl.mean() - half), float(pnl.mean() + half)
