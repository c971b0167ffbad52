"""Outcome rules (the barrier method), shared by the backtester and the live tracker.

Entry at the open of candle t+1. Candles t+1..t+H decide: take-profit touched first -> WIN (exit at the
TP), stop-loss touched first -> LOSS (exit at the SL), both inside one candle -> LOSS and ambiguous
(finer candles of the same symbol, when given, resolve it), neither -> EXPIRED at the close of t+H.
A signal whose horizon runs past the data or across a gap is undecided and not counted.
pnl_pct is after fees and slippage on both sides: 100 * side * (exit - entry) / entry - 2 * (fee + slip).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.candles import Candles
from app.core.records import Outcome

if TYPE_CHECKING:
    from app.settings import Settings

WIN, LOSS, EXPIRED, UNDECIDED = 0, 1, 2, -1
OUTCOME_WORDS = np.array([str(Outcome.WIN), str(Outcome.LOSS), str(Outcome.EXPIRED)])  # indexed by the codes above


@dataclass(frozen=True)
class Costs:
    taker_pct: float = 0.10  # the fee per side
    slippage_pct: float = 0.02

    @property
    def round_trip_pct(self) -> float:
        return 2.0 * (self.taker_pct + self.slippage_pct)

    @staticmethod
    def from_settings(settings: Settings) -> Costs:
        return Costs(settings.fees.fee_pct, settings.fees.slippage_pct)


def net_pnl_pct(side: np.ndarray | float, entry: np.ndarray | float, exit_price: np.ndarray | float,
                costs: Costs) -> np.ndarray:
    return np.asarray(100.0 * np.asarray(side) * (np.asarray(exit_price) - entry) / entry - costs.round_trip_pct)


@dataclass(frozen=True, eq=False)
class Labels:
    outcome: np.ndarray  # WIN/LOSS/EXPIRED/UNDECIDED (int8)
    ambiguous: np.ndarray  # bool
    exit_index: np.ndarray  # candle index of the exit (-1 when undecided)
    exit_price: np.ndarray
    pnl_pct: np.ndarray
    bars_held: np.ndarray

    @property
    def decided(self) -> np.ndarray:
        return np.asarray(self.outcome >= 0)


def label(candles: Candles, index: np.ndarray, side: np.ndarray, entry: np.ndarray, stop: np.ndarray,
          take: np.ndarray, max_hold: int, costs: Costs, fine: Candles | None = None) -> Labels:
    """Decide every signal (candle positions `index`) with the barrier rules, vectorised."""
    n = len(candles)
    m = len(index)
    h = int(max_hold)
    outcome = np.full(m, UNDECIDED, dtype=np.int8)
    ambiguous = np.zeros(m, dtype=bool)
    exit_index = np.full(m, -1, dtype=np.int64)
    exit_price = np.full(m, np.nan)
    pnl = np.full(m, np.nan)
    bars = np.zeros(m, dtype=np.int64)
    if m == 0 or n <= h:
        return Labels(outcome, ambiguous, exit_index, exit_price, pnl, bars)
    # Horizon inside the data and inside one run of contiguous candles.
    run = np.cumsum(np.diff(candles.time, prepend=candles.time[:1]) != candles.tf_ms)
    last = index + h
    ok = last < n
    ok[ok] &= run[last[ok]] == run[index[ok]]
    from app.core.kernels import barrier_walk  # numba loads on first use, not at import (GUI start time)

    barrier_walk(candles.high, candles.low, candles.close, np.ascontiguousarray(index, dtype=np.int64),
                 np.ascontiguousarray(side, dtype=np.int64), np.ascontiguousarray(stop, dtype=np.float64),
                 np.ascontiguousarray(take, dtype=np.float64), h, ok, outcome, ambiguous, exit_index, exit_price, bars)
    if fine is not None and ambiguous.any():
        _resolve_with_fine(candles, fine, side, stop, take, outcome, ambiguous, exit_index, exit_price)
    done = outcome >= 0
    pnl[done] = net_pnl_pct(side[done], entry[done], exit_price[done], costs)
    return Labels(outcome, ambiguous, exit_index, exit_price, pnl, bars)


def _resolve_with_fine(coarse: Candles, fine: Candles, side: np.ndarray, stop: np.ndarray, take: np.ndarray,
                       outcome: np.ndarray, ambiguous: np.ndarray, exit_index: np.ndarray,
                       exit_price: np.ndarray) -> None:
    """Walk the finer candles inside the ambiguous coarse candle; the first barrier touched decides."""
    tf = coarse.tf_ms
    for i in np.flatnonzero(ambiguous):
        k = int(exit_index[i])
        t0 = int(coarse.time[k])
        a = int(np.searchsorted(fine.time, t0, side="left"))
        b = int(np.searchsorted(fine.time, t0 + tf, side="left"))
        expected = tf // fine.tf_ms
        if b - a != expected:
            continue  # finer candles incomplete here: the conservative LOSS stands
        for f in range(a, b):
            hi, lo = fine.high[f], fine.low[f]
            if side[i] > 0:
                tp_hit, sl_hit = hi >= take[i], lo <= stop[i]
            else:
                tp_hit, sl_hit = lo <= take[i], hi >= stop[i]
            if tp_hit and sl_hit:
                break  # still both in one candle: LOSS, ambiguous
            if sl_hit:
                ambiguous[i] = False
                break
            if tp_hit:
                outcome[i] = WIN
                exit_price[i] = take[i]
                ambiguous[i] = False
                break
