"""Candles as columnar numpy arrays. Times are UTC epoch milliseconds of the candle open."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "12h": 43_200_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(f"unknown timeframe '{timeframe}'; expected one of {', '.join(TIMEFRAME_MS)}") from None


@dataclass(frozen=True, eq=False)
class Candles:
    symbol: str
    timeframe: str
    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    notes: tuple[str, ...] = ()  # what the import fixed or assumed (app.market.files.ImportReport.notes)

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column '{name}' has {len(getattr(self, name))} rows, time has {n}")

    def __len__(self) -> int:
        return len(self.time)

    @property
    def tf_ms(self) -> int:
        return timeframe_ms(self.timeframe)

    def slice(self, start: int, stop: int | None = None) -> Candles:
        s = slice(start, stop)
        return Candles(self.symbol, self.timeframe, self.time[s], self.open[s], self.high[s], self.low[s],
                       self.close[s], self.volume[s], self.notes)

    def take(self, rows: np.ndarray) -> Candles:
        """The candles at positions (or a boolean mask) `rows`."""
        return Candles(self.symbol, self.timeframe, self.time[rows], self.open[rows], self.high[rows],
                       self.low[rows], self.close[rows], self.volume[rows], self.notes)

    def until(self, time_ms: int) -> Candles:
        """Candles whose open time is <= time_ms (a history cut)."""
        return self.slice(0, int(np.searchsorted(self.time, time_ms, side="right")))

    @staticmethod
    def from_arrays(symbol: str, timeframe: str, time: np.ndarray, o: np.ndarray, h: np.ndarray,
                    lo: np.ndarray, c: np.ndarray, v: np.ndarray) -> Candles:
        f = np.ascontiguousarray
        return Candles(symbol, timeframe, f(time, dtype=np.int64), f(o, dtype=np.float64),
                       f(h, dtype=np.float64), f(lo, dtype=np.float64), f(c, dtype=np.float64),
                       f(v, dtype=np.float64))

    @staticmethod
    def concat(parts: list[Candles]) -> Candles:
        first = parts[0]
        return Candles.from_arrays(
            first.symbol, first.timeframe, *(np.concatenate([getattr(p, k) for p in parts])
                                             for k in ("time", "open", "high", "low", "close", "volume")))


def segments(time: np.ndarray, tf_ms: int) -> list[tuple[int, int]]:
    """Contiguous runs [start, stop) of candles: a step other than one candle starts a new run."""
    n = len(time)
    if n == 0:
        return []
    if int(time[-1]) - int(time[0]) == (n - 1) * tf_ms:
        return [(0, n)]  # strictly increasing times spanning exactly n-1 steps: no gap (the common case)
    breaks = np.flatnonzero(np.diff(time) != tf_ms) + 1
    bounds = [0, *breaks.tolist(), n]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def gaps(time: np.ndarray, tf_ms: int) -> list[tuple[int, int]]:
    """(last open time before, first open time after) for every missing stretch."""
    idx = np.flatnonzero(np.diff(time) > tf_ms)
    return [(int(time[i]), int(time[i + 1])) for i in idx]
