"""Issue 20: training under CPU load. OpenMP threads that wait on cores other processes hold made training 40x
slower; the trainer caps its threads (app.ml.model.thread_cap). Prints the median of several runs, idle and with
one busy process per core, for the capped default and for the uncapped OpenMP default.

Run: .venv/bin/python tests/benchmarks/bench_train_load.py [--samples 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import numpy as np


def _burn(stop: float) -> None:
    x = 0
    while time.time() < stop:
        x += 1


def _train(n: int, cap: str) -> tuple[float, float]:
    from app.ml import model
    from app.ml.features import FEATURE_NAMES
    from app.ml.model import MLModelTrainer, TrainingData

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, len(FEATURE_NAMES))).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 5]))).astype(np.int8)
    t = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000
    if cap == "uncapped":
        model.thread_cap = lambda: None  # type: ignore[assignment]
    t0, c0 = time.perf_counter(), time.process_time()
    MLModelTrainer().train(TrainingData(X, y, t, 24 * 60_000, {}))
    return time.perf_counter() - t0, time.process_time() - c0  # wall, and CPU of all threads (spinning shows)


def _run(n: int, cap: str, load: bool) -> tuple[float, float]:
    burners = []
    if load:
        stop = time.time() + 600
        burners = [mp.Process(target=_burn, args=(stop,), daemon=True) for _ in range(os.cpu_count() or 1)]
        for b in burners:
            b.start()
    try:
        with mp.get_context("spawn").Pool(1) as pool:  # a fresh process: OpenMP starts as in a new app
            wall, cpu = pool.apply(_train, (n, cap))
            return float(wall), float(cpu)
    finally:
        for b in burners:
            b.terminate()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default="capped-idle,capped-load,uncapped-idle,uncapped-load")
    args = ap.parse_args()
    out = {}
    for case in args.cases.split(","):
        cap, load = case.split("-")
        runs = []
        for _ in range(args.runs):
            runs.append(_run(args.samples, cap, load == "load"))
            print(f"  {case} run {len(runs)}: wall {runs[-1][0]:.2f} s, CPU {runs[-1][1]:.2f} s", flush=True)
        wall = round(float(np.median([r[0] for r in runs])), 2)
        cpu = round(float(np.median([r[1] for r in runs])), 2)
        out[case] = {"wall_s": wall, "cpu_s": cpu}
        print(f"{case}: median wall {wall} s, CPU {cpu} s of {[tuple(round(x, 2) for x in r) for r in runs]} "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
