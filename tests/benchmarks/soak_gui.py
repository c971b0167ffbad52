"""Issue 10 soak: the main window fed 1,000 signals a minute (recorded by the real tracker, snapshots built by
the real dashboard code in a worker thread) for N minutes; prints the event-loop lag (p50/p99/max of a 10 ms
timer's lateness) and the memory growth. Not part of the test run.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/soak_gui.py --minutes 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["SCALPDESK_HOME"] = tempfile.mkdtemp()
os.environ["SCALPDESK_NO_DIALOGS"] = "1"

import common  # type: ignore[import-not-found]  # noqa: F401  (puts the project on sys.path)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--per-minute", type=int, default=1000)
    args = ap.parse_args()
    from PySide6.QtCore import QElapsedTimer, QObject, QThread, QTimer, Signal, Slot
    from PySide6.QtWidgets import QApplication

    from app import paths
    from app.core.outcomes import Costs
    from app.core.signals import Signal as TradeSignal
    from app.services import dashboard
    from app.services.accuracy import AccuracyTable
    from app.services.tracker import LiveSignalTracker
    from app.settings import load
    from app.storage.db import Database
    from app.ui.main_window import MainWindow

    class Feeder(QObject):
        snapshot_ready = Signal(object)

        def __init__(self) -> None:
            super().__init__()
            self.k = 0

        @Slot()
        def start(self) -> None:
            self.db = Database(paths.default_db_path())
            self.tr = LiveSignalTracker(self.db, Costs(), 30, 1.5, 2.0, source="SIMULATED")
            self.acc = AccuracyTable.from_db(self.db)
            self.timer = QTimer(self)
            self.timer.timeout.connect(self.tick)
            self.timer.start(1000)

        @Slot()
        def tick(self) -> None:
            n = max(1, round(args.per_minute / 60))
            t0 = 1_700_000_000_000 + self.k * 60_000
            base = TradeSignal("BTC/USDT", "1m", "LONG", t0, 100.0, 98.5, 102.0, 65.0, {"trend": 1.0}, (), 1.0)
            with self.tr.cycle():
                for j in range(n):  # n signals on this candle, one per symbol (one candle a second of replay)
                    self.tr.add_signal(replace(base, symbol=f"S{j}/USDT", side="LONG" if j % 2 else "SHORT"))
                for j in range(n):  # the next candle per symbol: signals move, hit a barrier or expire
                    self.tr.on_candle(f"S{j}/USDT", "1m", t0 + 60_000, 100.0, 101.0 + (self.k % 3) * 0.6,
                                      99.5 - (self.k % 5) * 0.3, 100.2)
            self.k += 1
            snap = dashboard.build(self.db, self.acc, Costs(), "SIMULATED", "off", int(time.time() * 1000), {},
                                   time.time())
            self.snapshot_ready.emit(snap)

    app = QApplication([])
    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), start_worker=False)
    w.show()
    feeder = Feeder()
    thread = QThread()
    feeder.moveToThread(thread)
    thread.started.connect(feeder.start)
    feeder.snapshot_ready.connect(w.on_snapshot)
    thread.start()
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    lags: list[float] = []

    def beat() -> None:
        now = clock.elapsed()
        lags.append(max(0.0, now - last[0] - 10))
        last[0] = now

    hb = QTimer()
    hb.timeout.connect(beat)
    hb.start(10)
    mem0 = None
    mem_at: list[float] = []
    end = time.time() + args.minutes * 60
    warm = time.time() + 20
    while time.time() < end:
        app.processEvents()
        time.sleep(0.002)
        if mem0 is None and time.time() > warm:
            mem0 = rss_mb()
        if mem0 is not None and (not mem_at or time.time() - mem_at[-1] > 30):
            mem_at.append(time.time())
    hb.stop()
    mem1 = rss_mb()
    lags.sort()
    q = lambda p: lags[min(len(lags) - 1, int(len(lags) * p))]  # noqa: E731
    with Database(paths.default_db_path()) as db:
        total = db.query("SELECT COUNT(*) FROM live_signals")[0][0]
    print(f"soak {args.minutes:g} min, {args.per_minute} signals/min ({total} recorded, {w.active.rowCount()} open "
          f"rows, {w.completions.rowCount()} completions shown): event-loop lag p50 {q(0.5):.1f} ms, p99 "
          f"{q(0.99):.1f} ms, max {lags[-1]:.1f} ms over {len(lags)} beats; memory {mem0:.0f} MB after warm-up -> "
          f"{mem1:.0f} MB at the end ({mem1 - (mem0 or mem1):+.0f} MB)")
    thread.quit()
    thread.wait(5000)
    w.close()


if __name__ == "__main__":
    main()
