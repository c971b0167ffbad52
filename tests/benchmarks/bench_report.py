"""Issue 8: a weekly report with 5,000 signals renders in at most 5 s.

Run: .venv/bin/python tests/benchmarks/bench_report.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import report  # type: ignore[import-not-found]

from app.core.outcomes import Costs
from app.core.signals import Signal
from app.services.live.tracker import LiveSignalTracker
from app.services.reporting.pdf import render_report
from app.storage.db import Database


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    db_path = tmp / "r.sqlite"
    start = int(dt.datetime(2024, 8, 1, tzinfo=dt.UTC).timestamp() * 1000)
    base = Signal("BTC/USDT", "1m", "LONG", start, 100.0, 98.5, 102.0, 66.0, {"trend": 1.0}, ("CDLDOJI",), 1.0)
    with Database(db_path) as db:
        tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="REPLAY")
        with tr.cycle():
            for i in range(5000):
                tr.add_signal(replace(base, symbol=("BTC/USDT", "ETH/USDT", "SOL/USDT")[i % 3],
                                      signal_time=start + i * 120_000, confluence_score=50 + i % 40))
        for sym in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
            for i in range(5000):
                with tr.cycle():
                    tr.on_candle(sym, "1m", start + i * 120_000 + 60_000, 100.0, 102.5 if i % 2 else 100.1,
                                 97.0 if i % 2 == 0 else 99.9, 100.0)
        n = db.query("SELECT COUNT(*) FROM live_signals WHERE status != 'OPEN'")[0][0]
    times = []
    for k in range(3):
        t0 = time.perf_counter()
        render_report(db_path, tmp / f"w{k}.pdf", "weekly", end="2024-08-07")
        times.append(time.perf_counter() - t0)
    med = sorted(times)[1]
    report(f"weekly report, {n} closed signals", med, times, f"-> {'within' if med <= 5 else 'OVER'} 5 s")


if __name__ == "__main__":
    main()
