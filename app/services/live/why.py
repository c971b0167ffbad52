"""Why a signal fired: its score's components against their maximum, the patterns seen, the indicators on the
signal candle, what the ML filter said (or why it is off) and what history says about its score band: expectancy
with its interval, the sample, the run and its verdict, and a win rate only beside its break-even."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.candles import Candles
from app.core.confluence import COMPONENTS, Weights
from app.core.edge import break_even_win_rate
from app.core.outcomes import Costs
from app.services.live.accuracy import AccuracyTable
from app.storage.db import Database

# (key in the indicator columns, words shown)
INDICATORS = (("rsi", "RSI 14"), ("macd_hist", "MACD histogram"), ("stoch_k", "Stochastic %K"),
              ("stoch_d", "Stochastic %D"), ("adx", "ADX 14"), ("atr", "ATR 14"), ("ema9", "EMA 9"),
              ("ema21", "EMA 21"), ("ema50", "EMA 50"), ("ema200", "EMA 200"), ("vwap", "VWAP (UTC day)"),
              ("bb_upper", "Bollinger upper"), ("bb_lower", "Bollinger lower"), ("bb_width", "Bollinger width"),
              ("bb_width_avg", "Bollinger width, 50 avg"), ("vol_z", "Volume z-score"))
PRICE_LIKE = frozenset({"atr", "ema9", "ema21", "ema50", "ema200", "vwap", "bb_upper", "bb_lower", "macd_hist"})


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    points: float
    max_points: float  # the component's weight on the 0..100 scale


@dataclass(frozen=True)
class WhyReport:
    signal_id: int
    symbol: str
    timeframe: str
    side: str
    signal_time: int
    status: str
    score: float
    min_score: float
    components: tuple[Component, ...]
    patterns: tuple[str, ...]
    close: float | None  # of the signal candle
    indicators: tuple[tuple[str, str, float | None], ...]  # (key, words, value at the signal candle)
    indicator_note: str  # why there are none (the candle left the buffer)
    ml_probability: float | None
    ml_status: str
    history: dict[str, Any]  # AccuracyTable.lookup of the score band
    break_even_win_rate: float | None  # of this signal's own stop and target after costs
    entry: float
    stop_loss: float
    take_profit: float
    exit_price: float | None
    pnl_pct: float | None
    tick: float


def scaled_weights(w: Weights) -> tuple[float, ...]:
    """Each component's maximum on the 0..100 score scale (app.core.confluence scales the weights to 100)."""
    total = sum(w.as_tuple())
    return tuple(x * 100.0 / total if total > 0 else 0.0 for x in w.as_tuple())


def level_break_even(entry: float, stop: float, target: float, costs: Costs) -> float | None:
    """The win rate at which a trade with these levels breaks even after costs (a win at the target, a loss at the
    stop); None when the target cannot pay the costs."""
    win = 100.0 * abs(target - entry) / entry - costs.round_trip_pct
    loss = -100.0 * abs(entry - stop) / entry - costs.round_trip_pct
    return break_even_win_rate(np.array([win, loss]), np.array([True, False]))


def explain(db: Database, signal_id: int, candles: Candles | None, indicators: dict[str, np.ndarray] | None,
            weights: Weights, min_score: float, accuracy: AccuracyTable, ml_status: str, costs: Costs,
            tick: float) -> WhyReport | None:
    """The report of one recorded signal (None when the id is unknown)."""
    rows = db.query("SELECT * FROM live_signals WHERE id = ?", (signal_id,))
    if not rows:
        return None
    r = rows[0]
    stored = json.loads(r["components"] or "{}")
    tops = scaled_weights(weights)
    comps = tuple(Component(name, float(stored.get(name, 0.0)), top) for name, top in zip(COMPONENTS, tops,
                                                                                         strict=True))
    values: tuple[tuple[str, str, float | None], ...] = ()
    note = ""
    close = None
    t = int(r["signal_time"])
    if candles is None or indicators is None or len(candles) == 0:
        note = "the candles of this pair are not loaded"
    else:
        i = int(np.searchsorted(candles.time, t))
        if i >= len(candles) or int(candles.time[i]) != t:
            note = "the signal candle is older than the candles kept in memory"
        else:
            close = float(candles.close[i])
            values = tuple((k, words, _finite(indicators[k][i]) if k in indicators else None)
                           for k, words in INDICATORS)
    entry, stop, target = float(r["entry"]), float(r["stop_loss"]), float(r["take_profit"])
    return WhyReport(
        int(r["id"]), r["symbol"], r["timeframe"], r["side"], t, r["status"], float(r["confluence_score"]),
        min_score, comps, tuple(json.loads(r["patterns"] or "[]")), close, values, note, r["ml_probability"],
        ml_status, accuracy.lookup(float(r["confluence_score"]), r["symbol"], r["timeframe"]),
        level_break_even(entry, stop, target, costs), entry, stop, target, r["exit_price"], r["pnl_pct"], tick)


def _finite(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None
