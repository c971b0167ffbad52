"""Issue 10 soak: the main window fed 1,000 signals a minute (recorded by the real tracker, snapshots built by
the real dashboard code in a worker thread) for N minutes; prints the event-loop lag (p50/p99/max of a 10 ms
timer's lateness) and the memory growth. Not part of the test run.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/soak_gui.py --minutes 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["SCALPDESK_HOME"] = tempfile.mkdtemp()
os.environ["SCALPDESK_NO_DIALOGS"] = "1"

import common  # type: ignore[import-not-found]  # noqa: F401  (puts the project on sys.path)

WARM_UP_S = 60  # the first minute fills the tables and the caches; the steady state is judged after it


def q(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--per-minute", type=int, default=1000)
    ap.add_argument("--tabs", type=int, default=15, help="switch chart tabs every N seconds (0: stay on candles)")
    args = ap.parse_args()
    from PySide6.QtCore import QElapsedTimer, QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot
    from PySide6.QtWidgets import QApplication

    from app import paths
    from app.core.outcomes import Costs
    from app.core.signals import Signal as TradeSignal
    from app.services.live import dashboard
    from app.services.live.accuracy import AccuracyTable
    from app.services.live.tracker import LiveSignalTracker
    from app.settings import load
    from app.storage.db import Database
    from app.ui.main_window import MainWindow

    class Feeder(QObject):
        snapshot_ready = Signal(object)

        def __init__(self) -> None:
            super().__init__()
            self.k = 0
            self.build_ms: list[float] = []
            self.rng = np.random.default_rng(1)

        @Slot()
        def start(self) -> None:
            self.db = Database(paths.default_db_path())
            self.tr = LiveSignalTracker(self.db, Costs(), 30, 1.5, 2.0, source="SIMULATED")
            self.acc = AccuracyTable.from_db(self.db)
            self.history = dashboard.ClosedHistory(self.db, "SIMULATED")  # as the app's worker keeps it
            self.tr.subscribe(self.history.on_event)
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
                    long = bool(j % 2)
                    self.tr.add_signal(replace(base, symbol=f"S{j}/USDT", side="LONG" if long else "SHORT",
                                               stop_loss=98.5 if long else 101.5, take_profit=102.0 if long else 98.0,
                                               confluence_score=float(self.rng.uniform(50, 95)),
                                               ml_probability=float(self.rng.uniform(0.6, 0.95))))
                for j in range(n):  # the next candle per symbol: signals move, hit a barrier or expire
                    self.tr.on_candle(f"S{j}/USDT", "1m", t0 + 60_000, 100.0, 101.0 + (self.k % 3) * 0.6,
                                      99.5 - (self.k % 5) * 0.3, 100.2)
            self.k += 1
            t = time.perf_counter()
            snap = dashboard.build(self.db, self.history, self.acc, Costs(), "on", int(time.time() * 1000), {},
                                   time.time())
            self.build_ms.append((time.perf_counter() - t) * 1000)
            self.snapshot_ready.emit(snap)

        @Slot()
        def stop(self) -> None:
            self.timer.stop()
            self.db.close()

    app = QApplication([])
    w = MainWindow(load(), paths.default_db_path(), paths.default_model_path(), start_worker=False)
    w.show()
    refresh_ms: list[float] = []
    real_refresh = w.refresh

    def timed_refresh() -> None:
        t = time.perf_counter()
        real_refresh()
        refresh_ms.append((time.perf_counter() - t) * 1000)

    w.refresh_timer.timeout.disconnect()
    w.refresh_timer.timeout.connect(timed_refresh)
    feeder = Feeder()
    thread = QThread()
    feeder.moveToThread(thread)
    thread.started.connect(feeder.start)
    feeder.snapshot_ready.connect(w.on_snapshot)
    thread.start()
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    # (seconds since start, lateness of the 10 ms beat in ms), preallocated: the measurement must not be
    # what grows (a list of tuples here was ~6 MB after 10 minutes)
    beats = np.zeros((int(args.minutes * 60 * 110) + 1000, 2))
    n_beats = [0]

    def beat() -> None:
        now = clock.elapsed()
        if n_beats[0] < len(beats):
            beats[n_beats[0]] = (now / 1000, max(0.0, now - last[0] - 10))
            n_beats[0] += 1
        last[0] = now

    hb = QTimer()
    hb.setTimerType(Qt.TimerType.PreciseTimer)
    hb.timeout.connect(beat)
    hb.start(10)
    mem: list[tuple[float, float]] = []
    mem_timer = QTimer()
    blocks: list[int] = []  # Python's allocated blocks at each sample: tells Python growth from C/Qt growth
    mem_timer.timeout.connect(lambda: (mem.append((clock.elapsed() / 1000, rss_mb())),
                                       blocks.append(sys.getallocatedblocks())))
    mem_timer.start(30_000)
    tabs = QTimer()  # a trader looking at each chart in turn: the equity and calibration charts redraw too
    tabs.timeout.connect(lambda: w.charts.setCurrentIndex((w.charts.currentIndex() + 1) % w.charts.count()))
    if args.tabs:
        tabs.start(args.tabs * 1000)
    QTimer.singleShot(int(args.minutes * 60_000), app.quit)
    app.exec()
    for t in (hb, mem_timer, tabs):
        t.stop()
    mem_end = rss_mb()
    QMetaObject.invokeMethod(feeder, "stop", Qt.ConnectionType.BlockingQueuedConnection)
    thread.quit()
    thread.wait(5000)
    with Database(paths.default_db_path()) as db:
        total = db.query("SELECT COUNT(*) FROM live_signals")[0][0]
    lags = [(float(t), float(lag)) for t, lag in beats[:n_beats[0]]]
    steady = [lag for t, lag in lags if t >= WARM_UP_S]
    mem_steady = [m for t, m in mem if t >= WARM_UP_S] + [mem_end]
    print(f"soak {args.minutes:g} min, {args.per_minute} signals/min: {total} recorded, {w.active.rowCount()} open "
          f"rows, {w.completions.rowCount()} completions shown")
    print(f"event-loop lag after {WARM_UP_S} s warm-up: p50 {q(steady, 0.5):.1f} ms, p99 {q(steady, 0.99):.1f} ms, "
          f"max {max(steady):.1f} ms over {len(steady)} beats (all beats: p99 {q([x for _, x in lags], 0.99):.1f} ms)")
    for minute in range(int(args.minutes)):
        part = [lag for t, lag in lags if minute * 60 <= t < (minute + 1) * 60]
        print(f"  minute {minute + 1}: p99 {q(part, 0.99):.1f} ms, max {max(part):.1f} ms")
    print(f"window refresh (GUI thread, once a second): p50 {q(refresh_ms, 0.5):.1f} ms, p99 "
          f"{q(refresh_ms, 0.99):.1f} ms; snapshot build (worker): p50 {q(feeder.build_ms, 0.5):.1f} ms, p99 "
          f"{q(feeder.build_ms, 0.99):.1f} ms")
    print("memory (RSS) every 30 s: " + ", ".join(f"{m:.0f}" for _, m in mem) + f", end {mem_end:.0f} MB; growth "
          f"after warm-up {mem_end - mem_steady[0]:+.1f} MB")
    hist = sum(a.nbytes for a in feeder.history.cols.values()) / 1e6
    print(f"python blocks every 30 s: {', '.join(str(b) for b in blocks)}; closed-signal columns now {hist:.1f} MB "
          f"({len(feeder.history)} signals)")
    w.close()

if __name__ == "__main__":
    main()
