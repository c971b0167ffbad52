"""From candles to LONG/SHORT signals.

A signal at candle t is decided from data up to the close of t. Its entry is the open of candle t+1
when that candle exists (backtests, replays); in a live scan where t+1 has not opened yet the entry is
the close of t, marked provisional, and the tracker fixes it at the open of t+1 keeping the ATR
distances of SL and TP. A gap in the candles splits the history; indicators restart after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core import indicators, patterns
from app.core.candles import Candles, segments
from app.core.confluence import COMPONENTS, SideScores, Weights, score_sides

if TYPE_CHECKING:
    from app.settings import Settings

LONG, SHORT = "LONG", "SHORT"


@dataclass(frozen=True)
class EngineConfig:
    """The part of the settings the signal engine reads."""

    min_score: float = 60.0
    weights: Weights = field(default_factory=Weights)
    pattern_points: tuple[tuple[str, float], ...] = ()
    sl_atr: float = 1.5
    tp_atr: float = 2.0
    max_hold: int = 24

    @property
    def pattern_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.pattern_points)

    @staticmethod
    def from_settings(settings: Settings) -> EngineConfig:
        ps = settings.pattern_scores
        w = settings.confluence.weights
        return EngineConfig(
            min_score=settings.confluence.min_score,
            weights=Weights(w.trend, w.momentum, w.volume, w.volatility, w.pattern),
            pattern_points=tuple((name, float(ps.patterns[name].points)) for name in ps.enabled),
            sl_atr=settings.risk.sl_atr, tp_atr=settings.risk.tp_atr, max_hold=settings.risk.max_hold_bars,
        )


@dataclass(frozen=True)
class Signal:
    symbol: str
    timeframe: str
    side: str
    signal_time: int
    entry: float
    stop_loss: float
    take_profit: float
    confluence_score: float
    components: dict[str, float]
    patterns: tuple[str, ...]
    atr: float
    entry_provisional: bool = False
    ml_prediction: int | None = None
    ml_probability: float | None = None
    created_at: int = 0

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.symbol, self.timeframe, self.side, self.signal_time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "timeframe": self.timeframe, "side": self.side,
            "signal_time": self.signal_time, "entry": self.entry, "stop_loss": self.stop_loss,
            "take_profit": self.take_profit, "confluence_score": round(self.confluence_score, 4),
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "patterns": list(self.patterns), "atr": self.atr, "entry_provisional": self.entry_provisional,
            "ml_prediction": self.ml_prediction, "ml_probability": self.ml_probability,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, eq=False)
class SignalBatch:
    """Signals of one symbol as columns (fast path for backtests)."""

    symbol: str
    timeframe: str
    pattern_names: tuple[str, ...]
    index: np.ndarray  # position in the candles
    time: np.ndarray
    side: np.ndarray  # +1 LONG, -1 SHORT
    score: np.ndarray
    components: np.ndarray  # (n, 5)
    patterns: np.ndarray  # (n, P) bool
    entry: np.ndarray
    stop_loss: np.ndarray
    take_profit: np.ndarray
    atr: np.ndarray
    provisional: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def select(self, mask: np.ndarray) -> SignalBatch:
        cols = {k: getattr(self, k)[mask] for k in _BATCH_COLUMNS}
        return SignalBatch(self.symbol, self.timeframe, self.pattern_names, **cols)

    def pattern_lists(self) -> list[tuple[str, ...]]:
        names = self.pattern_names
        return [tuple(names[j] for j in np.flatnonzero(row)) for row in self.patterns]

    def to_signals(self) -> list[Signal]:
        pats = self.pattern_lists()
        out = []
        for i in range(len(self)):
            out.append(Signal(
                symbol=self.symbol, timeframe=self.timeframe, side=LONG if self.side[i] > 0 else SHORT,
                signal_time=int(self.time[i]), entry=float(self.entry[i]), stop_loss=float(self.stop_loss[i]),
                take_profit=float(self.take_profit[i]), confluence_score=float(self.score[i]),
                components={name: float(self.components[i, j]) for j, name in enumerate(COMPONENTS)},
                patterns=pats[i], atr=float(self.atr[i]), entry_provisional=bool(self.provisional[i]),
            ))
        return out


_BATCH_COLUMNS = ("index", "time", "side", "score", "components", "patterns", "entry", "stop_loss",
                  "take_profit", "atr", "provisional")


@dataclass(frozen=True, eq=False)
class Analysis:
    """Indicators for all candles and side scores for rows offset..n-1."""

    candles: Candles
    offset: int
    indicators: dict[str, np.ndarray]
    pattern_flags: dict[str, np.ndarray]
    long: SideScores
    short: SideScores
    valid: np.ndarray  # (n - offset,) all indicators warmed up


def compute_indicators(candles: Candles) -> dict[str, np.ndarray]:
    n = len(candles)
    out = {name: np.full(n, np.nan) for name in indicators.INDICATOR_NAMES}
    for a, b in segments(candles.time, candles.tf_ms):
        part = indicators.compute(candles.time[a:b], candles.open[a:b], candles.high[a:b], candles.low[a:b],
                                  candles.close[a:b], candles.volume[a:b])
        for name, values in part.items():
            out[name][a:b] = values
    return out


def compute_patterns(candles: Candles, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    n = len(candles)
    out = {name: np.zeros(n, dtype=np.int8) for name in names}
    for a, b in segments(candles.time, candles.tf_ms):
        part = patterns.detect(names, candles.open[a:b], candles.high[a:b], candles.low[a:b], candles.close[a:b])
        for name, flags in part.items():
            out[name][a:b] = flags
    return out


def analyse(candles: Candles, cfg: EngineConfig, tail: int | None = None) -> Analysis:
    """Indicators on every candle; scores on the last `tail` candles (all when None)."""
    n = len(candles)
    ind = compute_indicators(candles)
    flags = compute_patterns(candles, cfg.pattern_names)
    offset = 0 if tail is None else max(0, n - tail)
    start = max(0, offset - 1)  # one more row so MACD's slope at `offset` sees t-1
    sl = slice(start, n)
    sub_ind = {k: v[sl] for k, v in ind.items()}
    sub_flags = {k: v[sl] for k, v in flags.items()}
    long, short = score_sides(sub_ind, candles.open[sl], candles.close[sl], sub_flags,
                              dict(cfg.pattern_points), cfg.weights)
    drop = offset - start
    if drop:
        long = SideScores(long.score[drop:], long.components[drop:], long.patterns[drop:])
        short = SideScores(short.score[drop:], short.components[drop:], short.patterns[drop:])
    rows = slice(offset, n)
    valid = (np.isfinite(ind["ema200"][rows]) & np.isfinite(ind["adx"][rows]) & np.isfinite(ind["atr"][rows])
             & np.isfinite(ind["bb_width_avg"][rows]) & np.isfinite(ind["macd_hist"][rows])
             & np.isfinite(ind["stoch_d"][rows]) & (np.nan_to_num(ind["atr"][rows]) > 0))
    # MACD's slope needs the previous candle inside the same run of candles.
    prev_ok = np.isfinite(np.r_[np.nan, ind["macd_hist"][:-1]][rows])
    return Analysis(candles, offset, ind, flags, long, short, valid & prev_ok)


def signals_from_analysis(an: Analysis, cfg: EngineConfig, min_score: float | None = None) -> SignalBatch:
    threshold = cfg.min_score if min_score is None else min_score
    ls, ss = an.long.score, an.short.score
    is_long = an.valid & (ls > ss) & (ls >= threshold)
    is_short = an.valid & (ss > ls) & (ss >= threshold)
    rows = np.flatnonzero(is_long | is_short)
    idx = rows + an.offset
    c = an.candles
    side = np.where(is_long[rows], 1, -1).astype(np.int8)
    score = np.where(side > 0, ls[rows], ss[rows])
    comps = np.where((side > 0)[:, None], an.long.components[rows], an.short.components[rows])
    pats = np.where((side > 0)[:, None], an.long.patterns[rows], an.short.patterns[rows])
    nxt = idx + 1
    has_next = nxt < len(c)
    safe_next = np.minimum(nxt, len(c) - 1)
    contiguous = has_next & (c.time[safe_next] - c.time[idx] == c.tf_ms)
    entry = np.where(contiguous, c.open[safe_next], c.close[idx])
    atr = an.indicators["atr"][idx]
    stop = entry - side * cfg.sl_atr * atr
    take = entry + side * cfg.tp_atr * atr
    return SignalBatch(c.symbol, c.timeframe, cfg.pattern_names, idx, c.time[idx], side, score, comps, pats,
                       entry, stop, take, atr, ~contiguous)


def find_signals(candles: Candles, cfg: EngineConfig, tail: int | None = None,
                 min_score: float | None = None) -> SignalBatch:
    return signals_from_analysis(analyse(candles, cfg, tail), cfg, min_score)
