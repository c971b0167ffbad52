"""Bad input, property-based: every case ends in a result or a clear error naming what was wrong, never a
traceback, never a changed input file. The number of cases tried is printed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import ConfigError, DataError, ModelError, ScalpDeskError

COUNTS: dict[str, int] = {}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

GOOD_CSV = "timestamp,open,high,low,close,volume\n" + "\n".join(
    f"{1_717_200_000_000 + i * 60_000},{100 + i},{101 + i},{99 + i},{100.5 + i},{10 + i}" for i in range(30))


def _count(kind: str) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    print("\nbad-input cases tried: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())))


def _import(tmp_path: Path, name: str, data: bytes) -> None:
    from app.market.files import load_file

    p = tmp_path / name
    p.write_bytes(data)
    before = hashlib.sha256(data).hexdigest()
    try:
        c, _ = load_file(p)
        assert len(c) > 0
    except DataError as exc:
        assert str(p) in str(exc)  # the message names the file
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before


@FAST
@given(data=st.binary(max_size=400))
def test_random_bytes_as_any_format(tmp_path, data):
    for name in ("BTC_USDT-1m.csv", "BTC_USDT-1m.json", "BTC_USDT-1m.feather", "BTCUSDT-1m-2024-01.zip"):
        _count("import (random bytes)")
        _import(tmp_path, name, data)


@FAST
@given(pos=st.integers(0, len(GOOD_CSV) - 1), junk=st.text(min_size=1, max_size=5))
def test_mutated_csv(tmp_path, pos, junk):
    _count("import (mutated CSV)")
    _import(tmp_path, "SOL_USDT-1m.csv", (GOOD_CSV[:pos] + junk + GOOD_CSV[pos + 1:]).encode())


@FAST
@given(rows=st.lists(st.lists(st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=4),
                                        st.none()), min_size=0, max_size=8), max_size=6))
def test_mutated_json_and_zip(tmp_path, rows):
    _count("import (JSON/zip)")
    _import(tmp_path, "ETH_USDT-1m.json", json.dumps(rows).encode())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x.csv", "\n".join(",".join(map(str, r)) for r in rows))
    _import(tmp_path, "ETHUSDT-1m-2024-01.zip", buf.getvalue())


@FAST
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(),
                                  st.text(max_size=6)),
                        lambda children: st.one_of(st.lists(children, max_size=3),
                                                   st.dictionaries(st.sampled_from(
                                                       ["risk", "sl_atr", "confluence", "min_score", "ml", "enabled",
                                                        "scanner", "symbols", "x"]), children, max_size=3)),
                        max_leaves=8))
def test_config_files(tmp_path, doc):
    from app.settings import load

    _count("configuration")
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    before = p.read_bytes()
    try:
        load(p)
    except ConfigError as exc:
        assert str(p) in str(exc)
    assert p.read_bytes() == before


@FAST
@given(manifest=st.dictionaries(st.sampled_from(["sha256", "feature_names", "versions", "enabled", "x"]),
                                st.one_of(st.text(max_size=10), st.lists(st.text(max_size=5), max_size=3),
                                          st.booleans(), st.none()), max_size=5),
       blob=st.binary(max_size=200))
def test_model_files_and_manifests(tmp_path, manifest, blob):
    import zipfile

    from app.ml.model import MLModelTrainer

    _count("model file + manifest")
    m = tmp_path / "m.model"
    m.write_bytes(blob)
    with pytest.raises(ModelError):
        MLModelTrainer.load(m)  # a foreign file: refused, nothing deserialised
    with zipfile.ZipFile(m, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("model.skops", blob)
    with pytest.raises(ModelError):
        MLModelTrainer.load(m)  # the hash cannot match a manifest we did not write


@FAST
@given(args=st.lists(st.sampled_from(["scan", "backtest", "train", "optimize", "track", "report", "notify",
                                      "--json", "--source", "sim", "files", "--data", "x.csv", "--timeframe", "7m",
                                      "--lookback", "-3", "--min-score", "abc", "--db", "/nonexistent/dir/x.db",
                                      "thresholds", "--period", "yearly", "--out", "--config", "nope.json"]),
                     max_size=6))
def test_command_line_arguments(args, capsys):
    from app.cli import main

    _count("command line")
    try:
        code = main(args)
    except SystemExit as exc:  # argparse: usage and a one-line error, exit 2
        code = exc.code
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "internal error" not in out.err
    assert code in (0, 2, None)


def test_database_full_is_a_clear_message_and_nothing_half_written(tmp_path):
    from dataclasses import replace

    from app.core.outcomes import Costs
    from app.core.signals import Signal
    from app.errors import StorageError
    from app.services.live.tracker import LiveSignalTracker
    from app.storage.db import Database

    db = Database(tmp_path / "full.sqlite")
    tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0)
    base = Signal("X/USDT", "1m", "LONG", 0, 100.0, 98.0, 103.0, 70.0, {"trend": 1.0}, ("CDLDOJI",) * 50, 1.0)
    pages = db.query("PRAGMA page_count")[0][0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 3}")  # the disk fills up
    with pytest.raises(StorageError, match="disk is full"), tr.cycle():
        for i in range(2000):
            tr.add_signal(replace(base, signal_time=i * 60_000))
    assert db.query("SELECT COUNT(*) FROM live_signals")[0][0] == 0  # the whole cycle rolled back
    assert tr.open_count == 0 and db.integrity_ok()


def test_internal_errors_never_show_a_traceback(monkeypatch, capsys):
    from app import cli
    from app.commands import scan

    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(scan, "run", boom)
    assert cli.main(["scan"]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: bug" in err and "Traceback" not in err


def test_scalpdesk_error_is_a_base_for_all_user_errors():
    for cls in (ConfigError, DataError, ModelError):
        assert issubclass(cls, ScalpDeskError)
