"""Export of recorded live signals as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from app.storage.db import Database

COLUMNS = ("id", "symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit", "confluence_score",
           "ml_probability", "status", "created_at", "closed_at", "exit_price", "pnl_pct", "bars_held", "mfe_pct",
           "mae_pct", "ambiguous", "source")


def export_csv(db_path: Path, out: Path) -> str:
    with Database(db_path) as db:
        rows = db.query(f"SELECT {', '.join(COLUMNS)} FROM live_view ORDER BY id")
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r[c] for c in COLUMNS])
    tmp.replace(out)
    return str(out)
