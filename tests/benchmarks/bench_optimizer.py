"""Issue 6: threshold sweep over 100,000 stored signals (target <= 50 ms after loading) and pattern
optimisation (target <= 200 ms).

Run: .venv/bin/python tests/benchmarks/bench_optimizer.py
"""

from __future__ import annotations

import numpy as np
from common import measure, report  # type: ignore[import-not-found]

from app.services.research.optimizers import StoredSignals, optimise_patterns, optimise_thresholds


def main() -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    names = ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLHARAMI", "CDLMORNINGSTAR", "CDLSHOOTINGSTAR"]
    pats = [[names[j] for j in np.flatnonzero(rng.random(len(names)) < 0.08)] for _ in range(n)]
    win = rng.random(n) < 0.42
    s = StoredSignals(1_700_000_000_000 + np.arange(n, dtype=np.int64) * 60_000, rng.uniform(50, 90, n), win,
                      np.where(win, 0.6, -0.5), pats, rng.uniform(0, 25, n), 24 * 60_000)
    med, t = measure(lambda: optimise_thresholds(s, "seed", 4, 30), repeat=9)
    report("threshold sweep, 100,000 signals, 8 thresholds x 4 folds", med, t,
           f"-> {'within' if med <= 0.05 else 'OVER'} 50 ms")
    pts = dict.fromkeys(names, 8.0)
    med, t = measure(lambda: optimise_patterns(s, pts, 25.0, 1.0, 60.0), repeat=9)
    report("pattern optimisation, 100,000 signals", med, t, f"-> {'within' if med <= 0.2 else 'OVER'} 200 ms")


if __name__ == "__main__":
    main()
