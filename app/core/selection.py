"""Choosing among many candidates without fooling oneself: splitters, and the statistics of a selection.

Splitters are objects that yield index arrays (as scikit-learn's do): the search consumes indices and never
sees how they were made.

- `Holdout`: the last share of the time span is locked away; a trade counts for training only when its whole
  label window ends before the holdout starts (purged).
- `PurgedWalkForward`: time-ordered folds of the training period; fold k trains on the blocks before it.
- `CSCV`: combinatorially symmetric cross-validation over S blocks (Bailey, Borwein, López de Prado & Zhu,
  "The Probability of Backtest Overfitting", J. Computational Finance 20(4), 2017).

The selection rule (`choose`): among candidates with enough trades, the one whose per-trade mean has the highest
lower 95 % bound, the bound clustered by day (trades of one day are not independent); the highest mean alone
goes to the thinnest, noisiest candidate, whose holdout then cannot confirm anything. The search and its
walk-forward use this one rule.

Statistics of a selection: the probability of backtest overfitting (PBO, same paper), the deflated Sharpe ratio
(Bailey & López de Prado, "The Deflated Sharpe Ratio", J. Portfolio Management 40(5), 2014) and Hansen's SPA /
White's reality check p-value (`arch.bootstrap.SPA`; Hansen 2005, White 2000).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class Holdout:
    """The last `share` of [start, end) is the holdout; training trades must end before it (purge `gap_ms`)."""

    start_ms: int
    end_ms: int
    share: float = 0.3

    @property
    def cut_ms(self) -> int:
        return int(self.start_ms + (1.0 - self.share) * (self.end_ms - self.start_ms))

    def train(self, signal_ms: np.ndarray, horizon_ms: np.ndarray | int) -> np.ndarray:
        """Trades whose whole label window (signal candle + horizon) ends before the holdout starts."""
        return np.asarray(signal_ms + horizon_ms < self.cut_ms)

    def test(self, signal_ms: np.ndarray) -> np.ndarray:
        return np.asarray(signal_ms >= self.cut_ms)


@dataclass(frozen=True)
class PurgedWalkForward:
    """Time-ordered folds: the observations are cut into folds + 1 blocks; fold k tests block k and trains on the
    earlier observations whose label window (`horizon_ms`) ends before block k starts (no label leaks)."""

    folds: int = 4

    def split(self, times: np.ndarray, horizon_ms: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train, test) index arrays over `times` (ascending), blocks of equal counts."""
        n = len(times)
        edges = np.linspace(0, n, self.folds + 2).astype(int)
        for k in range(1, self.folds + 1):
            a, b = edges[k], edges[k + 1]
            if b <= a:
                continue
            train = np.flatnonzero(times[:a] + horizon_ms < times[a])
            if len(train):
                yield train, np.arange(a, b)

    def time_edges(self, start_ms: int, end_ms: int) -> np.ndarray:
        """folds + 2 boundaries of equal time blocks of [start, end) (for candidates with different trades)."""
        return np.linspace(start_ms, end_ms, self.folds + 2).astype(np.int64)


@dataclass(frozen=True)
class CSCV:
    """All ways of choosing S/2 of S blocks as in-sample, the other S/2 as out-of-sample."""

    n_blocks: int = 10

    def split(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        blocks = np.arange(self.n_blocks)
        for ins in itertools.combinations(range(self.n_blocks), self.n_blocks // 2):
            is_mask = np.isin(blocks, ins)
            yield blocks[is_mask], blocks[~is_mask]


Z95 = 1.959963984540054


def trusted_mean(sums: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, lower 95 % bound) per column of per-day `sums` and trade `counts` (days x candidates): the per-trade
    mean sum/count with the cluster-robust (by day) variance of a ratio, small-sample corrected (D / (D - 1) over
    the D days with trades). NaN where a candidate has no trades, -inf for its bound with a single day."""
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, sums.sum(axis=0) / np.where(n > 0, n, 1.0), np.nan)
        resid = sums - mean * counts
        d = (counts > 0).sum(axis=0)
        var = np.where(d > 1, d / np.maximum(d - 1, 1) * (resid ** 2).sum(axis=0) / np.maximum(n, 1) ** 2, np.inf)
        lower = mean - Z95 * np.sqrt(var)
    return mean, np.where(np.isnan(mean), np.nan, lower)


def choose(sums: np.ndarray, counts: np.ndarray, min_trades: int) -> int | None:
    """The column with the highest trusted mean among those with at least `min_trades` trades (None: none has)."""
    _mean, lower = trusted_mean(sums, counts)
    ok = (np.asarray(counts).sum(axis=0) >= max(1, min_trades)) & np.isfinite(lower)
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, lower, -np.inf)))


def block_of(time_ms: np.ndarray, start_ms: int, end_ms: int, n_blocks: int) -> np.ndarray:
    """Equal time blocks 0..n_blocks-1 of [start, end)."""
    edges = np.linspace(start_ms, end_ms, n_blocks + 1)
    return np.clip(np.searchsorted(edges, time_ms, side="right") - 1, 0, n_blocks - 1)


@dataclass(frozen=True)
class PBO:
    pbo: float  # share of splits whose in-sample best ranks below the median out of sample
    logits: np.ndarray  # logit of the out-of-sample relative rank of each split's in-sample best
    splits: int


def probability_of_backtest_overfitting(sums: np.ndarray, counts: np.ndarray, min_count: int = 1,
                                        n_blocks: int | None = None) -> PBO:
    """CSCV with per-trade expectancy as the performance measure.

    sums, counts: (S, N) per block and candidate, the net result summed over the block's trades and their number.
    For each split, the candidate with the best in-sample expectancy (among those with at least `min_count` trades
    in-sample) is ranked out of sample among all candidates; its relative rank w in (0, 1) gives the logit
    log(w / (1 - w)), and PBO is the share of splits with logit <= 0 (the in-sample winner is no better than the
    median out of sample)."""
    s_blocks, _n = sums.shape
    cscv = CSCV(n_blocks or s_blocks)
    logits = []
    for ins, oos in cscv.split():
        is_s, is_n = sums[ins].sum(0), counts[ins].sum(0)
        os_s, os_n = sums[oos].sum(0), counts[oos].sum(0)
        ok = is_n >= min_count
        if not ok.any():
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            is_perf = np.where(ok, is_s / np.maximum(is_n, 1), -np.inf)
            os_perf = np.where(os_n > 0, os_s / np.maximum(os_n, 1), -np.inf)
        best = int(np.argmax(is_perf))
        ranked = os_perf[np.isfinite(os_perf)] if np.isfinite(os_perf[best]) else os_perf
        # relative rank in (0, 1): (number of candidates it beats + 1) / (candidates + 1)
        w = (np.sum(ranked < os_perf[best]) + 1.0) / (len(ranked) + 1.0)
        logits.append(math.log(w / (1.0 - w)))
    arr = np.array(logits)
    return PBO(float(np.mean(arr <= 0)) if len(arr) else float("nan"), arr, len(arr))


def expected_max_sharpe(var_trials: float, n_trials: int) -> float:
    """The Sharpe ratio the best of `n_trials` unskilled strategies reaches by luck (Bailey & López de Prado 2014,
    eq. for SR0): sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))), g the Euler-Mascheroni constant."""
    from scipy.stats import norm

    if n_trials <= 1:
        return 0.0
    return float(math.sqrt(max(var_trials, 0.0)) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1.0 / n_trials)
                                                    + EULER_GAMMA * norm.ppf(1 - 1.0 / (n_trials * math.e))))


def deflated_sharpe(sharpe: float, n_obs: int, n_trials: int, var_trials: float, skew: float = 0.0,
                    kurtosis: float = 3.0) -> float:
    """The probability that the true Sharpe ratio exceeds what the best of `n_trials` would show by luck, given
    the sample's length, skewness and (non-excess) kurtosis. All Sharpe ratios per observation (not annualised)."""
    from scipy.stats import norm

    sr0 = expected_max_sharpe(var_trials, n_trials)
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe ** 2
    if n_obs < 2 or denom <= 0:
        return float("nan")
    return float(norm.cdf((sharpe - sr0) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def spa_p_value(differences: np.ndarray, reps: int = 1000, seed: int = 0, block_size: int | None = None) -> float:
    """Hansen's consistent SPA p-value of 'no candidate beats its benchmark'.

    differences: (T, N) per-period result of each candidate minus its benchmark's (here: random entries on the
    same days and sides). Small p: at least one candidate beats chance even after searching all N."""
    from arch.bootstrap import SPA

    d = np.asarray(differences, dtype=np.float64)
    t = d.shape[0]
    block = block_size or max(1, round(math.sqrt(t)))
    spa = SPA(np.zeros(t), -d, block_size=block, reps=reps, bootstrap="stationary", studentize=True, seed=seed)
    spa.compute()
    return float(spa.pvalues["consistent"])


def sharpe_moments(returns: np.ndarray) -> tuple[float, float, float]:
    """(Sharpe per observation, skewness, non-excess kurtosis) of a series."""
    r = np.asarray(returns, dtype=np.float64)
    sd = float(r.std(ddof=1)) if len(r) > 1 else 0.0
    if sd == 0:
        return 0.0, 0.0, 3.0
    z = (r - r.mean()) / r.std()
    return float(r.mean() / sd), float(np.mean(z ** 3)), float(np.mean(z ** 4))
