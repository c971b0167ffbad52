"""Issue 4: probabilities for a batch of 200 signals (target <= 5 ms); training on 100,000 signals x 30
features with walk-forward folds and calibration (target <= 20 s on this 2-core machine).

Run: .venv/bin/python tests/benchmarks/bench_ml.py
"""

from __future__ import annotations

import time

import numpy as np
from common import measure, report  # type: ignore[import-not-found]

from app.ml.features import FEATURE_NAMES
from app.ml.model import MLModelTrainer, TrainingData


def main() -> None:
    n, f = 100_000, len(FEATURE_NAMES)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, f)).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-X[:, 5]))).astype(np.int8)
    t = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000
    data = TrainingData(X, y, t, 24 * 60_000, {})
    times = []
    for _ in range(3):
        trainer = MLModelTrainer()
        t0 = time.perf_counter()
        m = trainer.train(data)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    report(f"training, {n} signals x {f} features, {m['folds']} folds + calibration + final fit", med, times,
           f"-> {'within' if med <= 20 else 'OVER'} 20 s (AUC {m['metrics']['auc']:.3f})")
    batch = X[:200]
    trainer.predict_proba(batch)
    pm, pt = measure(lambda: trainer.predict_proba(batch), repeat=50)
    report("probabilities for 200 signals", pm, pt, f"-> {'within' if pm <= 0.005 else 'OVER'} 5 ms")


if __name__ == "__main__":
    main()
