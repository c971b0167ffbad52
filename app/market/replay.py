"""Replay: recorded history played through the live pipeline on a clock at N x real time.

Speed 0 plays as fast as possible: every cycle the clock jumps `step` candles. A candle is visible once
it has closed on the replay clock, exactly as on an exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from app.core.candles import Candles
from app.errors import DataError


class ReplaySource:
    def __init__(self, data: list[Candles], speed: float = 0.0, step: int = 2000, start_ms: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not data:
            raise DataError("nothing to replay")
        tfs = {c.timeframe for c in data}
        if len(tfs) != 1:
            raise DataError(f"replay one timeframe at a time (got {', '.join(sorted(tfs))})")
        self.data = {c.symbol: c for c in data}
        self.timeframe = data[0].timeframe
        self.tf = data[0].tf_ms
        self.speed = float(speed)
        self.step = int(step)
        first = min(int(c.time[0]) for c in data)
        self.end_ms = max(int(c.time[-1]) for c in data) + self.tf
        self._start = first if start_ms is None else start_ms
        self._now = self._start
        self._clock = clock
        self._t0 = clock()
        self.label = "REPLAY"  # the source of the records: the same replay at another speed continues them
        self.speed_text = f"x{speed:g}" if speed else "as fast as possible"

    def symbols(self) -> list[str]:
        return sorted(self.data)

    def now_ms(self) -> int:
        if self.speed > 0:
            return min(self.end_ms, int(self._start + (self._clock() - self._t0) * 1000 * self.speed))
        return self._now

    def advance(self) -> None:
        """Speed 0: move the clock one step of candles."""
        if self.speed <= 0:
            self._now = min(self.end_ms, self._now + self.step * self.tf)

    @property
    def finished(self) -> bool:
        return self.now_ms() >= self.end_ms

    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        c = self.data.get(symbol)
        if c is None:
            raise DataError(f"no replay data for {symbol}")
        stop = int(np.searchsorted(c.time, self.now_ms() - self.tf, side="right"))  # closed candles only
        start = int(np.searchsorted(c.time, since_ms, side="left")) if since_ms is not None else max(0, stop - limit)
        return c.slice(start, max(start, stop))
