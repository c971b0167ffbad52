"""Crash safety: a replay killed with SIGKILL at random moments and restarted ends with exactly the rows of an
uninterrupted run; the database passes PRAGMA integrity_check and holds no duplicate."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

COLS = ("symbol", "timeframe", "side", "signal_time", "status", "entry", "stop_loss", "take_profit", "exit_price",
        "pnl_pct", "closed_at", "bars_held", "ambiguous", "confluence_score", "mfe_pct", "mae_pct", "ml_probability")


def _write_data(folder: Path) -> list[str]:
    from app.market.simulated import generate

    files = []
    for sym, c in generate(["BTC/USDT", "ETH/USDT"], "5m", 9000, seed=77).items():
        p = folder / f"{sym.replace('/', '_')}-5m.csv"
        lines = [f"{t},{o!r},{h!r},{lo!r},{cl!r},{v!r}" for t, o, h, lo, cl, v in
                 zip(c.time.tolist(), c.open.tolist(), c.high.tolist(), c.low.tolist(), c.close.tolist(),
                     c.volume.tolist(), strict=True)]
        p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
        files.append(str(p))
    return files


def _cmd(files, db):
    return [sys.executable, "-m", "app", "track", "--source", "replay", "--data", *files, "--db", str(db),
            "--step", "150", "--json"]


def _rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    rows = sorted(conn.execute(f"SELECT {', '.join(COLS)} FROM live_view"))
    conn.close()
    return rows


def run_with_kills(tmp_path: Path, kills: int, seed: int) -> dict:
    data = tmp_path / "data"
    data.mkdir()
    files = _write_data(data)
    env = {**os.environ, "SCALPDESK_HOME": str(tmp_path / "home")}
    ref_db = tmp_path / "ref.sqlite"
    t0 = time.monotonic()
    subprocess.run(_cmd(files, ref_db), cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    full = time.monotonic() - t0
    db = tmp_path / "crash.sqlite"
    rng = random.Random(seed)
    done_kills = 0
    attempts = 0
    while True:
        attempts += 1
        proc = subprocess.Popen(_cmd(files, db), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if done_kills < kills:
            time.sleep(rng.uniform(0.2, full))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                done_kills += 1
                continue
        _out, err = proc.communicate(timeout=600)
        if proc.returncode == 0 and done_kills >= kills:
            break
        assert proc.returncode == 0, err.decode()
    conn = sqlite3.connect(db)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    dups = conn.execute("SELECT COUNT(*) FROM (SELECT symbol, timeframe, side, signal_time, COUNT(*) c FROM "
                        "live_signals GROUP BY 1, 2, 3, 4 HAVING c > 1)").fetchone()[0]
    conn.close()
    return {"reference": _rows(ref_db), "crashed": _rows(db), "integrity": integrity, "duplicates": dups,
            "kills": done_kills, "runs": attempts}


def test_sigkill_at_random_points_then_restart_gives_identical_rows(tmp_path):
    r = run_with_kills(tmp_path, kills=5, seed=1)
    print(f"\ncrash recovery: {r['kills']} SIGKILLs over {r['runs']} runs, {len(r['reference'])} signals")
    assert r["kills"] == 5
    assert r["integrity"] == "ok" and r["duplicates"] == 0
    assert len(r["reference"]) > 50
    assert r["crashed"] == r["reference"]


@pytest.mark.slow
def test_fifty_sigkills(tmp_path):
    r = run_with_kills(tmp_path, kills=50, seed=2)
    print(f"\ncrash recovery: {r['kills']} SIGKILLs over {r['runs']} runs, {len(r['reference'])} signals, "
          f"integrity {r['integrity']}, duplicates {r['duplicates']}")
    assert r["integrity"] == "ok" and r["duplicates"] == 0 and r["crashed"] == r["reference"]
