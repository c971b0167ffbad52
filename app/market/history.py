"""Exchange history kept on disk as freqtrade writes it: one feather file per pair and timeframe
(`BTC_USDT-5m.feather`: `date` as a UTC datetime of the candle open, then open, high, low, close, volume), so the
backtest and any freqtrade tool read the same files.

Downloads go through `ExchangeClient.fetch_candles` (paging, closed candles only, retries); this module never talks
to ccxt itself. An update appends only candles newer than the file's last one; every write replaces the file
atomically, so a reader never sees half a file and a cancelled download leaves the old file as it was.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.candles import Candles, gaps, timeframe_ms
from app.errors import DataError
from app.market.files import load_file, parse_name

if TYPE_CHECKING:
    from app.market.exchange import ExchangeClient

COLUMNS = ("date", "open", "high", "low", "close", "volume")


def file_name(symbol: str, timeframe: str) -> str:
    """`BTC/USDT`, `5m` -> `BTC_USDT-5m.feather` (freqtrade's spot naming)."""
    return f"{symbol.replace('/', '_').replace(':', '_')}-{timeframe}.feather"


def history_path(folder: Path, symbol: str, timeframe: str) -> Path:
    return Path(folder) / file_name(symbol, timeframe)


@dataclass(frozen=True)
class HistoryFile:
    """What one file on disk holds (read from its `date` column only)."""

    path: Path
    symbol: str
    timeframe: str
    candles: int
    first_ms: int | None
    last_ms: int | None
    gaps: int  # stretches of missing candles
    missing: int  # candles missing inside those stretches
    error: str = ""  # why the file could not be read (it is listed, not hidden)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "file": self.path.name, "symbol": self.symbol, "timeframe": self.timeframe,
                "candles": self.candles, "first": self.first_ms, "last": self.last_ms, "gaps": self.gaps,
                "missing": self.missing, "error": self.error}


def _times_ms(path: Path) -> np.ndarray:
    import pyarrow.feather as feather

    table = feather.read_table(path, columns=["date"])
    col = table.column("date")
    import pyarrow as pa

    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.timestamp("ms", tz=col.type.tz))
        return np.asarray(col.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def describe_file(path: Path) -> HistoryFile:
    symbol, timeframe = parse_name(path)
    sym, tf = symbol or path.stem, timeframe or "?"
    try:
        t = _times_ms(path)
    except Exception as exc:  # pyarrow raises many types for a damaged or foreign file
        return HistoryFile(path, sym, tf, 0, None, None, 0, 0, f"not readable ({type(exc).__name__}: {exc})")
    if timeframe is None:
        return HistoryFile(path, sym, tf, len(t), None, None, 0, 0, "the name does not say the timeframe")
    if len(t) == 0:
        return HistoryFile(path, sym, tf, 0, None, None, 0, 0)
    t = np.sort(t)
    step = timeframe_ms(timeframe)
    holes = gaps(t, step)
    missing = int(sum((b - a) // step - 1 for a, b in holes))
    return HistoryFile(path, sym, tf, len(t), int(t[0]), int(t[-1]), len(holes), missing)


def inventory(folder: Path, check: Callable[[], None] = lambda: None) -> list[HistoryFile]:
    """Every feather file in `folder`, by pair then timeframe (an absent folder holds nothing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.feather")):
        check()
        out.append(describe_file(path))
    return sorted(out, key=lambda h: (h.symbol, timeframe_ms(h.timeframe) if h.timeframe != "?" else 0))


def write_candles(path: Path, candles: Candles) -> None:
    """The whole series to `path` as freqtrade's feather, atomically (a temporary file renamed over it)."""
    import pandas as pd

    frame = pd.DataFrame({
        "date": pd.to_datetime(candles.time, unit="ms", utc=True).as_unit("ns"),  # as freqtrade: ns, UTC
        "open": candles.open, "high": candles.high, "low": candles.low, "close": candles.close,
        "volume": candles.volume})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_feather(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"{path}: could not be written ({exc.strerror or exc}); the previous file is unchanged") \
            from None
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class DownloadReport:
    symbol: str
    timeframe: str
    path: Path
    added: int  # candles new in the file
    candles: int  # candles in the file now
    first_ms: int | None
    last_ms: int | None
    updated: bool  # the file existed and was extended

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "timeframe": self.timeframe, "path": str(self.path), "added": self.added,
                "candles": self.candles, "first": self.first_ms, "last": self.last_ms, "updated": self.updated}


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def download(client: ExchangeClient, folder: Path, symbol: str, timeframe: str, since_ms: int,
             progress: Callable[[float, str], None] = lambda f, m: None,
             check: Callable[[], None] = lambda: None) -> DownloadReport:
    """Download closed candles of one pair from `since_ms`, or, when its file exists, only the candles after the
    file's last one, and append them. `check` runs before every page (a cancel raises there; the file is then
    left as it was)."""
    path = history_path(folder, symbol, timeframe)
    step = timeframe_ms(timeframe)
    existing: Candles | None = None
    if path.exists():
        existing, _ = load_file(path, symbol=symbol, timeframe=timeframe)
        if not len(existing):
            existing = None
    start = int(existing.time[-1]) + step if existing is not None else (int(since_ms) // step) * step

    def on_page(cursor: int, last: int) -> None:
        check()
        span = max(step, last - start + step)
        progress(min(1.0, (cursor - start) / span), f"{symbol} {timeframe}: from {_day(cursor)}")

    fresh = client.fetch_candles(symbol, timeframe, since_ms=start, on_page=on_page)
    check()
    if existing is not None:
        fresh = fresh.slice(int(np.searchsorted(fresh.time, existing.time[-1], side="right")))
    if not len(fresh):
        c = existing
        return DownloadReport(symbol, timeframe, path, 0, 0 if c is None else len(c),
                              None if c is None else int(c.time[0]), None if c is None else int(c.time[-1]),
                              existing is not None)
    merged = fresh if existing is None else Candles.concat([existing, fresh])
    write_candles(path, merged)
    progress(1.0, f"{symbol} {timeframe}: {len(fresh):,} candles added")
    return DownloadReport(symbol, timeframe, path, len(fresh), len(merged), int(merged.time[0]),
                          int(merged.time[-1]), existing is not None)
