"""Repository of backtest runs and their decided signals."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np

from app.errors import CancelledError
from app.storage import runlock
from app.storage.db import Database

SIGNAL_COLUMNS = ("run_id", "symbol", "timeframe", "signal_time", "side", "entry", "stop_loss", "take_profit",
                  "confluence_score", "components", "patterns", "outcome", "ambiguous", "exit_time",
                  "exit_price", "pnl_pct", "bars_held", "atr", "features")


def create_run(db: Database, settings: dict[str, Any], data: list[dict[str, Any]], min_score: float,
               max_hold: int, feature_names: list[str]) -> int:
    """A new run, status 'running'; its lock is taken before the row is visible to anyone (app.storage.runlock)."""
    with db.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO backtest_runs (started_at, settings, data, min_score, max_hold, feature_names) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (int(time.time() * 1000), json.dumps(settings), json.dumps(data), min_score, max_hold,
             json.dumps(feature_names)))
        run_id = int(cur.lastrowid or 0)
        runlock.hold(db.path, run_id)
    return run_id


def insert_signals(db: Database, rows: list[tuple[Any, ...]], cancel: threading.Event | None = None) -> None:
    """All rows in one transaction (chunks let other threads, the GUI, run between); a cancel rolls it back."""
    sql = (f"INSERT INTO backtest_signals ({', '.join(SIGNAL_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in SIGNAL_COLUMNS)})")
    with db.transaction() as conn:
        for a in range(0, len(rows), 5000):
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled while storing; nothing was stored")
            conn.executemany(sql, rows[a:a + 5000])


def finish_run(db: Database, run_id: int, counts: dict[str, Any], status: str = "done",
               summary: dict[str, Any] | None = None) -> None:
    """Mark a run done (or failed) with its counts and, when given, its whole result (what reports re-read)."""
    try:
        db.write("UPDATE backtest_runs SET finished_at = ?, counts = ?, status = ?, summary = ? WHERE id = ?",
                 (int(time.time() * 1000), json.dumps(counts), status,
                  None if summary is None else json.dumps(summary, default=_json_default), run_id))
    finally:
        runlock.release(db.path, run_id)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def latest_run_id(db: Database) -> int | None:
    rows = db.query("SELECT id FROM backtest_runs WHERE status = 'done' ORDER BY id DESC LIMIT 1")
    return int(rows[0]["id"]) if rows else None


def resolve_run(db: Database, run_id: int | None) -> dict[str, Any]:
    """The given run, or the latest finished one; a clear error when there is none."""
    from app.errors import ScalpDeskError

    rid = run_id if run_id is not None else latest_run_id(db)
    if rid is None:
        raise ScalpDeskError(f"{db.path}: no finished backtest; run `python -m app backtest` first")
    run = get_run(db, rid)
    if run is None:
        raise ScalpDeskError(f"{db.path}: no backtest run {rid}")
    status = run.get("status")
    if status == "running":
        raise ScalpDeskError(f"backtest run {rid} is still running; wait for it to finish (or use another run)")
    if status != "done":
        raise ScalpDeskError(f"backtest run {rid} was {status or 'not finished'} before it finished: its stored "
                             f"signals are incomplete and are not used. Run the backtest again")
    return run


def finished_runs(db: Database) -> list[dict[str, Any]]:
    """Finished runs, newest first, with settings, data description and counts parsed."""
    rows = db.query("SELECT id FROM backtest_runs WHERE status = 'done' ORDER BY id DESC")
    return [r for r in (get_run(db, int(x["id"])) for x in rows) if r is not None]


def load_outcomes(db: Database, run_id: int, timeframe: str | None = None) -> dict[str, np.ndarray]:
    """The columns the statistics need (no JSON parsed): symbol, timeframe, signal_time, side, score, outcome,
    pnl_pct, entry, stop_loss, exit_time, bars_held; in time order."""
    sql = ("SELECT symbol, timeframe, signal_time, side, confluence_score, outcome, pnl_pct, entry, stop_loss, "
           "exit_time, bars_held FROM backtest_signals WHERE run_id = ?")
    args: tuple[Any, ...] = (run_id,)
    if timeframe is not None:
        sql += " AND timeframe = ?"
        args = (run_id, timeframe)
    rows = db.query(sql + " ORDER BY signal_time, id", args)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 11
    return {
        "symbol": np.array(cols[0], dtype=object), "timeframe": np.array(cols[1], dtype=object),
        "signal_time": np.array(cols[2], dtype=np.int64),
        "side": np.array([1 if s == "LONG" else -1 for s in cols[3]], dtype=np.int8),
        "score": np.array(cols[4], dtype=np.float64), "outcome": np.array(cols[5], dtype=object),
        "pnl_pct": np.array(cols[6], dtype=np.float64), "entry": np.array(cols[7], dtype=np.float64),
        "stop_loss": np.array(cols[8], dtype=np.float64), "exit_time": np.array(cols[9], dtype=np.int64),
        "bars_held": np.array(cols[10], dtype=np.int64),
    }


def run_source(run: dict[str, Any]) -> str:
    """Where a run's candles came from: SIMULATED or FILES (runs made before this was recorded: their settings')."""
    counts = run.get("counts") or {}
    return str(counts.get("source") or (run.get("settings") or {}).get("data_source") or "FILES")


def get_run(db: Database, run_id: int) -> dict[str, Any] | None:
    rows = db.query("SELECT * FROM backtest_runs WHERE id = ?", (run_id,))
    if not rows:
        return None
    r = dict(rows[0])
    for key in ("settings", "data", "counts", "feature_names", "summary"):
        if r.get(key):
            r[key] = json.loads(r[key])
    return r


def load_signals(db: Database, run_id: int, with_features: bool = False) -> dict[str, Any]:
    """Columns of a run's signals in time order (numpy arrays; patterns as lists)."""
    cols = "signal_time, symbol, timeframe, side, entry, stop_loss, take_profit, confluence_score, components, " \
           "patterns, outcome, ambiguous, exit_time, exit_price, pnl_pct, bars_held, atr"
    if with_features:
        cols += ", features"
    rows = db.query(f"SELECT {cols} FROM backtest_signals WHERE run_id = ? ORDER BY signal_time, id", (run_id,))
    out: dict[str, Any] = {
        "signal_time": np.array([r["signal_time"] for r in rows], dtype=np.int64),
        "symbol": np.array([r["symbol"] for r in rows], dtype=object),
        "timeframe": np.array([r["timeframe"] for r in rows], dtype=object),
        "side": np.array([1 if r["side"] == "LONG" else -1 for r in rows], dtype=np.int8),
        "score": np.array([r["confluence_score"] for r in rows], dtype=np.float64),
        "outcome": np.array([r["outcome"] for r in rows], dtype=object),
        "ambiguous": np.array([r["ambiguous"] for r in rows], dtype=bool),
        "exit_time": np.array([r["exit_time"] for r in rows], dtype=np.int64),
        "pnl_pct": np.array([r["pnl_pct"] for r in rows], dtype=np.float64),
        "bars_held": np.array([r["bars_held"] for r in rows], dtype=np.int64),
        "entry": np.array([r["entry"] for r in rows], dtype=np.float64),
        "patterns": [json.loads(r["patterns"]) for r in rows],
        "components": [json.loads(r["components"]) for r in rows],
    }
    if with_features:
        blobs = [r["features"] for r in rows]
        out["features"] = (np.vstack([np.frombuffer(b, dtype=np.float32) for b in blobs])
                           if blobs and all(b is not None for b in blobs) else None)
    return out


def delete_run(db: Database, run_id: int) -> None:
    """A run and its signals (a cancelled backtest leaves nothing behind)."""
    db.write("DELETE FROM backtest_runs WHERE id = ?", (run_id,))


TRADE_COLUMNS = ("id", "symbol", "timeframe", "signal_time", "side", "entry", "stop_loss", "take_profit",
                 "confluence_score", "outcome", "ambiguous", "exit_time", "exit_price", "pnl_pct", "bars_held")


def trade_columns(db: Database, run_id: int) -> dict[str, np.ndarray]:
    """A run's decided signals as columns in time order, without the JSON and feature blobs (the trade list)."""
    rows = db.query(f"SELECT {', '.join(TRADE_COLUMNS)} FROM backtest_signals WHERE run_id = ? "
                    "ORDER BY signal_time, id", (run_id,))
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(TRADE_COLUMNS)
    kinds = {"id": np.int64, "signal_time": np.int64, "exit_time": np.int64, "bars_held": np.int64,
             "ambiguous": bool, "symbol": object, "timeframe": object, "side": object, "outcome": object}
    return {name: np.array(col, dtype=kinds.get(name, np.float64)) for name, col in zip(TRADE_COLUMNS, cols,
                                                                                         strict=True)}
