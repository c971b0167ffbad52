"""Entries that know nothing: the random-entry baseline and always-long / always-short, under the signals' rules.

A candidate entry is a candle t whose indicators are warmed up (ATR known and positive), whose horizon t+1..t+H
lies in one contiguous run of the data, and whose target would pay its costs (the same check that turns a setup
into a signal): the same gate the signals passed, so the baseline is not handicapped by trades a signal could
never be. Entry at the open of t+1, stop and target the signals' ATR multiples, the same hold, costs and outcome
rules (app.core.outcomes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.candles import Candles
from app.core.outcomes import Costs, label
from app.core.signals import Analysis, EngineConfig


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Decided trades: where they entered (candle of the decision), their side, net result and signal time."""

    index: np.ndarray
    side: np.ndarray
    pnl: np.ndarray
    time: np.ndarray


def candidates(an: Analysis, cfg: EngineConfig) -> np.ndarray:
    """Candle positions where an entry could be taken and decided under the signals' rules."""
    c = an.candles
    n, h = len(c), int(cfg.max_hold)
    rows = np.arange(an.offset, n)
    ok = np.zeros(n, dtype=bool)
    ok[rows] = an.valid
    ok[max(0, n - h):] = False  # t + 1 + ... + t + H must exist, as for the signals (outcomes.label)
    if not ok.any():
        return np.flatnonzero(ok)
    run = np.cumsum(np.diff(c.time, prepend=c.time[:1]) != c.tf_ms)
    idx = np.flatnonzero(ok)
    idx = idx[run[idx + h] == run[idx]]
    atr = an.indicators["atr"][idx]
    return np.asarray(idx[cfg.target_pays(atr, c.close[idx])], dtype=np.int64)


def walk(candles: Candles, atr: np.ndarray, index: np.ndarray, side: np.ndarray, cfg: EngineConfig, costs: Costs,
         fine: Candles | None = None) -> Outcomes:
    """Enter at the open of t+1 with the ATR stop and target of candle t; decided trades only."""
    index = np.asarray(index, dtype=np.int64)
    side = np.asarray(side, dtype=np.int64)
    entry = candles.open[index + 1]
    a = atr[index]
    stop = entry - side * cfg.sl_atr * a
    take = entry + side * cfg.tp_atr * a
    lab = label(candles, index, side, entry, stop, take, cfg.max_hold, costs, fine=fine)
    done = lab.decided
    return Outcomes(index[done], side[done], lab.pnl_pct[done], candles.time[index[done]])


def random_entries(an: Analysis, cand: np.ndarray, sides: np.ndarray, draws: int, rng: np.random.Generator,
                   cfg: EngineConfig, costs: Costs, fine: Candles | None = None) -> Outcomes:
    """`draws` sets of len(sides) entries at random candidate candles (without replacement within a set when
    there are enough candidates), each set with the signals' sides in random order; all sets pooled."""
    k = len(sides)
    if k == 0 or len(cand) == 0 or draws <= 0:
        return Outcomes(*(np.empty(0, dtype=t) for t in (np.int64, np.int64, np.float64, np.int64)))
    replace = k > len(cand)
    pos = np.concatenate([rng.choice(cand, size=k, replace=replace) for _ in range(draws)])
    side = np.concatenate([rng.permutation(sides) for _ in range(draws)])
    return walk(an.candles, an.indicators["atr"], pos, side, cfg, costs, fine)


def always(an: Analysis, cand: np.ndarray, side: int, cfg: EngineConfig, costs: Costs,
           fine: Candles | None = None) -> Outcomes:
    """An entry on `side` at every candidate candle."""
    return walk(an.candles, an.indicators["atr"], cand, np.full(len(cand), side), cfg, costs, fine)
