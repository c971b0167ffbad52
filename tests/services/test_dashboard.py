"""The dashboard's closed-signal history is kept incrementally; whatever happens, its figures must equal the
ones recomputed from the table itself (the numbers the trader sees are the stored records, nothing else)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core import stats
from app.core.outcomes import Costs
from app.core.signals import Signal
from app.services.live import dashboard
from app.services.live.accuracy import AccuracyTable
from app.services.live.tracker import LiveSignalTracker
from app.storage.db import Database

MIDNIGHT = 1_700_006_400_000  # 2023-11-15 00:00 UTC
T0 = MIDNIGHT - 15 * 60_000
MIN = 60_000


def _signal(k: int, j: int, rng: np.random.Generator) -> Signal:
    side = 1 if (k + j) % 2 else -1
    return Signal(f"S{j}/USDT", "1m", "LONG" if side > 0 else "SHORT", T0 + k * MIN, 100.0, 100.0 - side * 1.5,
                  100.0 + side * 2.0,
                  float(rng.uniform(50, 95)), {"trend": 1.0}, (), 1.0,
                  ml_probability=None if j % 3 == 0 else float(rng.uniform(0.3, 0.9)))


def _feed(tracker: LiveSignalTracker, rng: np.random.Generator, k: int, symbols: int = 6) -> None:
    """Cycle k: a signal per symbol on candle k, then candle k+1 for the symbols in a random order, with highs
    and lows that close some signals. Every 10th cycle the last symbol's candle comes a cycle late, as after an
    exchange hiccup, so rows also close out of (closed_at, id) order."""
    late = symbols - 1
    with tracker.cycle():
        for j in range(symbols):
            tracker.add_signal(_signal(k, j, rng))
        for j in rng.permutation(symbols):
            if j == late and k % 10 == 9:
                continue
            for t in ([k, k + 1] if j == late and k % 10 == 0 and k else [k + 1]):
                swing = float(rng.uniform(0.2, 3.5))
                tracker.on_candle(f"S{j}/USDT", "1m", T0 + t * MIN, 100.0, 100.0 + swing, 100.0 - swing * 0.8,
                                  100.1)


def _reference(db: Database, source: str) -> dict[str, object]:
    rows = db.query("SELECT * FROM live_view WHERE status != 'OPEN' AND source = ? ORDER BY closed_at, id",
                    (source,))
    pnl = np.array([r["pnl_pct"] for r in rows], dtype=np.float64)
    status = np.array([r["status"] for r in rows])
    ml = [(r["ml_probability"], r["status"] == "WIN") for r in rows if r["ml_probability"] is not None]
    deciles = {}
    for p, won in ml:
        d = deciles.setdefault(min(int(p * 10), 9), [0, 0, 0.0])
        d[0] += 1
        d[1] += won
        d[2] += p
    return {"n": len(rows), "wins": sum(r["status"] == "WIN" for r in rows), "net": float(pnl.sum()),
            "equity": _account(rows), "recent": [r["id"] for r in rows][::-1][:300],
            "summary": stats.summary(status, pnl, np.array([r["bars_held"] for r in rows])),
            "by_score": stats.by_score(np.array([r["confluence_score"] for r in rows]), status),
            "ml": [(b, n, w, total / n) for b, (n, w, total) in sorted(deciles.items())]}


def _account(rows) -> np.ndarray:
    """The account the closed signals make (app.core.portfolio), straight from the table: return % after each exit."""
    from app.core.candles import timeframe_ms
    from app.core.portfolio import simulate

    if not rows:
        return np.empty(0)
    tf = np.array([timeframe_ms(r["timeframe"]) for r in rows])
    t = np.array([r["signal_time"] for r in rows])
    stop = np.array([abs(r["entry"] - r["stop_loss"]) / r["entry"] * 100 for r in rows])
    p = simulate(np.array([r["symbol"] for r in rows], dtype=object), t + tf,
                 np.array([r["closed_at"] for r in rows]) + tf, np.array([r["pnl_pct"] for r in rows]), stop)
    return (p.curve_equity - 1.0) * 100.0


def _snapshot(db: Database, history: dashboard.ClosedHistory, now_s: float = 0.0) -> dashboard.Snapshot:
    return dashboard.build(db, history, AccuracyTable.from_db(db), Costs(), "off", None, {}, now_s)


def _assert_matches(snap: dashboard.Snapshot, ref: dict[str, object]) -> None:
    assert snap.all_time["signals"] == ref["n"]
    assert snap.all_time["wins"] == ref["wins"]
    assert snap.all_time["net_pnl_pct"] == pytest.approx(ref["net"], abs=1e-9)
    assert np.allclose(snap.equity[1], ref["equity"])  # type: ignore[arg-type]
    assert [r.id for r in snap.closed_rows] == ref["recent"]
    assert snap.calibration["live"] == ref["by_score"]
    for key, value in ref["summary"].items():  # type: ignore[attr-defined]
        assert snap.all_time[key] == (pytest.approx(value, abs=1e-9) if isinstance(value, float) else value), key
    assert [(round(b["lo"] * 10), b["n"], b["wins"], pytest.approx(b["mean_predicted"]))
            for b in snap.calibration["ml"]] == ref["ml"]


def test_incremental_history_equals_the_table_after_every_cycle(tmp_path):
    rng = np.random.default_rng(7)
    db = Database(tmp_path / "live.db")
    tracker = LiveSignalTracker(db, Costs(), 5, 1.5, 2.0, source="SIM")
    history = dashboard.ClosedHistory(db, "SIM", recent=300, headline_every_s=0)
    tracker.subscribe(history.on_event)
    for k in range(120):
        _feed(tracker, rng, k)
        _assert_matches(_snapshot(db, history), _reference(db, "SIM"))
    assert len(history) > 300  # the recent window really dropped rows
    assert history.reloads == 1  # the start; every cycle after it was read incrementally
    assert history.rebuilds > 0  # and the late candles did arrive out of order
    x, y = _snapshot(db, history).equity
    assert not y.flags.writeable and np.all(np.diff(x) >= 0)  # a time-ordered curve nobody can alter


def test_a_rolled_back_cycle_and_another_writer_are_both_caught(tmp_path):
    rng = np.random.default_rng(3)
    db = Database(tmp_path / "live.db")
    tracker = LiveSignalTracker(db, Costs(), 5, 1.5, 2.0, source="SIM")
    history = dashboard.ClosedHistory(db, "SIM", headline_every_s=0)
    tracker.subscribe(history.on_event)
    for k in range(10):
        _feed(tracker, rng, k)
    with pytest.raises(RuntimeError), tracker.cycle():  # closes signals, then fails: nothing is committed
        tracker.add_signal(_signal(10, 0, rng))
        assert tracker.on_candle("S0/USDT", "1m", T0 + 11 * MIN, 100.0, 150.0, 50.0, 100.0) > 0
        raise RuntimeError("crash in the middle of a cycle")
    _assert_matches(_snapshot(db, history), _reference(db, "SIM"))
    # a second writer on the same database (e.g. `scalpdesk track` in a terminal) that nobody listens to
    other = LiveSignalTracker(Database(tmp_path / "live.db"), Costs(), 5, 1.5, 2.0, source="SIM")
    with other.cycle():
        other.add_signal(_signal(10, 1, rng))
        assert other.on_candle("S1/USDT", "1m", T0 + 11 * MIN, 100.0, 150.0, 50.0, 100.0) > 0
    _assert_matches(_snapshot(db, history), _reference(db, "SIM"))
    # a fresh history (the app restarted) reads the same figures from the table
    _assert_matches(_snapshot(db, dashboard.ClosedHistory(db, "SIM", headline_every_s=0)), _reference(db, "SIM"))


def test_only_its_own_source_and_today_from_midnight_utc(tmp_path):
    rng = np.random.default_rng(11)
    db = Database(tmp_path / "live.db")
    sim = LiveSignalTracker(db, Costs(), 5, 1.5, 2.0, source="SIM")
    replay = LiveSignalTracker(db, Costs(), 5, 1.5, 2.0, source="REPLAY")
    history = dashboard.ClosedHistory(db, "SIM", headline_every_s=0)
    sim.subscribe(history.on_event)
    for k in range(30):
        _feed(sim, rng, k)
        _feed(replay, rng, k)
    snap = _snapshot(db, history)
    _assert_matches(snap, _reference(db, "SIM"))
    assert all(r.source == "SIM" for r in snap.closed_rows)
    closed_at = np.array([r["closed_at"] for r in db.query(
        "SELECT closed_at FROM live_signals WHERE status != 'OPEN' AND source = 'SIM'")])
    today = _snapshot(db, history, now_s=MIDNIGHT / 1000 + 3600).today
    assert 0 < today["signals"] == int(np.sum(closed_at >= MIDNIGHT)) < len(closed_at)
    # a replay's "today" is the day of its own clock, not the wall clock's (which holds none of its signals)
    wall = dashboard.build(db, history, AccuracyTable.from_db(db), Costs(), "off", None, {}, 4_000_000_000.0,
                           clock_ms=MIDNIGHT + 3_600_000)
    assert wall.today["signals"] == today["signals"]
