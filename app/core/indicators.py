"""Indicators with TA-Lib. Every value at index t uses candles up to t only (causal)."""

from __future__ import annotations

import numpy as np
import talib

DAY_MS = 86_400_000
WARMUP = 200  # EMA 200 is the longest look-back; earlier candles carry no signal

INDICATOR_NAMES = (
    "rsi", "macd", "macd_signal", "macd_hist", "ema9", "ema21", "ema50", "ema200", "bb_upper", "bb_middle",
    "bb_lower", "atr", "stoch_k", "stoch_d", "adx", "vwap", "vol_z", "bb_width", "bb_width_avg",
)


def session_vwap(time: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 volume: np.ndarray) -> np.ndarray:
    """VWAP anchored at each UTC day start."""
    tp = (high + low + close) / 3.0
    pv = np.cumsum(tp * volume)
    vv = np.cumsum(volume)
    day = time // DAY_MS
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    run_id = np.cumsum(np.r_[True, day[1:] != day[:-1]]) - 1
    pv_before = np.r_[0.0, pv][starts][run_id]
    vv_before = np.r_[0.0, vv][starts][run_id]
    denom = vv - vv_before
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(denom > 0, (pv - pv_before) / denom, close)
    return np.asarray(vwap, dtype=np.float64)


def compute(time: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
            v: np.ndarray) -> dict[str, np.ndarray]:
    """All indicators for one contiguous run of candles (NaN during warm-up)."""
    out: dict[str, np.ndarray] = {}
    out["rsi"] = talib.RSI(c, 14)
    out["macd"], out["macd_signal"], out["macd_hist"] = talib.MACD(c, 12, 26, 9)
    for p in (9, 21, 50, 200):
        out[f"ema{p}"] = talib.EMA(c, p)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = talib.BBANDS(c, 20, 2.0, 2.0, talib.MA_Type.SMA)
    out["atr"] = talib.ATR(h, lo, c, 14)
    out["stoch_k"], out["stoch_d"] = talib.STOCH(h, lo, c, 14, 3, talib.MA_Type.SMA, 3, talib.MA_Type.SMA)
    out["adx"] = talib.ADX(h, lo, c, 14)
    out["vwap"] = session_vwap(time, h, lo, c, v)
    vmean = talib.SMA(v, 20)
    vstd = talib.STDDEV(v, 20, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["vol_z"] = np.where(vstd > 0, (v - vmean) / vstd, 0.0)
        width = (out["bb_upper"] - out["bb_lower"]) / out["bb_middle"]
    out["bb_width"] = width
    out["bb_width_avg"] = talib.SMA(np.where(np.isfinite(width), width, 0.0), 50)
    out["bb_width_avg"][: 19 + 49] = np.nan
    return out
