"""Compiled loops where measured speed demands them (numba, cached on disk after the first call).

The barrier walk is inherently sequential per signal (stop at the first touch); in numpy it costs
either signals x H comparisons or one gather per step, in a compiled loop only the bars really held.
"""

from __future__ import annotations

import os

import numpy as np

if "NUMBA_CACHE_DIR" not in os.environ:
    # a bundle's own folder may be read-only: cache in the user's data folder then
    import sys

    if getattr(sys, "frozen", False):
        from app import paths

        os.environ["NUMBA_CACHE_DIR"] = str(paths.user_data_dir() / "numba-cache")

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def njit(**options: Any) -> Callable[[F], F]:
    """numba.njit with the compiled function keeping its Python signature for the type checker."""
    return cast(Callable[[F], F], numba.njit(**options))


@njit(cache=True, nogil=True)
def barrier_walk(high: np.ndarray, low: np.ndarray, close: np.ndarray, index: np.ndarray, side: np.ndarray,
                 stop: np.ndarray, take: np.ndarray, h: int, ok: np.ndarray, outcome: np.ndarray,
                 ambiguous: np.ndarray, exit_index: np.ndarray, exit_price: np.ndarray,
                 bars: np.ndarray) -> None:  # pragma: no cover (compiled)
    """Fill the outputs for every signal with ok[i]: 0 WIN, 1 LOSS (stop first or both), 2 EXPIRED."""
    for i in range(len(index)):
        if not ok[i]:
            continue
        t = index[i]
        long = side[i] > 0
        for j in range(1, h + 1):
            k = t + j
            if long:
                tp_hit = high[k] >= take[i]
                sl_hit = low[k] <= stop[i]
            else:
                tp_hit = low[k] <= take[i]
                sl_hit = high[k] >= stop[i]
            if sl_hit:
                outcome[i] = 1
                ambiguous[i] = tp_hit
                exit_price[i] = stop[i]
            elif tp_hit:
                outcome[i] = 0
                exit_price[i] = take[i]
            elif j == h:
                outcome[i] = 2
                exit_price[i] = close[k]
            else:
                continue
            exit_index[i] = k
            bars[i] = j
            break


@njit(cache=True, nogil=True)
def track_walk(t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, tf: int,
               side: np.ndarray, entry: np.ndarray, sl: np.ndarray, tp: np.ndarray, atr: np.ndarray,
               sl_atr: np.ndarray, tp_atr: np.ndarray, provisional: np.ndarray, signal_time: np.ndarray,
               last_time: np.ndarray, bars: np.ndarray, mfe: np.ndarray, mae: np.ndarray, last_price: np.ndarray,
               max_hold: np.ndarray, status: np.ndarray, exit_price: np.ndarray, exit_time: np.ndarray,
               ambiguous: np.ndarray) -> None:  # pragma: no cover (compiled)
    """Walk each open signal through new closed candles (t ascending), in place, with the backtest's rules.

    status: -1 still open, 0 WIN, 1 LOSS, 2 EXPIRED. A candle that does not follow the signal's last one
    (a gap) stops its walk: nothing is decided on missing data.
    """
    n = len(t)
    for i in range(len(side)):
        status[i] = -1
        k = np.searchsorted(t, last_time[i] + 1)
        while k < n:
            if t[k] != last_time[i] + tf:
                break
            if provisional[i] and t[k] == signal_time[i] + tf:
                entry[i] = o[k]
                sl[i] = o[k] - side[i] * sl_atr[i] * atr[i]
                tp[i] = o[k] + side[i] * tp_atr[i] * atr[i]
                provisional[i] = False
            if side[i] > 0:
                tp_hit = h[k] >= tp[i]
                sl_hit = lo[k] <= sl[i]
                fav = (h[k] - entry[i]) / entry[i] * 100.0
                adv = (lo[k] - entry[i]) / entry[i] * 100.0
            else:
                tp_hit = lo[k] <= tp[i]
                sl_hit = h[k] >= sl[i]
                fav = (entry[i] - lo[k]) / entry[i] * 100.0
                adv = (entry[i] - h[k]) / entry[i] * 100.0
            mfe[i] = max(mfe[i], fav)
            mae[i] = min(mae[i], adv)
            bars[i] += 1
            last_time[i] = t[k]
            last_price[i] = c[k]
            if sl_hit:
                status[i] = 1
                exit_price[i] = sl[i]
                ambiguous[i] = tp_hit
            elif tp_hit:
                status[i] = 0
                exit_price[i] = tp[i]
            elif bars[i] >= max_hold[i]:
                status[i] = 2
                exit_price[i] = c[k]
            if status[i] >= 0:
                exit_time[i] = t[k]
                break
            k += 1
