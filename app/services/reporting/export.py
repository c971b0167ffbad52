"""Export of signals as CSV: the live signals, or the signals of one backtest run.

Times are ISO-8601 in UTC with the zone written out (`2024-08-05T14:35:00+00:00`), so a spreadsheet or a script
reads them without guessing; prices and P&L (after fees and slippage) as stored.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import ScalpDeskError
from app.storage.db import Database

COLUMNS = ("id", "symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit", "confluence_score",
           "ml_probability", "status", "created_at", "closed_at", "exit_price", "pnl_pct", "bars_held", "mfe_pct",
           "mae_pct", "ambiguous", "source")
BACKTEST_COLUMNS = ("run_id", "symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit",
                    "confluence_score", "patterns", "outcome", "ambiguous", "exit_time", "exit_price", "pnl_pct",
                    "bars_held")
TIME_COLUMNS = frozenset({"signal_time", "created_at", "closed_at", "exit_time"})
CHUNK = 5000


def iso(ms: int | None) -> str:
    """Epoch milliseconds as ISO-8601 UTC with the zone; empty for no time."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds")


def export_csv(db_path: Path, out: Path, run_id: int | None = None, check: Callable[[], None] = lambda: None) -> int:
    """Write the CSV (atomically: a temporary file renamed) and return the number of signals in it."""
    with Database(db_path) as db:
        if run_id is None:
            columns: tuple[str, ...] = COLUMNS
            rows = db.query(f"SELECT {', '.join(COLUMNS)} FROM live_view ORDER BY id")
        else:
            if not db.query("SELECT id FROM backtest_runs WHERE id = ?", (run_id,)):
                raise ScalpDeskError(f"{db.path}: no backtest run {run_id}")
            columns = BACKTEST_COLUMNS
            rows = db.query(f"SELECT {', '.join(BACKTEST_COLUMNS)} FROM backtest_signals WHERE run_id = ? "
                            "ORDER BY signal_time, id", (run_id,))
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            for a in range(0, len(rows), CHUNK):
                check()
                w.writerows([_cell(c, r[c]) for c in columns] for r in rows[a:a + CHUNK])
        tmp.replace(out)
    except OSError as exc:
        raise ScalpDeskError(f"{out}: could not be written ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return len(rows)


def _cell(column: str, value: Any) -> Any:
    if column in TIME_COLUMNS:
        return iso(value)
    return value
