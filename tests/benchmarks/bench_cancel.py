"""Issue 19 item 8: a cancelled job stops within a second in every stage. For each stage of a backtest (loading a
large CSV, analysing, the random-entry baseline, storing, statistics) and of a history download, the job is
cancelled shortly after the stage starts; printed: the median time until the job reports the cancel (what the user
sees) and until its worker threads have ended (the work itself stopped).

Data: the 10 real 5m pairs in ../shared/data (else simulated), a 1,000,000-row CSV for loading, the fake Binance
on 127.0.0.1 for the download.

Run: .venv/bin/python tests/benchmarks/bench_cancel.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import tempfile
from pathlib import Path

os.environ["SCALPDESK_HOME"] = tempfile.mkdtemp()

from common import ROOT  # type: ignore[import-not-found]

from tests.cancel_probe import big_csv, cancel_in

REAL = ROOT.parent / "shared" / "data" / "binance-5m-15m-1h-2024"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from app.session import jobs
    from app.settings import load

    settings = load()
    tmp = Path(tempfile.mkdtemp())
    csv = big_csv(tmp / "BTC_USDT-1m.csv", 1_000_000)
    files = tuple(sorted(glob.glob(str(REAL / "*-5m.feather"))))
    main_req = jobs.BacktestRequest(files=files) if files else jobs.BacktestRequest(sim_candles=72_000)
    cases = {
        "loading": (jobs.BacktestRequest(files=(str(csv),)), 0.3),
        "analysing": (main_req, 0.1),
        "baseline": (main_req, 0.05),
        "storing": (main_req, 0.1),
        "statistics": (main_req, 0.05),
    }
    jobs.backtest(settings, tmp / "warm.sqlite", jobs.BacktestRequest(sim_candles=3000))  # imports, numba cache
    out: dict[str, dict[str, float]] = {}
    for stage, (req, delay) in cases.items():
        stops = [cancel_in(stage, lambda ctl, r=req: jobs.backtest(settings, tmp / "b.sqlite", r, ctl), delay)
                 for _ in range(args.runs)]
        bad = [s.outcome for s in stops if s.outcome != "cancelled"]
        out[stage] = {"job_ms": statistics.median(s.job_s for s in stops) * 1000,
                      "work_ms": statistics.median(s.work_s for s in stops) * 1000,
                      "work_max_ms": max(s.work_s for s in stops) * 1000, "not_cancelled": len(bad)}
    out["download"] = download(settings, args.runs)
    if args.json:
        print(json.dumps({k: {a: round(b, 1) for a, b in v.items()} for k, v in out.items()}))
        return
    for stage, v in out.items():
        print(f"{stage:>10}: job ends {v['job_ms']:6.1f} ms, work stops {v['work_ms']:6.1f} ms (max "
              f"{v['work_max_ms']:.1f} ms; {args.runs} runs{'' if not v['not_cancelled'] else ', some finished'})")


def download(settings: object, runs: int) -> dict[str, float]:
    from app.market.simulated import generate
    from app.session import data
    from tests.cancel_probe import STAGES
    from tests.conftest import RECORDINGS
    from tests.fake_binance import FakeBinance

    STAGES["download-page"] = ("app.market.history", "_day")  # called before each page
    tf = 60_000
    start = 1_700_000_000_000 - 1_700_000_000_000 % tf
    gen = generate(["BTC/USDT"], "1m", 200_000, 3, start_ms=start)
    stops = []
    with FakeBinance(RECORDINGS, {"BTCUSDT": gen["BTC/USDT"]}, start + 199_000 * tf) as fake:
        for _ in range(runs):
            folder = Path(tempfile.mkdtemp())
            req = data.DownloadRequest(("BTC/USDT",), ("1m",), start, folder, "binance", fake.url)
            stops.append(cancel_in("download-page", lambda ctl, r=req: data.download(settings, r, ctl), 0.3))
    return {"job_ms": statistics.median(s.job_s for s in stops) * 1000,
            "work_ms": statistics.median(s.work_s for s in stops) * 1000,
            "work_max_ms": max(s.work_s for s in stops) * 1000,
            "not_cancelled": sum(s.outcome != "cancelled" for s in stops)}


if __name__ == "__main__":
    main()
