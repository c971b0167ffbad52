"""Export of recorded live signals as CSV; times in ISO-8601 UTC (2024-09-04T15:55:00Z), not epoch milliseconds."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from app.storage.db import Database

COLUMNS = ("id", "symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit", "confluence_score",
           "ml_probability", "status", "created_at", "closed_at", "exit_price", "pnl_pct", "bars_held", "mfe_pct",
           "mae_pct", "ambiguous", "source")


TIMES = frozenset({"signal_time", "created_at", "closed_at"})


def iso_time(ms: Any) -> str:
    """Epoch milliseconds as ISO-8601 UTC ("" for none)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_csv(db_path: Path, out: Path) -> str:
    with Database(db_path) as db:
        rows = db.query(f"SELECT {', '.join(COLUMNS)} FROM live_view ORDER BY id")
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([iso_time(r[c]) if c in TIMES else r[c] for c in COLUMNS])
    tmp.replace(out)
    return str(out)
