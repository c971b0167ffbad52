"""Repository of the live tables: live_signals, ml_skips, feed_state, events. Callers pass the connection
of the transaction they are in, so one scan cycle is one transaction."""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from app.core.signals import Signal
from app.storage.db import error

P = ParamSpec("P")
R = TypeVar("R")


def _translated(fn: Callable[P, R]) -> Callable[P, R]:
    """SQLite errors (a damaged page, a full disk) leave this module as StorageError naming the file, whether or
    not the caller is inside a transaction; never as a raw sqlite3 error (an "internal error" for the user)."""
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            conn = args[0] if args else kwargs.get("conn")
            raise error(getattr(conn, "path", Path("database")), exc) from None

    return wrapper

LIVE_COLUMNS = ("symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit", "confluence_score",
                "components", "patterns", "ml_prediction", "ml_probability", "status", "created_at",
                "entry_provisional", "atr", "source", "max_hold", "sl_atr", "tp_atr")


@_translated
def insert_signal(conn: sqlite3.Connection, s: Signal, source: str, max_hold: int, sl_atr: float,
                  tp_atr: float) -> int | None:
    """The new row's id, or None when this (symbol, timeframe, side, candle) is already recorded."""
    values = (s.symbol, s.timeframe, s.side, s.signal_time, s.entry, s.stop_loss, s.take_profit, s.confluence_score,
              json.dumps(s.components), json.dumps(list(s.patterns)), s.ml_prediction, s.ml_probability, "OPEN",
              s.created_at or int(time.time() * 1000), int(s.entry_provisional), s.atr, source, max_hold, sl_atr,
              tp_atr)
    cur = conn.execute(f"INSERT OR IGNORE INTO live_signals ({', '.join(LIVE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' for _ in LIVE_COLUMNS)})", values)
    if cur.rowcount != 1 or not cur.lastrowid:
        return None
    new_id = int(cur.lastrowid)
    conn.execute("INSERT INTO live_marks (id, symbol, side, entry, ticking, last_candle_time) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 (new_id, s.symbol, 1 if s.side == "LONG" else -1, s.entry, int(not s.entry_provisional),
                  s.signal_time))
    return new_id


@_translated
def update_open(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]],
                fixed: Sequence[tuple[Any, ...]] = ()) -> None:
    """rows: (last_price, last_candle_time, bars_held, mfe_pct, mae_pct, id) of signals still open;
    fixed: (entry, stop_loss, take_profit, id) of those whose provisional entry became the open of t+1."""
    if fixed:
        conn.executemany("UPDATE live_signals SET entry = ?, stop_loss = ?, take_profit = ?, entry_provisional = 0 "
                         "WHERE id = ?", fixed)
        conn.executemany("UPDATE live_marks SET entry = ?, ticking = 1 WHERE id = ?", [(f[0], f[3]) for f in fixed])
    conn.executemany("UPDATE live_marks SET last_price = ?, last_candle_time = ?, bars_held = ?, mfe_pct = ?, "
                     "mae_pct = ? WHERE id = ?", rows)


@_translated
def apply_tick(conn: sqlite3.Connection, symbol: str, price: float, short_price: float | None = None) -> int:
    """One statement for all open signals of a symbol whose entry is fixed: LONGs marked at `price`, SHORTs at
    `short_price` (the bid and the ask; both `price` when not given). The same arithmetic as the tracker's memory,
    so both hold identical excursions."""
    px = "(CASE WHEN side > 0 THEN :p ELSE :q END)"
    move = f"side * ({px} - entry) / entry * 100.0"
    cur = conn.execute(f"UPDATE live_marks SET last_price = {px}, mfe_pct = MAX(mfe_pct, {move}), "
                       f"mae_pct = MIN(mae_pct, {move}) WHERE symbol = :s AND ticking = 1",
                       {"p": price, "q": price if short_price is None else short_price, "s": symbol})
    return int(cur.rowcount)


@_translated
def close_signals(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """rows: (status, closed_at, exit_price, pnl_pct, ambiguous, entry, stop_loss, take_profit, last_price,
    last_candle_time, bars_held, mfe_pct, mae_pct, id)."""
    conn.executemany("UPDATE live_signals SET status = ?, closed_at = ?, exit_price = ?, pnl_pct = ?, ambiguous = ?, "
                     "entry = ?, stop_loss = ?, take_profit = ?, entry_provisional = 0 "
                     "WHERE id = ? AND status = 'OPEN'",
                     [(*r[:8], r[13]) for r in rows])
    conn.executemany("UPDATE live_marks SET ticking = 0, entry = ?, last_price = ?, last_candle_time = ?, "
                     "bars_held = ?, mfe_pct = ?, mae_pct = ? WHERE id = ?", [(r[5], *r[8:]) for r in rows])


@_translated
def open_rows(conn: sqlite3.Connection, source: str) -> list[sqlite3.Row]:
    """The open signals one source recorded (a simulated market's candles never decide an exchange's signal)."""
    return list(conn.execute("SELECT * FROM live_view WHERE status = 'OPEN' AND source = ? ORDER BY id", (source,)))


@_translated
def statuses(conn: sqlite3.Connection, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(status, pnl_pct) of every signal of a source, in id order (pnl NaN while open)."""
    rows = conn.execute("SELECT status, pnl_pct FROM live_signals WHERE source = ? ORDER BY id", (source,)).fetchall()
    return (np.array([r[0] for r in rows], dtype=object),
            np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64))


@_translated
def closed_scores(conn: sqlite3.Connection, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(confluence score, won) of the closed signals of a source (the drift monitor's input)."""
    rows = conn.execute("SELECT confluence_score, status FROM live_signals WHERE status != 'OPEN' AND source = ?",
                        (source,)).fetchall()
    return (np.array([r[0] for r in rows], dtype=np.float64), np.array([r[1] == "WIN" for r in rows], dtype=bool))


@_translated
def log_skip(conn: sqlite3.Connection, s: Signal, min_probability: float) -> None:
    conn.execute("INSERT OR IGNORE INTO ml_skips (symbol, timeframe, side, signal_time, confluence_score, "
                 "ml_probability, min_probability, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (s.symbol, s.timeframe, s.side, s.signal_time, s.confluence_score, s.ml_probability, min_probability,
                  s.created_at or int(time.time() * 1000)))


@_translated
def feed_positions(conn: sqlite3.Connection, source: str) -> dict[tuple[str, str], int]:
    """The last processed candle per (symbol, timeframe) of a source (rows from before sources were told
    apart, source '', count for every source)."""
    rows = conn.execute("SELECT symbol, timeframe, last_candle_time FROM feed_state WHERE source IN ('', ?) "
                        "ORDER BY source", (source,))
    return {(r[0], r[1]): int(r[2]) for r in rows}


@_translated
def set_feed_position(conn: sqlite3.Connection, source: str, symbol: str, timeframe: str, last_time: int) -> None:
    conn.execute("INSERT INTO feed_state (source, symbol, timeframe, last_candle_time) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(source, symbol, timeframe) DO UPDATE SET last_candle_time = excluded.last_candle_time",
                 (source, symbol, timeframe, last_time))


@_translated
def add_event(conn: sqlite3.Connection, kind: str, message: str, data: dict[str, Any]) -> None:
    conn.execute("INSERT INTO events (created_at, kind, message, data) VALUES (?, ?, ?, ?)",
                 (int(time.time() * 1000), kind, message, json.dumps(data)))


@_translated
def closed_rows(conn: sqlite3.Connection, since_ms: int | None = None, until_ms: int | None = None
                ) -> list[sqlite3.Row]:
    sql = "SELECT * FROM live_view WHERE status != 'OPEN'"
    args: list[Any] = []
    if since_ms is not None:
        sql += " AND closed_at >= ?"
        args.append(since_ms)
    if until_ms is not None:
        sql += " AND closed_at < ?"
        args.append(until_ms)
    return list(conn.execute(sql + " ORDER BY closed_at, id", args))


@_translated
def started_ms(conn: sqlite3.Connection) -> int | None:
    """When this database began to record: its creation, or its first live signal's candle if earlier."""
    made = conn.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    first = conn.execute("SELECT MIN(signal_time) FROM live_signals").fetchone()
    times = [int(x[0]) for x in (made, first) if x is not None and x[0] is not None]
    return min(times) if times else None
