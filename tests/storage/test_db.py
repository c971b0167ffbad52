"""SQLite: WAL, schema version, one transaction per change, clear errors."""

from __future__ import annotations

import os
import sqlite3

import pytest

from app.errors import StorageError
from app.storage.db import SCHEMA_VERSION, Database


def test_new_database_is_wal_with_tables(tmp_path):
    with Database(tmp_path / "x.sqlite") as db:
        assert db.query("PRAGMA journal_mode")[0][0] == "wal"
        assert db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        names = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"backtest_runs", "backtest_signals", "live_signals"} <= names
        assert db.integrity_ok()


def test_reopening_does_not_migrate_twice(tmp_path):
    Database(tmp_path / "x.sqlite").close()
    with Database(tmp_path / "x.sqlite") as db:
        assert db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION


def test_failed_change_is_rolled_back_whole(tmp_path):
    with Database(tmp_path / "x.sqlite") as db:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute("INSERT INTO events (created_at, kind, message) VALUES (1, 'a', 'b')")
            raise RuntimeError("crash in the middle")
        assert db.query("SELECT COUNT(*) FROM events")[0][0] == 0


def test_newer_schema_is_refused(tmp_path):
    p = tmp_path / "x.sqlite"
    conn = sqlite3.connect(p)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StorageError, match="newer ScalpDesk"):
        Database(p)


def test_not_a_database(tmp_path):
    p = tmp_path / "x.sqlite"
    p.write_bytes(b"hello, this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a ScalpDesk database"):
        Database(p)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_gives_a_clear_message(tmp_path):
    p = tmp_path / "x.sqlite"
    Database(p).close()
    p.chmod(0o444)
    with pytest.raises(StorageError, match="read-only"):
        Database(p).write("INSERT INTO events (created_at, kind, message) VALUES (1, 'a', 'b')")


def test_read_only_connection_refuses_writes_clearly(tmp_path):
    p = tmp_path / "x.sqlite"
    Database(p).close()
    with Database(p, readonly=True) as db, pytest.raises(StorageError, match="read-only"):
        db.write("INSERT INTO events (created_at, kind, message) VALUES (1, 'a', 'b')")


def test_a_new_file_opened_by_several_threads_at_once_opens_for_all(tmp_path):
    """The alert queue and the tracker open the same new file together; SQLite says 'locked' at once there (no
    busy wait), which once left alerts unqueued. 50 races of 4 openers: every open succeeds, schema applied once."""
    import threading

    for k in range(50):
        path = tmp_path / f"race{k}.sqlite"
        errors: list[Exception] = []

        def open_it(path=path, errors=errors) -> None:
            try:
                Database(path).close()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with Database(path) as db:
            assert db.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
