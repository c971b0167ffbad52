"""Recoverable files: daily backups (keep N), a damaged database named and moved aside on request, garbage pages
in the live tables reported as such (never an internal error), interrupted backtest runs marked and refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from app.errors import DamagedDatabaseError, ScalpDeskError
from app.storage import backtests, recovery
from app.storage.db import Database
from tests.conftest import ROOT, run_cli


def _live_db(path, n=3000, start=0):
    with Database(path) as db, db.transaction() as conn:
        conn.executemany(
            "INSERT INTO live_signals (symbol, timeframe, side, signal_time, entry, stop_loss, take_profit, "
            "confluence_score, status, created_at, source) VALUES (?, '5m', 'LONG', ?, 1, 0.9, 1.2, 70, 'OPEN', 1, "
            "'REPLAY')", [(f"S{i % 7}/USDT", i * 300_000) for i in range(start, start + n)])
        conn.execute("INSERT OR IGNORE INTO live_marks (id, symbol, side, entry) SELECT id, symbol, 1, entry "
                     "FROM live_signals")
    return path


def _garble_table(path, table):
    """Garbage over the root page of a table (the file stays a valid SQLite file: page 1 is intact)."""
    conn = sqlite3.connect(path)
    root, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    size, = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * size)
        fh.write(os.urandom(size))


def test_daily_backup_once_a_day_keeps_n_and_never_backs_up_damage(tmp_path):
    db = _live_db(tmp_path / "scalpdesk.sqlite", 50)
    days = [dt.date(2026, 3, d) for d in range(1, 6)]
    made = [recovery.daily_backup(db, keep=3, today=d) for d in days]
    assert all(made) and recovery.daily_backup(db, keep=3, today=days[-1]) is None  # once a day
    kept = recovery.backups(db)
    assert [p.name for p in kept] == ["scalpdesk-2026-03-05.sqlite", "scalpdesk-2026-03-04.sqlite",
                                      "scalpdesk-2026-03-03.sqlite"]
    with Database(kept[0]) as b:
        assert b.query("SELECT COUNT(*) FROM live_signals")[0][0] == 50
    _garble_table(db, "live_signals")
    assert recovery.daily_backup(db, keep=3, today=dt.date(2026, 3, 6)) is None  # damage is not rotated in
    assert recovery.backups(db) == kept
    assert recovery.daily_backup(db, keep=0, today=dt.date(2026, 3, 7)) is None  # setting 0: off


def test_garbage_pages_in_live_tables_are_named_not_an_internal_error(tmp_path, isolated_home):
    db = _live_db(tmp_path / "live.sqlite")
    _garble_table(db, "live_signals")
    proc = run_cli(isolated_home, "track", "--source", "replay", "--data", str(ROOT / "data" / "SIM_USDT-5m.csv"),
                   "--db", str(db), "--json", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "internal error" not in proc.stderr
    assert "the database is damaged" in proc.stderr and "db recover" in proc.stderr
    with Database(db) as d, pytest.raises(DamagedDatabaseError):
        from app.storage import live

        live.open_rows(d.conn, "REPLAY")


def test_recover_moves_the_file_aside_and_starts_from_the_latest_good_backup(tmp_path, isolated_home):
    db = _live_db(tmp_path / "scalpdesk.sqlite", 40)
    recovery.daily_backup(db, keep=7)
    _live_db(db, 10, start=40)  # 10 more after the backup: lost with the damage, the backup keeps 40
    _garble_table(db, "live_signals")
    assert recovery.check(db) is None  # it opens: the damage is inside a table
    damaged_bytes = db.read_bytes()
    (tmp_path / "scalpdesk.sqlite-wal").write_bytes(b"")  # its side files move with it
    out = json.loads(run_cli(isolated_home, "db", "recover", "--db", str(db), "--json").stdout)
    assert out["restored_from"] and out["moved_to"].startswith(str(db) + ".damaged-")
    moved = tmp_path / os.path.basename(out["moved_to"])
    assert moved.read_bytes() == damaged_bytes and (tmp_path / (moved.name + "-wal")).exists()
    with Database(db) as d:
        assert d.query("SELECT COUNT(*) FROM live_signals")[0][0] == 40 and d.integrity_ok()
    check = json.loads(run_cli(isolated_home, "db", "check", "--db", str(db), "--json").stdout)
    assert check["ok"]
    _garble_table(db, "live_signals")
    empty = json.loads(run_cli(isolated_home, "db", "recover", "--db", str(db), "--empty", "--json").stdout)
    assert empty["restored_from"] is None
    with Database(db) as d:
        assert d.query("SELECT COUNT(*) FROM live_signals")[0][0] == 0


def test_a_damaged_file_is_offered_to_be_moved_aside_at_a_terminal(tmp_path):
    """At a terminal the CLI asks; answering yes moves the file aside (scripts only get the hint)."""
    import pty

    db = tmp_path / "x.sqlite"
    db.write_bytes(b"garbage" * 1000)
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home")}
    fd, tty = pty.openpty()  # the command line at a terminal: stdin and stderr are a tty
    proc = subprocess.Popen([sys.executable, "-m", "app", "train", "--db", str(db)], cwd=ROOT, env=env, stdin=tty,
                            stdout=tty, stderr=tty, close_fds=True)
    os.close(tty)
    out = b""
    deadline = time.monotonic() + 120
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not answered and b"[y/N]" in out:
            os.write(fd, b"y\n")
            answered = True
    status = proc.wait(timeout=60)
    os.close(fd)
    text = out.decode(errors="replace")
    assert answered, text
    assert status == 2
    assert "moved to" in text and not db.read_bytes().startswith(b"garbage")
    assert any(p.name.startswith("x.sqlite.damaged-") for p in tmp_path.iterdir())


_WRITER = """
import sys, time
from app.storage import backtests
from app.storage.db import Database
db = Database(sys.argv[1])
run = backtests.create_run(db, {}, [], 50.0, 24, [])
print(run, flush=True)
time.sleep(600)
"""


def _start_writer(db):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def test_runs_killed_midway_are_marked_interrupted_and_refused(tmp_path, isolated_home):
    db = tmp_path / "bt.sqlite"
    Database(db).close()
    proc, run_id = _start_writer(db)
    try:
        with Database(db) as d:  # its writer is alive: still running, not touched
            assert backtests.get_run(d, run_id)["status"] == "running"
            with pytest.raises(ScalpDeskError, match="still running"):
                backtests.resolve_run(d, run_id)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with Database(db) as d:  # the next open sees the writer gone
        assert backtests.get_run(d, run_id)["status"] == "interrupted"
        assert backtests.latest_run_id(d) is None
    for cmd in (["train", "--run", str(run_id)], ["optimize", "thresholds", "--run", str(run_id)]):
        proc = run_cli(isolated_home, *cmd, "--db", str(db), check=False)
        assert proc.returncode == 2, proc.stderr
        assert f"backtest run {run_id} was interrupted before it finished" in proc.stderr
    assert not list(tmp_path.glob("*.lock"))


def test_a_live_session_makes_the_days_backup_off_the_scan_path(tmp_path):
    from app.session.live import LiveSession, SourceSpec
    from app.settings import load

    db = tmp_path / "live.sqlite"
    with LiveSession(load(), db, tmp_path / "none.model", SourceSpec(kind="sim"), alerts=False,
                     watch_file=False) as session:
        session.cycle()
        session.cycle()  # once a day, not once a cycle
    made = recovery.backups(db)
    assert len(made) == 1 and made[0].name == f"live-{dt.date.today().isoformat()}.sqlite"
