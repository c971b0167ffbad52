"""Indicators with TA-Lib. Every value at index t uses candles up to t only (causal)."""

from __future__ import annotations

import numpy as np

from app.core.talib_raw import ta

DAY_MS = 86_400_000
SMA = 0  # TA-Lib's SMA

INDICATOR_NAMES = (
    "rsi", "macd", "macd_signal", "macd_hist", "ema9", "ema21", "ema50", "ema200", "bb_upper", "bb_middle",
    "bb_lower", "atr", "stoch_k", "stoch_d", "adx", "vwap", "vol_z", "bb_width", "bb_width_avg", "macd_hist_prev",
)


def session_vwap(time: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 volume: np.ndarray) -> np.ndarray:
    """VWAP anchored at each UTC day start, for one contiguous run of candles."""
    n = len(time)
    if n == 0:
        return np.empty(0)
    tf = int(time[1] - time[0]) if n > 1 else DAY_MS
    pv = np.empty(n + 1)
    pv[0] = 0.0
    np.cumsum((high + low + close) * volume, out=pv[1:])
    vv = np.empty(n + 1)
    vv[0] = 0.0
    np.cumsum(volume, out=vv[1:])
    first = np.arange(n) - (time % DAY_MS) // tf  # index of the candle that opened this candle's day
    np.maximum(first, 0, out=first)
    denom = (vv[1:] - vv[first]) * 3.0
    vwap = close.copy()
    np.divide(pv[1:] - pv[first], denom, out=vwap, where=denom > 0)
    return vwap


def compute(time: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
            v: np.ndarray) -> dict[str, np.ndarray]:
    """All indicators for one contiguous run of candles (NaN during warm-up)."""
    out: dict[str, np.ndarray] = {}
    out["rsi"] = ta.RSI(c, 14)
    out["macd"], out["macd_signal"], hist = ta.MACD(c, 12, 26, 9)
    out["macd_hist"] = hist
    prev = np.empty_like(hist)
    prev[:1] = np.nan
    prev[1:] = hist[:-1]
    out["macd_hist_prev"] = prev
    for p in (9, 21, 50, 200):
        out[f"ema{p}"] = ta.EMA(c, p)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = ta.BBANDS(c, 20, 2.0, 2.0, SMA)
    out["atr"] = ta.ATR(h, lo, c, 14)
    out["stoch_k"], out["stoch_d"] = ta.STOCH(h, lo, c, 14, 3, SMA, 3, SMA)
    out["adx"] = ta.ADX(h, lo, c, 14)
    out["vwap"] = session_vwap(time, h, lo, c, v)
    vstd = ta.STDDEV(v, 20, 1.0)
    z = vstd * 0.0  # NaN in warm-up, else 0 (constant volume has z = 0)
    np.divide(v - ta.SMA(v, 20), vstd, out=z, where=vstd > 0)
    out["vol_z"] = z
    width = (out["bb_upper"] - out["bb_lower"]) / out["bb_middle"]  # middle band of prices: never 0
    out["bb_width"] = width
    avg = np.full_like(width, np.nan)
    if len(width) > 19:
        avg[19:] = ta.SMA(width[19:], 50)  # width exists from candle 19 on
    out["bb_width_avg"] = avg
    return out
