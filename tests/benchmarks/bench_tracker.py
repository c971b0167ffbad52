"""Issue 5: with 10,000 open signals, one price tick applied to all and persisted (target <= 20 ms); one closed
candle applied to all (decisions) for comparison; replay of 100,000 1m candles for 5 symbols through the live
pipeline (target >= 50,000 candles per second).

Run: .venv/bin/python tests/benchmarks/bench_tracker.py
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import measure, report  # type: ignore[import-not-found]

from app.core.outcomes import Costs
from app.core.signals import EngineConfig, Signal
from app.market.replay import ReplaySource
from app.market.simulated import generate
from app.services.live.pipeline import LivePipeline
from app.services.live.tracker import LiveSignalTracker
from app.settings import load
from app.storage.db import Database


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    with Database(tmp / "b.sqlite") as db:
        tr = LiveSignalTracker(db, Costs(), 10**6, 1.5, 2.0)
        base = Signal("BTC/USDT", "1m", "LONG", 0, 100.0, 50.0, 200.0, 70.0, {"trend": 1.0}, (), 1.0)
        with tr.cycle():
            for i in range(10_000):
                tr.add_signal(replace(base, signal_time=i * 60_000, side="LONG" if i % 2 else "SHORT"))
        prices = iter(100.0 + (k % 50) * 0.01 for k in range(10**6))
        med, t = measure(lambda: tr.on_tick("BTC/USDT", next(prices)), repeat=15)
        report("one tick on 10,000 open signals, persisted", med, t, f"-> {'within' if med <= 0.02 else 'OVER'} 20 ms")
        minute = iter(range(10_000, 10**6))

        def candle() -> None:
            k = next(minute)
            with tr.cycle():
                tr.on_candle("BTC/USDT", "1m", k * 60_000, 100.0, 100.5, 99.5, 100.1)

        # open signals must be level with the candle clock for it to apply to all of them
        with tr.cycle():
            g = tr._book[("BTC/USDT", "1m")]
            g["last_time"][:] = 9_999 * 60_000
        med, t = measure(candle, repeat=15)
        report("one closed candle on 10,000 open signals (no decision), persisted", med, t)

    cfg = EngineConfig.from_settings(load())
    data = list(generate(["A/USDT", "B/USDT", "C/USDT", "D/USDT", "E/USDT"], "1m", 100_000, seed=2).values())
    times = []
    for _ in range(3):
        with Database(tmp / f"r{len(times)}.sqlite") as db:
            src = ReplaySource(data, speed=0, step=5000)
            tr = LiveSignalTracker(db, Costs(), cfg.max_hold, cfg.sl_atr, cfg.tp_atr)
            pipe = LivePipeline(src, src.symbols(), "1m", cfg, tr, catch_up_all=True,
                                clock=lambda s=src: s.now_ms() / 1e3)
            t0 = time.perf_counter()
            while True:
                pipe.cycle()
                if src.finished:
                    break
                src.advance()
            times.append(time.perf_counter() - t0)
    med = sorted(times)[1]
    report("replay 5 x 100,000 1m candles (step 5,000)", med, times,
           f"-> {500_000 / med:,.0f} candles/s ({'within' if 500_000 / med >= 50_000 else 'UNDER'} 50,000)")


if __name__ == "__main__":
    main()
