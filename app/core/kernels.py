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

from typing import Any

import numba

njit: Any = numba.njit  # typed as Any: mypy cannot see through numba's dispatcher


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


@njit(cache=True, inline="always")
def _unit(x: float) -> float:  # pragma: no cover (compiled)
    if x != x or x <= 0.0:  # NaN (warm-up) counts as no evidence
        return 0.0
    return 1.0 if x >= 1.0 else x


@njit(cache=True, nogil=True)
def confluence(o: np.ndarray, c: np.ndarray, ema9: np.ndarray, ema21: np.ndarray, ema50: np.ndarray,
               ema200: np.ndarray, adx: np.ndarray, rsi: np.ndarray, hist: np.ndarray, hist_prev: np.ndarray,
               k: np.ndarray, d: np.ndarray, vol_z: np.ndarray, vwap: np.ndarray, bb_upper: np.ndarray,
               bb_lower: np.ndarray, bb_width: np.ndarray, bb_width_avg: np.ndarray, flags: np.ndarray,
               neutral: np.ndarray, points: np.ndarray, w: np.ndarray, pattern_cap: float,
               comps: np.ndarray, seen: np.ndarray, score: np.ndarray) -> None:  # pragma: no cover (compiled)
    """Both sides' components (comps[side, 5, n]), patterns seen (seen[side, P, n]) and scores (score[side, n]).

    w holds the five weights already multiplied by 100 / sum(weights). Side 0 is LONG, side 1 SHORT.
    """
    n = len(c)
    n_pat = flags.shape[0]
    scale_pat = w[4] / pattern_cap if pattern_cap > 0 else 0.0
    for i in range(n):
        adx_f = 0.5 + 0.5 * _unit((adx[i] - 15.0) / 20.0)
        vol_part = _unit(vol_z[i] / 2.0)
        band = bb_upper[i] - bb_lower[i]
        pct_b = (c[i] - bb_lower[i]) / band if band > 0 else np.nan
        expansion = _unit(bb_width[i] / bb_width_avg[i] - 0.5) if bb_width_avg[i] > 0 else 0.0
        for s in range(2):
            if s == 0:
                align = ((c[i] > ema9[i]) + (ema9[i] > ema21[i]) + (ema21[i] > ema50[i]) + (c[i] > ema200[i]))
                rsi_part = _unit((rsi[i] - 45.0) / 15.0) if rsi[i] < 75 else 0.0
                macd = 0.5 * ((hist[i] > 0.0) + (hist[i] > hist_prev[i]))
                stoch = 1.0 if (k[i] > d[i] and k[i] < 80) else 0.0
                volume = 0.6 * vol_part * (c[i] > o[i]) + 0.4 * (c[i] > vwap[i])
                centre = 0.75
            else:
                align = ((c[i] < ema9[i]) + (ema9[i] < ema21[i]) + (ema21[i] < ema50[i]) + (c[i] < ema200[i]))
                rsi_part = _unit((55.0 - rsi[i]) / 15.0) if rsi[i] > 25 else 0.0
                macd = 0.5 * ((hist[i] < 0.0) + (hist[i] < hist_prev[i]))
                stoch = 1.0 if (k[i] < d[i] and k[i] > 20) else 0.0
                volume = 0.6 * vol_part * (c[i] < o[i]) + 0.4 * (c[i] < vwap[i])
                centre = 0.25
            position = _unit(1.0 - 2.0 * abs(pct_b - centre))
            pts = 0.0
            for j in range(n_pat):
                f = flags[j, i]
                hit = f != 0 if neutral[j] else (f > 0 if s == 0 else f < 0)
                seen[s, j, i] = hit
                if hit:
                    pts += points[j]
            c0 = w[0] * 0.25 * align * adx_f
            c1 = w[1] * (rsi_part + macd + stoch) / 3.0
            c2 = w[2] * volume
            c3 = w[3] * 0.5 * (position + expansion)
            c4 = scale_pat * min(pts, pattern_cap)
            comps[s, 0, i] = c0
            comps[s, 1, i] = c1
            comps[s, 2, i] = c2
            comps[s, 3, i] = c3
            comps[s, 4, i] = c4
            total = c0 + c1 + c2 + c3 + c4
            score[s, i] = 0.0 if total < 0.0 else (100.0 if total > 100.0 else total)


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
