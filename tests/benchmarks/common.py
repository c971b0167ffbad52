"""Helpers for benchmarks: medians of repeated runs, printed, never asserted."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def measure(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def report(name: str, seconds: float, times: list[float], extra: str = "") -> None:
    spread = f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms, n={len(times)}"
    print(f"{name}: median {seconds * 1000:.1f} ms ({spread}) {extra}".rstrip())
