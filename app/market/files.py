"""Import of real history: freqtrade feather/JSON, plain OHLCV CSV, Binance Vision kline CSV/zip.

Bad rows stop the import with the file and line; rows out of time order are sorted and duplicate timestamps
dropped (first kept), both counted in the import report and logged; timestamps without a time zone are read as
UTC (said the same way); gaps are reported, never filled with invented prices. Input files are only read.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.core.candles import TIMEFRAME_MS, Candles, gaps
from app.errors import DataError

log = logging.getLogger(__name__)
QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD")
TIME_COLUMNS = ("date", "timestamp", "time", "open_time", "datetime")
OHLCV = ("open", "high", "low", "close", "volume")
CSV_CHUNK_ROWS = 50_000  # a cancel is seen between chunks of a large CSV (about 0.25 s each)
Check = Callable[[], None]


def _no_check() -> None:
    pass


@dataclass(frozen=True)
class ImportReport:
    file: str
    symbol: str
    timeframe: str
    rows: int
    duplicates_dropped: int
    reordered: bool
    gaps: list[tuple[int, int]] = field(default_factory=list)
    rows_out_of_order: int = 0  # rows whose time is earlier than a row before them (sorted on import)
    naive_times_as_utc: bool = False  # dates without a time zone, read as UTC

    @property
    def notes(self) -> list[str]:
        """What the import fixed or assumed, in words (empty for a clean file)."""
        out = []
        if self.rows_out_of_order:
            out.append(f"{self.rows_out_of_order} rows out of time order were sorted")
        if self.duplicates_dropped:
            out.append(f"{self.duplicates_dropped} rows with a duplicate timestamp were dropped (the first kept)")
        if self.naive_times_as_utc:
            out.append("timestamps without a time zone were read as UTC")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "symbol": self.symbol, "timeframe": self.timeframe, "rows": self.rows,
                "duplicates_dropped": self.duplicates_dropped, "reordered": self.reordered,
                "rows_out_of_order": self.rows_out_of_order, "naive_times_as_utc": self.naive_times_as_utc,
                "notes": self.notes, "gaps": [{"after": a, "before": b} for a, b in self.gaps]}


def parse_name(path: Path) -> tuple[str | None, str | None]:
    """Symbol and timeframe from `BTC_USDT-5m.feather` or `BTCUSDT-1m-2024-08.zip`."""
    stem = path.name.split(".")[0]
    parts = stem.split("-")
    tf = next((p for p in parts[1:] if p in TIMEFRAME_MS), None)
    raw = parts[0].upper()
    if "_" in raw:
        base, _, quote = raw.partition("_")
        return f"{base}/{quote}", tf
    for q in QUOTES:
        if raw.endswith(q) and len(raw) > len(q):
            return f"{raw[: -len(q)]}/{q}", tf
    return (raw or None), tf


def _to_ms(values: np.ndarray) -> np.ndarray:
    """Epoch seconds, milliseconds or microseconds to milliseconds (by magnitude)."""
    v = values.astype(np.float64)
    med = np.nanmedian(v) if len(v) else 0.0
    if med > 1e17:
        v = v / 1e6  # nanoseconds
    elif med > 1e14:
        v = v / 1e3  # microseconds (Binance Vision spot since 2025)
    elif med < 1e11:
        v = v * 1e3  # seconds
    return np.round(v).astype(np.int64)


def _infer_timeframe(time: np.ndarray, file: str) -> str:
    if len(time) < 2:
        raise DataError(f"{file}: too few rows to tell the timeframe; name the file like BTC_USDT-5m.csv")
    step = int(np.median(np.diff(time)))
    for tf, ms in TIMEFRAME_MS.items():
        if ms == step:
            return tf
    raise DataError(f"{file}: candles are {step} ms apart, which is no known timeframe")


def _numeric_column(values: Any, name: str, file: str, line_of: np.ndarray) -> np.ndarray:
    import pandas as pd

    col = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(col))
    if len(bad):
        i = int(bad[0])
        raw = list(values)[i] if not hasattr(values, "iloc") else values.iloc[i]
        raise DataError(f"{file}: line {int(line_of[i])}: column '{name}' has {raw!r}; expected a number")
    return col


def _validate(file: str, time: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
              v: np.ndarray, line_of: np.ndarray) -> None:
    checks = [
        ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "prices must be positive"),
        (v < 0, "volume must not be negative"),
        (h < np.maximum(o, c), "high is below open or close"),
        (lo > np.minimum(o, c), "low is above open or close"),
        (time <= 0, "timestamp must be positive epoch time"),
    ]
    for mask, what in checks:
        bad = np.flatnonzero(mask)
        if len(bad):
            raise DataError(f"{file}: line {int(line_of[bad[0]])}: {what}")


def _build(path: Path, time: np.ndarray, cols: dict[str, np.ndarray], line_of: np.ndarray,
           symbol: str | None, timeframe: str | None, naive: bool = False) -> tuple[Candles, ImportReport]:
    file = str(path)
    name_sym, name_tf = parse_name(path)
    sym = symbol or name_sym
    if not sym:
        raise DataError(f"{file}: cannot tell the symbol from the file name; pass --symbol")
    if len(time) == 0:
        raise DataError(f"{file}: no candles in the file")
    o, h, lo, c, v = (cols[k] for k in OHLCV)
    _validate(file, time, o, h, lo, c, v, line_of)
    order = np.argsort(time, kind="stable")
    reordered = bool(np.any(order != np.arange(len(time))))
    out_of_order = int(np.sum(time < np.maximum.accumulate(time))) if len(time) else 0
    time, o, h, lo, c, v = (a[order] for a in (time, o, h, lo, c, v))
    keep = np.r_[True, np.diff(time) != 0]
    dups = int(len(time) - keep.sum())
    time, o, h, lo, c, v = (a[keep] for a in (time, o, h, lo, c, v))
    tf = timeframe or name_tf or _infer_timeframe(time, file)
    if tf not in TIMEFRAME_MS:
        raise DataError(f"{file}: unknown timeframe '{tf}'")
    off_grid = np.flatnonzero(time % TIMEFRAME_MS[tf] != 0)
    if len(off_grid) and TIMEFRAME_MS[tf] <= 3_600_000:
        raise DataError(f"{file}: candle at {int(time[off_grid[0]])} ms does not start on a {tf} boundary; "
                        f"is the timeframe right?")
    candles = Candles.from_arrays(sym, tf, time, o, h, lo, c, v)
    report = ImportReport(file, sym, tf, len(candles), dups, reordered, gaps(time, TIMEFRAME_MS[tf]), out_of_order,
                          naive)
    if report.notes:
        log.warning("%s: %s", file, "; ".join(report.notes))
        candles = replace(candles, notes=tuple(report.notes))
    return candles, report


def _from_table(path: Path, header: list[str], rows: Any, line_of: np.ndarray, symbol: str | None,
                timeframe: str | None, check: Check = _no_check) -> tuple[Candles, ImportReport]:
    import pandas as pd

    names = [str(h).strip().lower() for h in header]
    tcol = next((c for c in TIME_COLUMNS if c in names), None)
    missing = [c for c in OHLCV if c not in names]
    if tcol is None or missing:
        need = "a time column (date/timestamp/time/open_time)" if tcol is None else f"columns {missing}"
        raise DataError(f"{path}: line 1: header {header!r} lacks {need}")
    frame = rows
    tvals = frame.iloc[:, names.index(tcol)]
    naive = False
    if pd.api.types.is_datetime64_any_dtype(tvals):
        naive = getattr(tvals.dt, "tz", None) is None
        aware = tvals.dt.tz_localize("UTC") if naive else tvals.dt.tz_convert("UTC")
        time = (aware.astype("datetime64[ns, UTC]").astype("int64") // 1_000_000).to_numpy()
    else:
        num = pd.to_numeric(tvals, errors="coerce")
        finite = np.isfinite(num.to_numpy(dtype=np.float64, na_value=np.nan))
        if finite.all() and (num.abs() < 1e19).all():
            time = _to_ms(num.to_numpy())
        elif num.notna().any() and not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise DataError(f"{path}: line {int(line_of[i])}: column '{tcol}' has {tvals.iloc[i]!r}; "
                            f"expected epoch time or a date")
        else:
            parsed = pd.to_datetime(tvals, utc=True, errors="coerce")
            naive = not tvals.astype(str).str.contains(r"(?:Z|[+-]\d\d:?\d\d)\s*$", regex=True).any()
            bad = np.flatnonzero(parsed.isna().to_numpy())
            if len(bad):
                i = int(bad[0])
                raise DataError(f"{path}: line {int(line_of[i])}: column '{tcol}' has {tvals.iloc[i]!r}; "
                                f"expected epoch time or a date")
            time = (parsed.astype("int64") // 1_000_000).to_numpy()
    cols = {}
    for k in OHLCV:
        check()
        cols[k] = _numeric_column(frame.iloc[:, names.index(k)], k, str(path), line_of)
    check()
    return _build(path, np.asarray(time, dtype=np.int64), cols, line_of, symbol, timeframe, naive)


def _read_csv_text(path: Path, text: str, symbol: str | None, timeframe: str | None, check: Check = _no_check
                   ) -> tuple[Candles, ImportReport]:
    import pandas as pd

    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"{path}: the file is empty")
    first = [x.strip() for x in lines[0].split(",")]
    has_header = not _is_number(first[0])
    try:
        reader = pd.read_csv(io.StringIO(text), header=0 if has_header else None, dtype=str,
                             skip_blank_lines=True, on_bad_lines="error", chunksize=CSV_CHUNK_ROWS)
        chunks = []
        for chunk in reader:
            check()
            chunks.append(chunk)
        frame = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    except (pd.errors.ParserError, ValueError) as exc:
        m = re.search(r"line (\d+)", str(exc))
        where = f"line {m.group(1)}: " if m else ""
        raise DataError(f"{path}: {where}malformed CSV ({str(exc).splitlines()[0]})") from None
    line_of = np.arange(len(frame)) + (2 if has_header else 1)
    if has_header:
        return _from_table(path, list(frame.columns), frame, line_of, symbol, timeframe, check)
    if frame.shape[1] < 6:
        raise DataError(f"{path}: line 1: expected at least 6 columns (time, open, high, low, close, volume), "
                        f"got {frame.shape[1]}")
    # Headerless: Binance Vision klines (12 columns) or plain time,open,high,low,close,volume.
    return _from_table(path, ["open_time", *OHLCV, *[f"x{i}" for i in range(frame.shape[1] - 6)]], frame,
                       line_of, symbol, timeframe, check)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_json(path: Path, symbol: str | None, timeframe: str | None) -> tuple[Candles, ImportReport]:
    import pandas as pd

    from app.settings import json_depth_error, json_error_text

    try:
        text = path.read_text(encoding="utf-8-sig")
        deep = json_depth_error(text, 8)
        if deep:
            raise DataError(f"{path}: {deep}; expected a list of candles [time, open, high, low, close, volume]")
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: {json_error_text(exc)}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of candles [time, open, high, low, close, volume]")
    if not data:
        raise DataError(f"{path}: no candles in the file")
    if isinstance(data[0], dict):
        frame = pd.DataFrame(data)
        header = list(frame.columns)
    else:
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) < 6:
                raise DataError(f"{path}: candle {i + 1}: expected a list [time, open, high, low, close, volume]")
        frame = pd.DataFrame([row[:6] for row in data])
        header = ["timestamp", *OHLCV]
    return _from_table(path, header, frame, np.arange(len(frame)) + 1, symbol, timeframe)


def _read_feather(path: Path, symbol: str | None, timeframe: str | None) -> tuple[Candles, ImportReport]:
    import pandas as pd

    try:
        frame = pd.read_feather(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(f"{path}: not a readable feather file ({type(exc).__name__}: {exc})") from None
    return _from_table(path, list(frame.columns), frame, np.arange(len(frame)) + 1, symbol, timeframe)


def _read_zip(path: Path, symbol: str | None, timeframe: str | None) -> tuple[Candles, ImportReport]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise DataError(f"{path}: expected one CSV inside the zip, found {len(members)}")
            text = zf.read(members[0]).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: the CSV inside is not UTF-8 text") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        what = "a damaged or truncated zip archive" if not isinstance(exc, zipfile.BadZipFile) or \
            "CRC" in str(exc) else "not a valid zip archive"
        raise DataError(f"{path}: {what} ({type(exc).__name__}: {exc}); download it again") from None
    except (NotImplementedError, RuntimeError) as exc:  # an unsupported compression method, or encryption
        raise DataError(f"{path}: the zip cannot be read ({exc})") from None
    return _read_csv_text(path, text, symbol, timeframe)


def load_file(path: str | Path, symbol: str | None = None, timeframe: str | None = None, check: Check = _no_check
              ) -> tuple[Candles, ImportReport]:
    """One file's candles and what the import found. `check` runs between the steps of a large CSV (a cancel
    raises there)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    suffix = p.suffix.lower()
    if suffix == ".feather":
        return _read_feather(p, symbol, timeframe)
    if suffix == ".json":
        return _read_json(p, symbol, timeframe)
    if suffix == ".zip":
        return _read_zip(p, symbol, timeframe)
    if suffix in (".csv", ".txt"):
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DataError(f"{p}: is not UTF-8 text") from None
        check()
        return _read_csv_text(p, text, symbol, timeframe, check)
    raise DataError(f"{p}: unknown format '{suffix}'; expected .feather, .csv, .json or .zip")
