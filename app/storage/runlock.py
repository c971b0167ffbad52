"""Which backtest runs are still being written. A run holds an OS lock on `<db>.run-<id>.lock` from its creation to
its end; the OS drops the lock when the process dies, however it dies (kill -9, power cut). So at the next open a
run still marked 'running' whose lock can be taken was interrupted, and is marked so; the optimisers, training and
`report --run N` refuse it (app.storage.backtests.resolve_run)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from app.storage.db import Database

_HELD: dict[tuple[str, int], IO[bytes]] = {}
_GUARD = threading.Lock()


def lock_path(db_path: Path, run_id: int) -> Path:
    return db_path.with_name(f"{db_path.name}.run-{run_id}.lock")


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def hold(db_path: Path, run_id: int) -> None:
    """Take the lock of a new run (kept until `release`, or until this process ends)."""
    try:
        fh = open(lock_path(db_path, run_id), "wb")  # noqa: SIM115 (held open on purpose)
    except OSError:
        return  # a read-only folder: the run cannot be told from an interrupted one later; it is still stored
    if _try_lock(fh):
        with _GUARD:
            _HELD[(str(db_path), run_id)] = fh
    else:
        fh.close()


def release(db_path: Path, run_id: int) -> None:
    with _GUARD:
        fh = _HELD.pop((str(db_path), run_id), None)
    if fh is not None:
        fh.close()
        with contextlib.suppress(OSError):
            os.unlink(lock_path(db_path, run_id))


def owner_alive(db_path: Path, run_id: int) -> bool:
    """True while some process holds the run's lock (this one included)."""
    with _GUARD:
        if (str(db_path), run_id) in _HELD:
            return True
    path = lock_path(db_path, run_id)
    try:
        fh = open(path, "rb+")  # noqa: SIM115
    except OSError:
        return False  # no lock file: made by a version without locks, or its owner cleaned up and died
    with fh:
        return not _try_lock(fh)


def mark_interrupted(db: Database) -> list[int]:
    """Mark the runs whose writer is gone as 'interrupted'; their ids."""
    rows = db.conn.execute("SELECT id FROM backtest_runs WHERE status = 'running'").fetchall()
    dead = [int(r[0]) for r in rows if not owner_alive(db.path, int(r[0]))]
    if dead:
        with db.transaction() as conn:
            conn.executemany("UPDATE backtest_runs SET status = 'interrupted' WHERE id = ? AND status = 'running'",
                             [(i,) for i in dead])
        for i in dead:
            with contextlib.suppress(OSError):
                os.unlink(lock_path(db.path, i))
    return dead
