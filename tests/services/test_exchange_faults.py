"""The live pipeline through the real ccxt client and a fake Binance on 127.0.0.1 with injected faults:
the loop never stops, never records a signal from a partial candle, and once the faults end its records
equal those of a fault-free run."""

from __future__ import annotations

import random

import pytest

from app.core.outcomes import Costs
from app.core.signals import EngineConfig
from app.market.exchange import ExchangeClient
from app.market.simulated import generate
from app.market.sources import ExchangeSource
from app.services.live.pipeline import LivePipeline
from app.services.live.tracker import LiveSignalTracker
from app.storage.db import Database
from tests.conftest import RECORDINGS
from tests.fake_binance import FakeBinance

TF = 60_000
START = 1_700_000_000_000 - (1_700_000_000_000 % TF)
CFG = EngineConfig(min_score=55.0, max_hold=12, pattern_points=(("CDLENGULFING", 10.0), ("CDLDOJI", 3.0)))
FAULTS = ["timeout", "reset", "429", "429-retry-after", "500", "503", "malformed", "truncated", "shuffle",
          "duplicate", "drop"]
ROWS = ("symbol", "side", "signal_time", "status", "entry", "stop_loss", "take_profit", "exit_price", "pnl_pct",
        "closed_at", "confluence_score")


def run(tmp_path, name, n_cycles, faults_per_cycle, seed=0, delist_at=None):
    data = generate(["BTC/USDT", "ETH/USDT"], "1m", 1400 + n_cycles * 3 + 60, seed=21, start_ms=START)
    rng = random.Random(seed)
    injected = {"faults": 0, "delisted_cycles": 0}
    with FakeBinance(RECORDINGS, {"BTCUSDT": data["BTC/USDT"], "ETHUSDT": data["ETH/USDT"]},
                     START + 1200 * TF + 7_000) as fake, Database(tmp_path / f"{name}.sqlite") as db:
        fake.timeout_s = 0.4
        clock = {"t": 0.0}
        # one clock for every backoff: the markets' failure cache waits on it too, not on the real monotonic
        client = ExchangeClient("binance", base_url=fake.url, timeout_ms=200, retries=2, sleep=lambda s: None,
                                clock_ms=lambda: fake.now_ms, monotonic=lambda: clock["t"])
        src = ExchangeSource("binance", client=client)
        tracker = LiveSignalTracker(db, Costs(), CFG.max_hold, CFG.sl_atr, CFG.tp_atr, source=src.label)
        pipe = LivePipeline(src, ["BTC/USDT", "ETH/USDT"], "1m", CFG, tracker, history=1000, max_buffer=None,
                            catch_up_all=True, clock=lambda: clock["t"])
        errors_seen = 0
        for cycle in range(n_cycles + 40):
            faulty = cycle < n_cycles
            if faulty:
                for _ in range(faults_per_cycle):
                    fake.faults.append(rng.choice(FAULTS))
                    injected["faults"] += 1
                if delist_at is not None and delist_at <= cycle < delist_at + 5:
                    fake.delisted = {"ETHUSDT"}
                    injected["delisted_cycles"] += 1
                else:
                    fake.delisted = set()
            else:
                fake.faults.clear()
                fake.delisted = set()
            result = pipe.cycle()  # never raises: errors become per-symbol status
            errors_seen += len(result.errors)
            if faulty:
                fake.now_ms += 3 * TF  # three candles close per cycle
            clock["t"] += 400.0  # past any backoff
        rows = sorted(tuple(r[c] for c in ROWS) for r in db.query("SELECT * FROM live_signals"))
        last = {s: pipe.buffers[s].time[-1] for s in pipe.buffers}
        closed_limit = fake.now_ms - TF
        return rows, injected, errors_seen, last, closed_limit


def test_faults_are_survived_and_records_equal_a_clean_run(tmp_path):
    clean, _, _, _, _ = run(tmp_path, "clean", 60, 0)
    faulty, injected, errors, last, limit = run(tmp_path, "faulty", 60, 2, seed=3, delist_at=20)
    print(f"\nexchange faults: {injected['faults']} injected, {injected['delisted_cycles']} cycles with a delisted "
          f"symbol, {errors} symbol-cycles reported as errors; {len(clean)} signals")
    assert injected["faults"] == 120 and errors > 0
    assert all(t <= limit for t in last.values())  # no forming candle ever entered the buffers
    assert len(clean) > 5
    assert faulty == clean


@pytest.mark.slow
def test_a_thousand_faults(tmp_path):
    clean, _, _, _, _ = run(tmp_path, "clean", 400, 0)
    faulty, injected, errors, _, _ = run(tmp_path, "faulty", 400, 3, seed=4, delist_at=100)
    print(f"\nexchange faults: {injected['faults']} injected ({len(FAULTS)} kinds + a delisted symbol), {errors} "
          f"symbol-cycles in error; records equal to the clean run: {faulty == clean} ({len(clean)} signals)")
    assert injected["faults"] >= 1000
    assert faulty == clean
