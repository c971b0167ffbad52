"""Cancel a job inside a chosen stage and time how long it takes to stop: until the job reports the cancel (what
the user sees) and until its worker threads have ended (the work itself stopped). Used by the cancel tests and by
tests/benchmarks/bench_cancel.py."""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# where each stage starts: (module, attribute), wrapped so that the first call says the stage was reached
STAGES: dict[str, tuple[str, str]] = {
    "loading": ("app.services.research.datasets", "load_file"),
    "analysing": ("app.services.research.backtester", "analyse"),
    "baseline": ("app.core.baseline", "random_entries"),
    "storing": ("app.storage.backtests", "insert_signals"),
    "statistics": ("app.services.research.backtester", "summarise"),
    "download": ("app.market.history", "write_candles"),
}
WORKER_PREFIXES = ("job-step", "backtest")


@contextlib.contextmanager
def stage_reached(stage: str) -> Iterator[threading.Event]:
    module, name = STAGES[stage]
    mod = importlib.import_module(module)
    original = getattr(mod, name)
    reached = threading.Event()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        return original(*args, **kwargs)

    setattr(mod, name, wrapper)
    try:
        yield reached
    finally:
        setattr(mod, name, original)


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIXES) and t.is_alive()]


@dataclass(frozen=True)
class Stopped:
    stage: str
    job_s: float  # cancel -> the job raised CancelledError
    work_s: float  # cancel -> no worker thread of the job left
    outcome: str  # "cancelled", "finished" (ended before the cancel took effect) or the error


def cancel_in(stage: str, run: Callable[[Any], Any], delay_s: float = 0.2, timeout_s: float = 180.0,
              reached: Callable[[], threading.Event] | None = None) -> Stopped:
    """Run `run(control)` in a thread, cancel `delay_s` after `stage` starts, and time the stop."""
    from app.errors import CancelledError
    from app.session.jobs import Control

    ctl = Control()
    box: dict[str, Any] = {}
    before = set(workers())

    def target() -> None:
        try:
            run(ctl)
            box["outcome"] = "finished"
        except CancelledError:
            box["outcome"] = "cancelled"
        except BaseException as exc:
            box["outcome"] = f"{type(exc).__name__}: {exc}"
        box["end"] = time.perf_counter()

    thread = threading.Thread(target=target, name="probe")
    with stage_reached(stage) as event:
        thread.start()
        if not event.wait(timeout_s):
            raise AssertionError(f"the job never reached the {stage} stage")
        time.sleep(delay_s)
        t0 = time.perf_counter()
        ctl.cancel.set()
        thread.join(timeout_s)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and [t for t in workers() if t not in before]:
        time.sleep(0.005)
    work_end = time.perf_counter()
    return Stopped(stage, box["end"] - t0, work_end - t0, box.get("outcome", "timeout"))


def big_csv(path: Any, rows: int, seed: int = 3) -> Any:
    """A plain OHLCV CSV of `rows` simulated 1m candles (the slow format to load)."""
    import pandas as pd

    from app.market.simulated import generate

    c = generate(["BTC/USDT"], "1m", rows, seed)["BTC/USDT"]
    pd.DataFrame({"timestamp": c.time, "open": c.open, "high": c.high, "low": c.low, "close": c.close,
                  "volume": c.volume}).to_csv(path, index=False)
    return path
