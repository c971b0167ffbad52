"""Outcome rules (the barrier method), shared by the backtester and the live tracker.

Entry at the open of candle t+1. Candles t+1..t+H decide: take-profit touched first -> WIN (exit at the
TP), stop-loss touched first -> LOSS (exit at the SL), both inside one candle -> LOSS and ambiguous
(finer candles of the same symbol, when given, resolve it), neither -> EXPIRED at the close of t+H.
A signal whose horizon runs past the data or across a gap is undecided and not counted.
pnl_pct is after fees and slippage on both sides: 100 * side * (exit - entry) / entry - 2 * (fee + slip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.core.candles import Candles

WIN, LOSS, EXPIRED, UNDECIDED = 0, 1, 2, -1
OUTCOME_NAMES = {WIN: "WIN", LOSS: "LOSS", EXPIRED: "EXPIRED"}


@dataclass(frozen=True)
class Costs:
    taker_pct: float = 0.10
    slippage_pct: float = 0.02

    @property
    def round_trip_pct(self) -> float:
        return 2.0 * (self.taker_pct + self.slippage_pct)


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
          take: np.ndarray, max_hold: int, costs: Costs, fine: Candles | None = None,
          chunk: int = 20_000) -> Labels:
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
    run = np.r_[0, np.cumsum(np.diff(candles.time) != candles.tf_ms)]
    last = index + h
    ok = last < n
    ok[ok] &= run[last[ok]] == run[index[ok]]
    highs = sliding_window_view(candles.high, h)  # row r: high[r .. r+h-1]
    lows = sliding_window_view(candles.low, h)
    todo = np.flatnonzero(ok)
    for a in range(0, len(todo), chunk):
        sel = todo[a:a + chunk]
        rows = index[sel] + 1
        hi, lo = highs[rows], lows[rows]
        s = side[sel][:, None]
        tp = take[sel][:, None]
        sl = stop[sel][:, None]
        tp_hit = np.where(s > 0, hi >= tp, lo <= tp)
        sl_hit = np.where(s > 0, lo <= sl, hi >= sl)
        first_tp = np.where(tp_hit.any(axis=1), tp_hit.argmax(axis=1), h)
        first_sl = np.where(sl_hit.any(axis=1), sl_hit.argmax(axis=1), h)
        is_loss = (first_sl < h) & (first_sl <= first_tp)
        is_win = (first_tp < h) & (first_tp < first_sl)
        j = np.where(is_loss, first_sl, np.where(is_win, first_tp, h - 1))
        outcome[sel] = np.where(is_loss, LOSS, np.where(is_win, WIN, EXPIRED))
        ambiguous[sel] = is_loss & (first_sl == first_tp)
        exit_index[sel] = rows + j
        exit_price[sel] = np.where(is_loss, stop[sel], np.where(is_win, take[sel],
                                                                 candles.close[rows + j]))
        bars[sel] = j + 1
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
