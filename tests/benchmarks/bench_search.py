"""Issue 17: a strategy search of at least 1,000 settings over 10 pairs of ~72k 5m candles (../shared/data),
target under 60 s on a 2-core machine including the bootstrap statistics. Prints configurations per second and
the time of each stage (medians of --repeat runs). Without ../shared/data it runs on simulated pairs (said so).

Run: .venv/bin/python tests/benchmarks/bench_search.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from common import ROOT  # type: ignore[import-not-found]

from app.core.outcomes import Costs
from app.core.signals import EngineConfig
from app.market.files import load_file
from app.services.research.search import Grid, search
from app.settings import load

DATA = ROOT.parent / "shared" / "data" / "binance-5m-15m-1h-2024"


def series() -> tuple[dict[str, list], str]:
    files = sorted(DATA.glob("*-5m.feather")) + sorted(DATA.glob("*-15m.feather"))
    if files:
        out: dict[str, list] = {}
        for f in files:
            c = load_file(f)[0]
            out.setdefault(c.timeframe, []).append(c)
        return out, "real Binance 5m and 15m, 10 pairs"
    from app.market.simulated import DEFAULT_VOLS, generate

    syms = list(DEFAULT_VOLS)
    return {"5m": list(generate(syms, "5m", 72_000, 1).values()),
            "15m": list(generate(syms, "15m", 24_000, 2).values())}, "SIMULATED 5m and 15m, 10 pairs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data, what = series()
    cfg = EngineConfig.from_settings(load())
    grid = Grid()
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        r = search(data, cfg, Costs(), grid)
        runs.append((time.perf_counter() - t0, r))
    total = statistics.median(t for t, _ in runs)
    r = runs[0][1]
    stages = {k: statistics.median(x.timings[k] for _, x in runs) for k in r.timings}
    out = {"data": what, "candles": sum(len(c) for cs in data.values() for c in cs), "trials": r.trials,
           "seconds": round(total, 2), "configs_per_s": round(r.trials / total, 1),
           "stages_s": {k: round(v, 2) for k, v in stages.items()}, "runs_s": [round(t, 2) for t, _ in runs],
           "target_s": 60, "passed": r.passed, "message": r.message}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"strategy search, {what}: {r.trials:,} settings over {out['candles']:,} candles: median "
              f"{total:.1f} s ({out['configs_per_s']} settings/s) -> {'within' if total < 60 else 'OVER'} 60 s")
        for k, v in stages.items():
            print(f"  {k}: {v:.2f} s")
        print(f"  result: {r.message}")


if __name__ == "__main__":
    main()
