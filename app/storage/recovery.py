"""Backups and recovery of the database file.

- `daily_backup`: one copy a day (SQLite's online backup, consistent while the app writes), the newest `keep`
  kept; a file that fails its integrity check is never backed up, so good backups are not rotated away by bad ones.
- `check`: whether a database opens (the window asks before it starts; the CLI names the damage).
- `recover`: move a damaged file aside (with its -wal/-shm, nothing deleted) and start fresh, from the newest
  backup that passes its integrity check when there is one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import DamagedDatabaseError, StorageError
from app.storage.db import Database, error

log = logging.getLogger(__name__)
_SIDES = ("-wal", "-shm")


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def backups(db_path: Path, folder: Path | None = None) -> list[Path]:
    """Backups of this database, newest first."""
    folder = folder or backup_dir(db_path)
    return sorted(folder.glob(f"{db_path.stem}-????-??-??.sqlite"), reverse=True)


def _integrity_ok(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        try:
            return bool(conn.execute("PRAGMA quick_check").fetchone()[0] == "ok")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def daily_backup(db_path: Path, keep: int, folder: Path | None = None, today: dt.date | None = None) -> Path | None:
    """Today's backup (None when it exists already, `keep` is 0, there is no database, or the database fails its
    integrity check: then the older backups stay untouched). Older backups beyond `keep` are removed."""
    if keep <= 0 or not db_path.is_file():
        return None
    folder = folder or backup_dir(db_path)
    day = (today or dt.date.today()).isoformat()
    target = folder / f"{db_path.stem}-{day}.sqlite"
    if target.exists():
        return None
    if not _integrity_ok(db_path):
        log.error("%s fails its integrity check: no backup made today, the older backups are kept", db_path)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30.0)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, target)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise error(db_path, exc) if isinstance(exc, sqlite3.DatabaseError) else \
            StorageError(f"{target}: backup failed ({exc.strerror or exc}); the older backups are kept") from None
    finally:
        tmp.unlink(missing_ok=True)
    for old in backups(db_path, folder)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


def check(db_path: Path) -> DamagedDatabaseError | None:
    """The damage of a database that does not open (None when it opens or does not exist yet). Cheap: it opens the
    file and reads its schema; damage deeper in a table shows when that table is read (a DamagedDatabaseError)."""
    if not db_path.exists():
        return None
    try:
        with Database(db_path) as db:
            db.query("SELECT COUNT(*) FROM sqlite_master")
    except DamagedDatabaseError as exc:
        return exc
    except StorageError:
        return None  # busy, read-only...: not damage; the caller's own open reports it
    return None


@dataclass(frozen=True)
class Recovery:
    moved_to: Path
    restored_from: Path | None

    def text(self) -> str:
        start = f"restored from the backup {self.restored_from}" if self.restored_from else "a fresh, empty database"
        return f"The damaged database was moved to {self.moved_to}; ScalpDesk continues with {start}."

    def to_dict(self) -> dict[str, str | None]:
        return {"moved_to": str(self.moved_to),
                "restored_from": None if self.restored_from is None else str(self.restored_from)}


def recover(db_path: Path, use_backup: bool = True) -> Recovery:
    """Move the database (and its -wal/-shm) aside as `<name>.damaged-<time>`, then start from the newest good
    backup (or empty). Nothing is deleted."""
    if not db_path.exists():
        raise StorageError(f"{db_path}: no database to move aside")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    try:
        os.replace(db_path, aside)
        for side in _SIDES:
            extra = db_path.with_name(db_path.name + side)
            if extra.exists():
                os.replace(extra, aside.with_name(aside.name + side))
    except OSError as exc:
        raise StorageError(f"{db_path}: could not be moved aside ({exc.strerror or exc})") from None
    source = next((b for b in backups(db_path) if _integrity_ok(b)), None) if use_backup else None
    if source is not None:
        tmp = db_path.with_name(db_path.name + ".restore.tmp")
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
            os.replace(tmp, db_path)
        except (sqlite3.DatabaseError, OSError) as exc:
            log.error("restoring %s failed (%s); starting empty", source, exc)
            source = None
        finally:
            tmp.unlink(missing_ok=True)
    Database(db_path).close()  # migrate (a backup may be older) or create the empty database now
    return Recovery(aside, source)
