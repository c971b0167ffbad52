"""What the candle chart draws, prepared in the pipeline's thread: the candles, the indicator overlays (computed
here with app.core.indicators, never in the window), every recorded signal of the pair with its outcome, and the
pair's tick size."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.core.candles import Candles
from app.core.signals import compute_indicators
from app.storage.db import Database

OVERLAYS = ("ema9", "ema21", "ema50", "ema200", "bb_upper", "bb_middle", "bb_lower", "vwap", "rsi", "macd",
            "macd_signal", "macd_hist")


@dataclass(frozen=True, slots=True)
class SignalMark:
    """A recorded signal of the pair, where the chart marks it."""

    id: int
    side: str
    signal_time: int
    entry: float
    stop_loss: float
    take_profit: float
    status: str  # OPEN / WIN / LOSS / EXPIRED
    closed_at: int | None
    exit_price: float | None
    pnl_pct: float | None
    score: float


@dataclass(frozen=True, eq=False)
class ChartData:
    symbol: str
    timeframe: str
    candles: Candles
    indicators: dict[str, np.ndarray]  # OVERLAYS, aligned with the candles (NaN while warming up)
    marks: tuple[SignalMark, ...]
    tick: float
    label: str  # the source as the status bar names it (SIMULATED / REPLAY x60 / LIVE binance)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> tuple[object, ...]:
        """What makes two payloads draw the same picture."""
        c = self.candles
        last = (int(c.time[-1]), float(c.close[-1]), float(c.high[-1]), float(c.low[-1])) if len(c) else None
        return (self.symbol, self.timeframe, len(c), last, self.marks, self.label)


def overlays(candles: Candles) -> dict[str, np.ndarray]:
    """The indicator series the chart can show (for candles that are not a live feed, e.g. a backtest trade)."""
    return ChartCache().overlays(candles)


def signal_marks(db: Database, source: str, symbol: str, timeframe: str, since_ms: int,
                 limit: int = 2000) -> tuple[SignalMark, ...]:
    """Every signal of the pair recorded by `source` from `since_ms` on (the newest `limit`), oldest first."""
    rows = db.query("SELECT id, side, signal_time, entry, stop_loss, take_profit, status, closed_at, exit_price, "
                    "pnl_pct, confluence_score FROM live_signals WHERE source = ? AND symbol = ? AND timeframe = ? "
                    "AND signal_time >= ? ORDER BY signal_time DESC, id DESC LIMIT ?",
                    (source, symbol, timeframe, since_ms, limit))
    return tuple(SignalMark(int(r["id"]), r["side"], int(r["signal_time"]), float(r["entry"]), float(r["stop_loss"]),
                            float(r["take_profit"]), r["status"], r["closed_at"], r["exit_price"], r["pnl_pct"],
                            float(r["confluence_score"])) for r in reversed(rows))


class ChartCache:
    """Indicators of the last few feeds asked for, recomputed only when their candles changed (the window asks for
    the chart every second, and for a signal's reasons now and then)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._cache: dict[tuple[str, str], tuple[tuple[object, ...], dict[str, np.ndarray]]] = {}

    def indicators(self, candles: Candles) -> dict[str, np.ndarray]:
        """Every indicator of app.core.indicators (the why panel reads more than the chart draws), read-only."""
        c = candles
        feed = (c.symbol, c.timeframe)
        key = (len(c), int(c.time[0]) if len(c) else None, (int(c.time[-1]), float(c.close[-1])) if len(c) else None)
        held = self._cache.pop(feed, None)
        if held is None or held[0] != key:
            value = compute_indicators(c) if len(c) else {}
            for v in value.values():
                v.flags.writeable = False
            held = (key, value)
        self._cache[feed] = held  # most recent last
        while len(self._cache) > self.size:
            del self._cache[next(iter(self._cache))]
        return held[1]

    def overlays(self, candles: Candles) -> dict[str, np.ndarray]:
        ind = self.indicators(candles)
        return {k: ind[k] for k in OVERLAYS if k in ind}
