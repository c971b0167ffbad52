"""Import of each file format, including broken files (clear error with file and line, input untouched)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.errors import DataError
from app.market.files import load_file, parse_name
from tests.conftest import REAL, needs_real_data

T0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC
ROWS = [[T0 + i * 60_000, 100 + i, 101 + i, 99 + i, 100.5 + i, 10 + i] for i in range(5)]


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("name, sym, tf", [
    ("BTC_USDT-5m.feather", "BTC/USDT", "5m"), ("BTCUSDT-1m-2024-08.zip", "BTC/USDT", "1m"),
    ("ETHBTC-1h-2024-01-02.csv", "ETH/BTC", "1h"), ("PEPE_USDT-15m.json", "PEPE/USDT", "15m"),
])
def test_symbol_and_timeframe_from_file_name(name, sym, tf):
    assert parse_name(Path(name)) == (sym, tf)


def test_plain_csv_with_header(tmp_path):
    p = tmp_path / "SOL_USDT-1m.csv"
    p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(",".join(map(str, r)) for r in ROWS))
    c, rep = load_file(p)
    assert (c.symbol, c.timeframe, len(c)) == ("SOL/USDT", "1m", 5)
    assert c.close[2] == 102.5 and rep.gaps == [] and rep.duplicates_dropped == 0


def test_binance_vision_zip_in_microseconds(tmp_path):
    rows = [[r[0] * 1000, *r[1:], r[0] * 1000 + 59_999_999, 0, 1, 0, 0, 0] for r in ROWS]
    buf = io.StringIO()
    for r in rows:
        buf.write(",".join(map(str, r)) + "\n")
    p = tmp_path / "BTCUSDT-1m-2025-01.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("BTCUSDT-1m-2025-01.csv", buf.getvalue())
    c, _ = load_file(p)
    assert c.time[0] == T0 and c.symbol == "BTC/USDT" and len(c) == 5


def test_binance_vision_csv_in_milliseconds(tmp_path):
    p = tmp_path / "ETHUSDT-1m-2024-06.csv"
    p.write_text("\n".join(",".join(map(str, [*r, r[0] + 59_999, 0, 1, 0, 0, 0])) for r in ROWS))
    c, _ = load_file(p)
    assert c.time[-1] == T0 + 4 * 60_000 and c.symbol == "ETH/USDT"


def test_freqtrade_json(tmp_path):
    p = tmp_path / "XRP_USDT-1m.json"
    p.write_text(json.dumps(ROWS))
    c, _ = load_file(p)
    assert len(c) == 5 and c.open[0] == 100


def test_feather_as_freqtrade_writes_it(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["date", "open", "high", "low", "close", "volume"])
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    p = tmp_path / "LTC_USDT-1m.feather"
    frame.to_feather(p)
    c, _ = load_file(p)
    assert c.time[0] == T0 and len(c) == 5


def test_duplicates_dropped_unsorted_sorted_gaps_reported(tmp_path):
    rows = [ROWS[0], ROWS[2], ROWS[1], ROWS[1], ROWS[4]]  # out of order, a duplicate, 3 missing
    p = tmp_path / "SOL_USDT-1m.csv"
    p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(",".join(map(str, r)) for r in rows))
    before = _digest(p)
    c, rep = load_file(p)
    assert list(c.time) == [ROWS[i][0] for i in (0, 1, 2, 4)]
    assert rep.duplicates_dropped == 1 and rep.reordered
    assert rep.gaps == [(ROWS[2][0], ROWS[4][0])]  # reported, not filled
    assert _digest(p) == before


@pytest.mark.parametrize("body, message", [
    ("timestamp,open,high,low,close,volume\n1717200000000,100,101,99,100.5,10\n1717200060000,abc,101,99,100,1\n",
     r"line 3: column 'open' has 'abc'; expected a number"),
    ("timestamp,open,high,low,close,volume\n1717200000000,100,99,98,100.5,10\n", r"line 2: high is below"),
    ("timestamp,open,high,low,close,volume\n1717200000000,100,101,99,100.5,-1\n", r"line 2: volume"),
    ("time,open,high,low,close\n1717200000000,100,101,99,100.5\n", r"line 1: header .* lacks columns \['volume'\]"),
    ("", r"empty"),
    ("1717200000000,100,101\n", r"expected at least 6 columns"),
    ("timestamp,open,high,low,close,volume\nyesterday,100,101,99,100.5,10\n", r"line 2: column 'timestamp'"),
])
def test_broken_csv_names_file_and_line(tmp_path, body, message):
    p = tmp_path / "BTC_USDT-1m.csv"
    p.write_text(body)
    before = _digest(p)
    with pytest.raises(DataError, match=message) as err:
        load_file(p)
    assert str(p) in str(err.value)
    assert _digest(p) == before


def test_broken_json_and_zip_and_feather(tmp_path):
    bad = tmp_path / "BTC_USDT-1m.json"
    bad.write_text('[[1717200000000, 1, 2, 0.5, 1.5, 3],\n  [oops]]')
    with pytest.raises(DataError, match="line 2"):
        load_file(bad)
    z = tmp_path / "BTCUSDT-1m-2024-01.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        load_file(z)
    f = tmp_path / "BTC_USDT-1m.feather"
    f.write_bytes(b"ARROW1\x00\x00garbage")
    with pytest.raises(DataError, match="not a readable feather"):
        load_file(f)
    with pytest.raises(DataError, match="unknown format"):
        load_file(tmp_path / "x.parquet") if (tmp_path / "x.parquet").write_text("x") else None


def test_missing_file():
    with pytest.raises(DataError, match="file not found"):
        load_file("/nonexistent/BTC_USDT-5m.csv")


@needs_real_data
def test_real_freqtrade_feather():
    c, rep = load_file(REAL / "BTC_USDT-5m.feather")
    assert c.symbol == "BTC/USDT" and c.timeframe == "5m"
    assert len(c) > 70_000 and rep.gaps == [] and rep.duplicates_dropped == 0
    assert np.all(np.diff(c.time) == 300_000)
    assert c.time[0] == 1_704_067_200_000


def _frame(rows, tz=None):
    return pd.DataFrame({"date": pd.to_datetime([r[0] for r in rows], unit="ms", utc=tz is not None),
                         "open": [r[1] for r in rows], "high": [r[2] for r in rows], "low": [r[3] for r in rows],
                         "close": [r[4] for r in rows], "volume": [r[5] for r in rows]})


def test_a_feather_with_timezone_naive_dates_is_read_as_utc_and_says_so(tmp_path, caplog):
    naive = tmp_path / "BTC_USDT-1m.feather"
    _frame(ROWS).to_feather(naive)  # plain pandas: datetime64 without a time zone
    aware = tmp_path / "ETH_USDT-1m.feather"
    _frame(ROWS, tz="UTC").to_feather(aware)
    c, rep = load_file(naive)
    assert c.time.tolist() == [r[0] for r in ROWS]
    assert rep.naive_times_as_utc and "read as UTC" in " ".join(rep.notes)
    assert "read as UTC" in caplog.text
    c2, rep2 = load_file(aware)
    assert c2.time.tolist() == c.time.tolist() and not rep2.naive_times_as_utc and rep2.notes == []


def test_unsorted_and_duplicate_rows_are_fixed_and_counted(tmp_path, caplog):
    rows = [ROWS[3], ROWS[0], ROWS[1], ROWS[1], ROWS[4], ROWS[2], ROWS[2], ROWS[2]]
    p = tmp_path / "SOL_USDT-1m.csv"
    p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(",".join(map(str, r)) for r in rows))
    c, rep = load_file(p)
    assert c.time.tolist() == [r[0] for r in ROWS]
    assert rep.duplicates_dropped == 3 and rep.rows_out_of_order == 6 and rep.reordered
    assert rep.to_dict()["notes"] == ["6 rows out of time order were sorted",
                                      "3 rows with a duplicate timestamp were dropped (the first kept)"]
    assert "6 rows out of time order were sorted" in caplog.text and str(p) in caplog.text


def test_a_zip_with_a_damaged_deflate_stream_is_a_clear_data_error(tmp_path):
    p = tmp_path / "BTCUSDT-1m-2024-08.zip"
    body = "\n".join(",".join(map(str, r + [0] * 6)) for r in ROWS * 200).encode()
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("BTCUSDT-1m-2024-08.csv", body)
    raw = bytearray(p.read_bytes())
    start = raw.index(b"BTCUSDT-1m-2024-08.csv") + len("BTCUSDT-1m-2024-08.csv")  # the local header's name
    for i in range(start + 20, start + 60):  # garble the deflate stream, keep the headers
        raw[i] ^= 0x5A
    p.write_bytes(bytes(raw))
    before = _digest(p)
    with pytest.raises(DataError, match=r"BTCUSDT-1m-2024-08.zip: a damaged or truncated zip archive"):
        load_file(p)
    assert _digest(p) == before


def test_a_utf8_byte_order_mark_is_accepted_in_csv_and_json(tmp_path):
    csv = tmp_path / "SOL_USDT-1m.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + ("timestamp,open,high,low,close,volume\n" + "\n".join(
        ",".join(map(str, r)) for r in ROWS)).encode())
    assert len(load_file(csv)[0]) == 5
    js = tmp_path / "SOL_USDT-1m.json"
    js.write_bytes(b"\xef\xbb\xbf" + json.dumps(ROWS).encode())
    assert len(load_file(js)[0]) == 5


def test_a_json_nested_1000_deep_is_a_clear_data_error(tmp_path):
    js = tmp_path / "SOL_USDT-1m.json"
    js.write_text("[" * 1000 + "]" * 1000)
    with pytest.raises(DataError, match="nested more than"):
        load_file(js)
