"""A backtest's trades: the columns of the explorer's trade list, and one trade with the candles around it, the
thing a chart draws (entry, exit and levels). Plain data, no Qt: the window and the explorer both import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.candles import Candles
from app.errors import ScalpDeskError
from app.storage import backtests as repo
from app.storage.db import Database

CANDLES_BEFORE = 120  # context on the chart before the signal candle
CANDLES_AFTER = 30  # and after the exit


@dataclass(frozen=True, eq=False)
class TradeRef:
    """One backtest trade with the candles around it (signal_time and exit_time are candle open times, UTC ms)."""

    symbol: str
    timeframe: str
    side: str  # LONG / SHORT
    signal_time: int
    entry: float
    stop_loss: float
    take_profit: float
    exit_time: int
    exit_price: float
    outcome: str  # WIN / LOSS / EXPIRED
    candles: Candles
    confluence_score: float | None = None
    pnl_pct: float | None = None  # after fees and slippage
    source: str = "FILES"  # SIMULATED is said wherever the trade shows
    run_id: int | None = None


@dataclass(frozen=True, eq=False)
class TradeTable:
    """Every stored signal of a run (score from the run's storage floor up), as columns in time order."""

    run_id: int
    source: str
    min_score: float  # the live minimum at the time of the run: the trades the verdict describes
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def row(self, i: int) -> dict[str, Any]:
        return {k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in self.columns.items()}

    def symbols(self) -> list[str]:
        return sorted({str(s) for s in self.columns["symbol"]})


def load_trades(db: Database, run_id: int) -> TradeTable:
    run = repo.get_run(db, run_id)
    if run is None:
        raise ScalpDeskError(f"{db.path}: no backtest run {run_id}")
    settings = run.get("settings") or {}
    summary = run.get("summary") or {}
    min_score = float(summary.get("min_score", (settings.get("confluence") or {}).get("min_score", 0.0)))
    source = str(summary.get("source") or settings.get("data_source") or "FILES")
    return TradeTable(run_id, source, min_score, repo.trade_columns(db, run_id))


def trade_ref(table: TradeTable, i: int, candles: Candles, before: int = CANDLES_BEFORE,
              after: int = CANDLES_AFTER) -> TradeRef:
    """Trade `i` of `table` with `candles` cut to `before` candles ahead of its signal and `after` past its exit."""
    r = table.row(i)
    if candles.symbol != r["symbol"] or candles.timeframe != r["timeframe"]:
        raise ScalpDeskError(f"the candles given are {candles.symbol} {candles.timeframe}, the trade is "
                             f"{r['symbol']} {r['timeframe']}")
    a = int(np.searchsorted(candles.time, r["signal_time"], side="left"))
    b = int(np.searchsorted(candles.time, r["exit_time"], side="right"))
    window = candles.take(np.arange(max(0, a - before), min(len(candles), b + after)))  # a copy, not a view
    return TradeRef(r["symbol"], r["timeframe"], r["side"], int(r["signal_time"]), float(r["entry"]),
                    float(r["stop_loss"]), float(r["take_profit"]), int(r["exit_time"]), float(r["exit_price"]),
                    r["outcome"], window, float(r["confluence_score"]), float(r["pnl_pct"]), table.source,
                    table.run_id)
