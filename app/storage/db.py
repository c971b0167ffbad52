"""SQLite: WAL mode, one transaction per change, schema versions migrated in order (PRAGMA user_version).

Only app/storage opens SQLite. A Database object belongs to the thread that created it; the tracker
owns the one that writes live tables, readers open their own.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from app.errors import DamagedDatabaseError, StorageError

MIGRATIONS: list[str] = [
    # 1: the tables of DESIGN.md
    """
    CREATE TABLE backtest_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        settings TEXT NOT NULL,
        data TEXT NOT NULL,
        counts TEXT,
        min_score REAL NOT NULL,
        max_hold INTEGER NOT NULL,
        feature_names TEXT,
        status TEXT NOT NULL DEFAULT 'running'
    );
    CREATE TABLE backtest_signals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES backtest_runs(id) ON DELETE CASCADE,
        symbol TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        signal_time INTEGER NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('LONG', 'SHORT')),
        entry REAL NOT NULL,
        stop_loss REAL NOT NULL,
        take_profit REAL NOT NULL,
        confluence_score REAL NOT NULL,
        components TEXT NOT NULL,
        patterns TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('WIN', 'LOSS', 'EXPIRED')),
        ambiguous INTEGER NOT NULL DEFAULT 0,
        exit_time INTEGER NOT NULL,
        exit_price REAL NOT NULL,
        pnl_pct REAL NOT NULL,
        bars_held INTEGER NOT NULL,
        atr REAL,
        features BLOB
    );
    CREATE INDEX ix_bt_signals_run ON backtest_signals(run_id, signal_time);
    CREATE TABLE live_signals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        symbol TEXT NOT NULL,
        timeframe TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('LONG', 'SHORT')),
        signal_time INTEGER NOT NULL,
        entry REAL NOT NULL,
        stop_loss REAL NOT NULL,
        take_profit REAL NOT NULL,
        confluence_score REAL NOT NULL,
        components TEXT NOT NULL DEFAULT '{}',
        patterns TEXT NOT NULL DEFAULT '[]',
        ml_prediction INTEGER,
        ml_probability REAL,
        status TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'WIN', 'LOSS', 'EXPIRED')),
        created_at INTEGER NOT NULL,
        closed_at INTEGER,
        exit_price REAL,
        pnl_pct REAL,
        entry_provisional INTEGER NOT NULL DEFAULT 0,
        atr REAL,
        ambiguous INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL DEFAULT '',
        UNIQUE (symbol, timeframe, side, signal_time)
    );
    CREATE INDEX ix_live_status ON live_signals(status);
    CREATE TABLE ml_skips (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        symbol TEXT NOT NULL, timeframe TEXT NOT NULL, side TEXT NOT NULL, signal_time INTEGER NOT NULL,
        confluence_score REAL NOT NULL, ml_probability REAL NOT NULL, min_probability REAL NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (symbol, timeframe, side, signal_time)
    );
    CREATE TABLE feed_state (
        symbol TEXT NOT NULL, timeframe TEXT NOT NULL, last_candle_time INTEGER NOT NULL,
        PRIMARY KEY (symbol, timeframe)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE report_runs (
        period TEXT NOT NULL, period_end TEXT NOT NULL, path TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (period, period_end)
    );
    """,
    # 2: the hold limit and barrier multiples travel with each live signal (settings may change while it is
    # open); the marks that change on every tick live in a narrow table so a tick rewrites few pages
    """
    ALTER TABLE live_signals ADD COLUMN max_hold INTEGER NOT NULL DEFAULT 24;
    ALTER TABLE live_signals ADD COLUMN sl_atr REAL;
    ALTER TABLE live_signals ADD COLUMN tp_atr REAL;
    CREATE INDEX ix_live_symbol ON live_signals(symbol, timeframe, status);
    CREATE TABLE live_marks (
        id INTEGER PRIMARY KEY REFERENCES live_signals(id) ON DELETE CASCADE,
        symbol TEXT NOT NULL,
        side INTEGER NOT NULL,
        entry REAL NOT NULL,
        ticking INTEGER NOT NULL DEFAULT 0,
        last_price REAL,
        last_candle_time INTEGER,
        bars_held INTEGER NOT NULL DEFAULT 0,
        mfe_pct REAL NOT NULL DEFAULT 0,
        mae_pct REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_marks_ticking ON live_marks(symbol, ticking);
    CREATE VIEW live_view AS
        SELECT s.*, m.last_price, m.last_candle_time, m.bars_held, m.mfe_pct, m.mae_pct
        FROM live_signals s JOIN live_marks m ON m.id = s.id
    """,
    # 3: feed positions belong to a source: the simulated market's clock says nothing about an exchange's
    """
    CREATE TABLE feed_state_3 (
        source TEXT NOT NULL DEFAULT '', symbol TEXT NOT NULL, timeframe TEXT NOT NULL,
        last_candle_time INTEGER NOT NULL,
        PRIMARY KEY (source, symbol, timeframe)
    );
    INSERT INTO feed_state_3 (source, symbol, timeframe, last_candle_time)
        SELECT '', symbol, timeframe, last_candle_time FROM feed_state;
    DROP TABLE feed_state;
    ALTER TABLE feed_state_3 RENAME TO feed_state;
    CREATE INDEX ix_live_source ON live_signals(source, status);
    ALTER TABLE backtest_runs ADD COLUMN summary TEXT
    """,
    # 4: queued notifications survive an exit or a crash (sent later, in order; dropped ones counted); when the
    # database was made (scheduled reports never cover days before it)
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try_at INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX ix_outbox_due ON outbox(channel, next_try_at, id);
    CREATE TABLE outbox_stats (
        channel TEXT PRIMARY KEY, sent INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('created_at', CAST(strftime('%s', 'now') AS INTEGER) * 1000)
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
Connection = sqlite3.Connection  # for type hints outside storage (only storage imports sqlite3)
DatabaseError = sqlite3.DatabaseError  # for the repositories of this package


class _Connection(sqlite3.Connection):
    """A connection that knows its file, so a repository can name it in an error."""

    path: Path = Path("?")


class Database:
    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
            self.conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, factory=_Connection)
            self.conn.path = self.path
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self._retry_when_locked(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self._retry_when_locked(self._migrate)
                from app.storage.runlock import mark_interrupted

                mark_interrupted(self)
            else:
                self._check_version()
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.conn.close()
            raise error(self.path, exc) from None
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot open the database ({exc.strerror or exc})") from None

    def _retry_when_locked(self, step: Callable[[], object], patience_s: float = 30.0) -> None:
        """SQLite answers 'locked' at once, without waiting, when two connections open a new file together (one
        turns on WAL or migrates while the other reads): wait and retry, as the busy timeout does elsewhere."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                step()
                return
            except (sqlite3.OperationalError, StorageError) as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _check_version(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"{self.path}: made by a newer ScalpDesk (schema {version}, this one knows "
                               f"{SCHEMA_VERSION}); update the app")

    def _migrate(self) -> None:
        """Each step in its own transaction, the version read inside it: two processes (or threads) opening a new
        file at once never apply a step twice."""
        self._check_version()
        while self.conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            with self.transaction():
                number = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if number >= SCHEMA_VERSION:
                    break
                for statement in _split_sql(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One change = one transaction: committed whole or rolled back whole."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise error(self.path, exc) from None
        try:
            yield self.conn
        except sqlite3.DatabaseError as exc:  # disk full, read-only, locked...: one clear message, nothing kept
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("ROLLBACK")
            raise error(self.path, exc) from None
        except BaseException:
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                with contextlib.suppress(sqlite3.DatabaseError):
                    self.conn.execute("ROLLBACK")
                raise error(self.path, exc) from None

    def write(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> int:
        try:
            with self.transaction() as conn:
                cur = conn.execute(sql, params)
                return int(cur.lastrowid or 0)
        except sqlite3.DatabaseError as exc:
            raise error(self.path, exc) from None

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        try:
            return list(self.conn.execute(sql, params))
        except sqlite3.DatabaseError as exc:
            raise error(self.path, exc) from None

    def integrity_ok(self) -> bool:
        try:
            return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
        except sqlite3.DatabaseError:
            return False

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def error(path: Path, exc: Exception) -> StorageError:
    """The StorageError of an SQLite failure: a damaged file gets its own type (the app offers to move it aside)."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorname", "")
    if "not a database" in text or "malformed" in text or code in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return DamagedDatabaseError(path, f"{path}: the database is damaged or not a ScalpDesk database ({text}). "
                                          f"Nothing was changed. "
                                          f"`python -m app db recover` moves it aside and starts fresh "
                                          f"(from the latest good backup when there is one)")
    return StorageError(_explain(path, exc))


def _explain(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"{path}: the database is read-only; check the file's permissions. Nothing was changed."
    if "disk is full" in text or "database or disk is full" in text:
        return f"{path}: the disk is full; free some space. The last change was not saved, nothing else lost."
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a ScalpDesk database or damaged ({text})"
    if "locked" in text:
        return f"{path}: the database is busy in another program; try again"
    if "unable to open" in text:
        return f"{path}: cannot open the database (does the folder exist and is it writable?)"
    return f"{path}: database error: {text}"
