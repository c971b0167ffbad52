"""From candles to LONG/SHORT signals.

A signal at candle t is decided from data up to the close of t. Its entry is the open of candle t+1
when that candle exists (backtests, replays); in a live scan where t+1 has not opened yet the entry is
the close of t, marked provisional, and the tracker fixes it at the open of t+1 keeping the ATR
distances of SL and TP. A gap in the candles splits the history; indicators restart after it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core import indicators, patterns
from app.core.candles import Candles, segments
from app.core.confluence import COMPONENTS, SideScores, Weights, score_sides
from app.core.outcomes import Costs
from app.core.records import Side

if TYPE_CHECKING:
    from app.settings import Settings

LONG, SHORT = Side.LONG, Side.SHORT


@dataclass(frozen=True)
class EngineConfig:
    """The part of the settings the signal engine reads."""

    min_score: float = 60.0
    weights: Weights = field(default_factory=Weights)
    pattern_points: tuple[tuple[str, float], ...] = ()
    sl_atr: float = 1.5
    tp_atr: float = 2.0
    max_hold: int = 24
    round_trip_pct: float = 0.0  # fees and slippage of entry and exit, % of the price
    target_cost_multiple: float | None = None  # None: no cost check (the target may be inside the costs)
    sides: str = "both"  # both / long / short: which sides become signals

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
            round_trip_pct=Costs.from_settings(settings).round_trip_pct,
            target_cost_multiple=settings.risk.target_cost_multiple, sides=settings.scanner.sides,
        )

    def target_pays(self, atr: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Whether the target, after the round-trip costs, pays at least `target_cost_multiple` times those costs.

        Judged on the close of the signal candle (known when the signal is decided, the same for a live scan and a
        backtest), so a setup is never a signal in one and not in the other."""
        if self.target_cost_multiple is None:
            return np.ones(len(atr), dtype=bool)
        target_pct = 100.0 * self.tp_atr * atr / price
        return np.asarray(target_pct - self.round_trip_pct >= self.target_cost_multiple * self.round_trip_pct)


@dataclass(frozen=True)
class Signal:
    symbol: str
    timeframe: str
    side: Side
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
    cost_skipped: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Candle positions of setups at or above the score whose target did not pay its costs (not signals)."""

    def __len__(self) -> int:
        return len(self.index)

    def select(self, mask: np.ndarray) -> SignalBatch:
        cols = {k: getattr(self, k)[mask] for k in _BATCH_COLUMNS}
        return SignalBatch(self.symbol, self.timeframe, self.pattern_names, **cols, cost_skipped=self.cost_skipped)

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
    pattern_flags: dict[str, np.ndarray]  # rows offset..n-1, like the scores
    long: SideScores
    short: SideScores
    valid: np.ndarray  # (n - offset,) all indicators warmed up


def compute_indicators(candles: Candles, segs: list[tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    segs = segments(candles.time, candles.tf_ms) if segs is None else segs
    c = candles
    if len(segs) == 1:
        return indicators.compute(c.time, c.open, c.high, c.low, c.close, c.volume)
    n = len(candles)
    out = {name: np.full(n, np.nan) for name in indicators.INDICATOR_NAMES}
    for a, b in segs:
        part = indicators.compute(c.time[a:b], c.open[a:b], c.high[a:b], c.low[a:b], c.close[a:b], c.volume[a:b])
        for name, values in part.items():
            out[name][a:b] = values
    return out


def compute_patterns(candles: Candles, names: tuple[str, ...], start: int = 0,
                     segs: list[tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    """Pattern flags of candles start..n-1 (arrays of n - start), each computed on just the window it reads."""
    segs = segments(candles.time, candles.tf_ms) if segs is None else segs
    back = patterns.max_lookback(names)
    parts: list[dict[str, np.ndarray]] = []
    for a, b in segs:
        if b <= start:
            continue
        lo = max(a, start - back)
        part = patterns.detect(names, candles.open[lo:b], candles.high[lo:b], candles.low[lo:b],
                               candles.close[lo:b])
        keep = max(start, lo) - lo
        parts.append({name: flags[keep:] for name, flags in part.items()})
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([p[name] for p in parts]) if parts else np.zeros(0, dtype=np.int32)
            for name in names}


def analyse(candles: Candles, cfg: EngineConfig, tail: int | None = None) -> Analysis:
    """Indicators on every candle; scores on the last `tail` candles (all when None)."""
    return analyse_many([candles], cfg, tail)[0]


def analyse_many(series: list[Candles], cfg: EngineConfig, tail: int | None = None) -> list[Analysis]:
    """`analyse` for many symbols, scoring all of them in one vectorised pass (the scanner's path)."""
    prepared = []
    for candles in series:
        n = len(candles)
        segs = segments(candles.time, candles.tf_ms)
        offset = 0 if tail is None else max(0, n - tail)
        ind = compute_indicators(candles, segs)
        flags = compute_patterns(candles, cfg.pattern_names, offset, segs)
        prepared.append((candles, offset, ind, flags))
    if not prepared:
        return []
    keys = indicators.INDICATOR_NAMES
    if len(prepared) == 1:  # one series (backtests): no copies
        c0, off, ind0, flags0 = prepared[0]
        cat_ind = {k: ind0[k][off:] for k in keys}
        cat_flags, cat_open, cat_close = flags0, c0.open[off:], c0.close[off:]
    else:
        cat_ind = {k: np.concatenate([p[2][k][p[1]:] for p in prepared]) for k in keys}
        cat_flags = {k: np.concatenate([p[3][k] for p in prepared]) for k in cfg.pattern_names}
        cat_open = np.concatenate([p[0].open[p[1]:] for p in prepared])
        cat_close = np.concatenate([p[0].close[p[1]:] for p in prepared])
    long, short = score_sides(cat_ind, cat_open, cat_close, cat_flags, dict(cfg.pattern_points), cfg.weights)
    valid_all = (np.isfinite(cat_ind["ema200"]) & np.isfinite(cat_ind["adx"]) & np.isfinite(cat_ind["atr"])
                 & np.isfinite(cat_ind["bb_width_avg"]) & np.isfinite(cat_ind["macd_hist_prev"])
                 & np.isfinite(cat_ind["stoch_d"]) & (np.nan_to_num(cat_ind["atr"]) > 0))
    out = []
    pos = 0
    for candles, offset, ind, flags in prepared:
        m = len(candles) - offset
        sl = slice(pos, pos + m)
        out.append(Analysis(candles, offset, ind, flags, long.rows(sl), short.rows(sl), valid_all[sl]))
        pos += m
    return out


def signals_from_analysis(an: Analysis, cfg: EngineConfig, min_score: float | None = None) -> SignalBatch:
    threshold = cfg.min_score if min_score is None else min_score
    ls, ss = an.long.score, an.short.score
    is_long = an.valid & (ls > ss) & (ls >= threshold) & (cfg.sides != "short")
    is_short = an.valid & (ss > ls) & (ss >= threshold) & (cfg.sides != "long")
    rows = np.flatnonzero(is_long | is_short)
    idx = rows + an.offset
    c = an.candles
    if len(rows) == 0:
        return _empty_batch(c, cfg.pattern_names)
    side = np.where(is_long[rows], 1, -1).astype(np.int8)
    score = np.where(side > 0, ls[rows], ss[rows])
    is_l = side > 0
    comps = np.where(is_l, an.long.components[:, rows], an.short.components[:, rows]).T
    pats = np.where(is_l, an.long.patterns[:, rows], an.short.patterns[:, rows]).T
    nxt = idx + 1
    has_next = nxt < len(c)
    safe_next = np.minimum(nxt, len(c) - 1)
    contiguous = has_next & (c.time[safe_next] - c.time[idx] == c.tf_ms)
    entry = np.where(contiguous, c.open[safe_next], c.close[idx])
    atr = an.indicators["atr"][idx]
    stop = entry - side * cfg.sl_atr * atr
    take = entry + side * cfg.tp_atr * atr
    batch = SignalBatch(c.symbol, c.timeframe, cfg.pattern_names, idx, c.time[idx], side, score, comps, pats,
                        entry, stop, take, atr, ~contiguous)
    pays = cfg.target_pays(atr, c.close[idx])
    if pays.all():
        return batch
    return dataclasses.replace(batch.select(pays), cost_skipped=idx[~pays])


def _empty_batch(c: Candles, names: tuple[str, ...]) -> SignalBatch:
    f = np.empty(0)
    return SignalBatch(c.symbol, c.timeframe, names, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64),
                       np.empty(0, dtype=np.int8), f, np.empty((0, 5)), np.empty((0, len(names)), dtype=bool), f, f, f,
                       f, np.empty(0, dtype=bool))


def find_signals(candles: Candles, cfg: EngineConfig, tail: int | None = None,
                 min_score: float | None = None) -> SignalBatch:
    return signals_from_analysis(analyse(candles, cfg, tail), cfg, min_score)
