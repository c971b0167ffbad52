"""Repository of the persistent notification queue (tables outbox, outbox_stats): messages wait here until sent,
across exits and crashes. Bounded per channel: when full, the oldest message is dropped and counted."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.storage.db import Database


@dataclass(frozen=True)
class Queued:
    id: int
    payload: str
    created_at: int
    attempts: int


def _bump(conn: object, channel: str, column: str, n: int = 1) -> None:
    conn.execute(f"INSERT INTO outbox_stats (channel, {column}) VALUES (?, ?) "  # type: ignore[attr-defined]
                 f"ON CONFLICT(channel) DO UPDATE SET {column} = {column} + excluded.{column}", (channel, n))


def enqueue(db: Database, channel: str, payloads: list[str], limit: int, now_ms: int | None = None) -> int:
    """Queue messages in one transaction; returns how many older ones were dropped to stay within `limit`."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    with db.transaction() as conn:
        conn.executemany("INSERT INTO outbox (channel, payload, created_at) VALUES (?, ?, ?)",
                         [(channel, p, now) for p in payloads])
        count = conn.execute("SELECT COUNT(*) FROM outbox WHERE channel = ?", (channel,)).fetchone()[0]
        excess = max(0, int(count) - limit)
        if excess:
            conn.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE channel = ? ORDER BY id "
                         "LIMIT ?)", (channel, excess))
            _bump(conn, channel, "dropped", excess)
    return excess


def next_due(db: Database, channel: str, now_ms: int) -> Queued | None:
    rows = db.query("SELECT id, payload, created_at, attempts FROM outbox WHERE channel = ? AND next_try_at <= ? "
                    "ORDER BY id LIMIT 1", (channel, now_ms))
    return Queued(int(rows[0][0]), str(rows[0][1]), int(rows[0][2]), int(rows[0][3])) if rows else None


def next_try(db: Database, channel: str) -> int | None:
    """When the earliest waiting message may be tried (epoch ms), or None when none waits."""
    rows = db.query("SELECT MIN(next_try_at) FROM outbox WHERE channel = ?", (channel,))
    return None if rows[0][0] is None else int(rows[0][0])


def sent(db: Database, channel: str, item_id: int) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))
        _bump(conn, channel, "sent")


def give_up(db: Database, channel: str, item_id: int, error: str) -> None:
    """A message that cannot be sent (refused, or too many attempts): removed and counted as failed."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM outbox WHERE id = ?", (item_id,))
        _bump(conn, channel, "failed")


def retry_later(db: Database, item_id: int, next_try_at: int, error: str) -> None:
    db.write("UPDATE outbox SET attempts = attempts + 1, next_try_at = ?, last_error = ? WHERE id = ?",
             (next_try_at, error[:500], item_id))


def counts(db: Database, channel: str) -> dict[str, int]:
    """{queued, sent, dropped, failed} of a channel, over every session that used this database."""
    queued = int(db.query("SELECT COUNT(*) FROM outbox WHERE channel = ?", (channel,))[0][0])
    row = db.query("SELECT sent, dropped, failed FROM outbox_stats WHERE channel = ?", (channel,))
    s, d, f = (int(x) for x in row[0]) if row else (0, 0, 0)
    return {"queued": queued, "sent": s, "dropped": d, "failed": f}
