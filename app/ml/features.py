"""Features of a signal from data at or before its candle only (the same code for backtest and live)."""

from __future__ import annotations

import numpy as np
import talib

from app.core.confluence import COMPONENTS
from app.core.signals import Analysis

FEATURE_NAMES: tuple[str, ...] = (
    "side", "score", *[f"comp_{c}" for c in COMPONENTS], "n_patterns",
    "rsi", "macd_hist_rel", "ema9_21", "ema21_50", "close_ema200", "pct_b", "bb_width", "atr_rel",
    "stoch_k", "stoch_d", "adx", "vol_z", "close_vwap", "ret_1", "ret_5", "ret_20", "dist_high_50",
    "dist_low_50", "hour", "weekday",
)


class MLFeatureExtractor:
    """Turns signals into the feature matrix the model reads; columns in FEATURE_NAMES order."""

    feature_names = FEATURE_NAMES

    def extract(self, an: Analysis, index: np.ndarray, side: np.ndarray, score: np.ndarray,
                components: np.ndarray, patterns: np.ndarray) -> np.ndarray:
        c = an.candles
        ind = an.indicators
        close = c.close
        i = np.asarray(index, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            hi50 = talib.MAX(c.high, 50)
            lo50 = talib.MIN(c.low, 50)
            logc = np.log(close)

            def ret(k: int) -> np.ndarray:
                j = np.maximum(i - k, 0)
                return np.where(i - k >= 0, logc[i] - logc[j], np.nan)

            rng = ind["bb_upper"][i] - ind["bb_lower"][i]
            cols = [
                side.astype(np.float64), score, *[components[:, k] for k in range(len(COMPONENTS))],
                patterns.sum(axis=1).astype(np.float64),
                ind["rsi"][i], ind["macd_hist"][i] / close[i], ind["ema9"][i] / ind["ema21"][i] - 1,
                ind["ema21"][i] / ind["ema50"][i] - 1, close[i] / ind["ema200"][i] - 1,
                (close[i] - ind["bb_lower"][i]) / rng, ind["bb_width"][i], ind["atr"][i] / close[i],
                ind["stoch_k"][i], ind["stoch_d"][i], ind["adx"][i], ind["vol_z"][i], close[i] / ind["vwap"][i] - 1,
                ret(1), ret(5), ret(20), close[i] / hi50[i] - 1, close[i] / lo50[i] - 1,
                ((c.time[i] // 3_600_000) % 24).astype(np.float64),
                (((c.time[i] // 86_400_000) + 3) % 7).astype(np.float64),  # 1970-01-01 was a Thursday
            ]
        return np.column_stack(cols).astype(np.float32)
