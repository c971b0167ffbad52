"""The backtest explorer's jobs: a backtest whose trades can be looked at one by one, and the list of finished runs
(for reports and exports). The trade list and the candles around a trade are read and cut in the job's thread;
the window only shows them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.candles import Candles
from app.services.research.trades import TradeRef, TradeTable
from app.session.jobs import BacktestRequest, Control, load_candles, run_loaded
from app.settings import Settings


@dataclass(frozen=True, eq=False)
class Exploration:
    """A finished backtest: its result (the JSON form), its stored trades and the candles they were found on."""

    result: dict[str, Any]
    trades: TradeTable
    candles: dict[tuple[str, str], Candles]

    def trade(self, i: int, control: Control | None = None) -> TradeRef:
        """Trade `i` of the table with the candles around it (run this in a job, not in the GUI thread)."""
        from app.services.research.trades import trade_ref

        if control is not None:
            control.check()
        r = self.trades.row(i)
        return trade_ref(self.trades, i, self.candles[(r["symbol"], r["timeframe"])])


def explore(settings: Settings, db_path: Path, req: BacktestRequest, control: Control | None = None) -> Exploration:
    """`jobs.backtest`, then the run's trades read back from the database, in the same job."""
    ctl = control or Control()
    return ctl.call(lambda: _explore(settings, db_path, req, ctl))


def _explore(settings: Settings, db_path: Path, req: BacktestRequest, ctl: Control) -> Exploration:
    from app.services.research.trades import load_trades
    from app.storage.db import Database

    datasets, fine = load_candles(settings, req, ctl)
    result = run_loaded(settings, db_path, req, (datasets, fine), ctl.part(0.0, 0.95))
    ctl.progress(0.96, "reading the trade list")
    with Database(db_path) as db:
        trades = load_trades(db, result.run_id)
    ctl.check()
    return Exploration(result.to_dict(), trades, {(c.symbol, c.timeframe): c for c in datasets})


def finished_runs(db_path: Path, control: Control | None = None) -> list[dict[str, Any]]:
    """Finished backtest runs, newest first: id, date, data (pairs, timeframe, candles), verdict, signals."""
    from app.storage import backtests as repo
    from app.storage.db import Database

    if control is not None:
        control.check()
    if not Path(db_path).exists():
        return []
    with Database(db_path) as db:
        runs = repo.finished_runs(db)
    return [run_row(r) for r in runs]


def run_row(run: dict[str, Any]) -> dict[str, Any]:
    data = run.get("data") or []
    summary = run.get("summary") or {}
    counts = run.get("counts") or {}
    symbols = sorted({d.get("symbol", "?") for d in data})
    tfs = sorted({d.get("timeframe", "?") for d in data})
    firsts = [d["first"] for d in data if d.get("first") is not None]
    lasts = [d["last"] for d in data if d.get("last") is not None]
    span = "" if not firsts else (f"{_day(min(firsts))} to {_day(max(lasts))}")
    pairs = ", ".join(symbols[:4]) + (f" +{len(symbols) - 4}" if len(symbols) > 4 else "")
    source = summary.get("source") or (run.get("settings") or {}).get("data_source") or ""
    return {"id": int(run["id"]), "started": _day(run["started_at"], minutes=True), "pairs": pairs,
            "timeframes": ", ".join(tfs), "span": span, "source": source,
            "verdict": summary.get("verdict") or counts.get("verdict") or "",
            "signals": counts.get("signals", summary.get("signals")),
            "candles": counts.get("candles", summary.get("candles"))}


def _day(ms: int, minutes: bool = False) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")
