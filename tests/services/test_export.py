"""CSV export: every recorded signal, times in ISO-8601 UTC a spreadsheet reads, never epoch milliseconds."""

from __future__ import annotations

import csv

from app.core.outcomes import Costs
from app.core.signals import Signal
from app.services.live.tracker import LiveSignalTracker
from app.services.reporting.export import export_csv
from app.storage.db import Database


def test_times_are_iso_8601_utc(tmp_path):
    db_path = tmp_path / "live.db"
    t = 1_725_465_300_000  # 2024-09-04 15:55 UTC
    with Database(db_path) as db:
        tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="SIMULATED")
        tr.add_signal(Signal("SOL/USDT", "5m", "LONG", t, 133.82, 132.64, 135.4, 65.4, {}, (), 0.79, created_at=t))
        with tr.cycle():
            tr.on_candle("SOL/USDT", "5m", t + 300_000, 133.82, 135.5, 133.5, 135.0)  # target hit
    out = tmp_path / "signals.csv"
    assert export_csv(db_path, out) == 1
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    r = rows[0]
    assert (r["signal_time"], r["created_at"], r["closed_at"]) == ("2024-09-04T15:55:00+00:00",
                                                                   "2024-09-04T15:55:00+00:00",
                                                                   "2024-09-04T16:00:00+00:00")
    assert r["status"] == "WIN" and r["source"] == "SIMULATED"
