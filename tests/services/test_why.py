"""Why a signal fired, from what was recorded: its components against their maximum, its patterns, the indicators
on its candle, and what history says about its score band (expectancy with interval and verdict)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.outcomes import Costs
from app.core.signals import compute_indicators, find_signals
from app.market.simulated import generate
from app.services.live.accuracy import AccuracyTable
from app.services.live.chart_data import ChartCache, signal_marks
from app.services.live.tracker import LiveSignalTracker
from app.services.live.why import explain, level_break_even, scaled_weights
from app.storage.db import Database


@pytest.fixture
def recorded(tmp_path, engine_cfg):
    c = generate(["BTC/USDT"], "5m", 1500, seed=9)["BTC/USDT"]
    batch = find_signals(c, engine_cfg)
    sig = batch.to_signals()[-1]
    db = Database(tmp_path / "live.db")
    tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source="SIMULATED")
    sid = tr.add_signal(sig)
    return db, c, sig, sid


def test_the_report_holds_what_was_recorded_and_the_candles_indicators(recorded, engine_cfg):
    db, c, sig, sid = recorded
    cache = ChartCache()
    r = explain(db, sid, c, cache.indicators(c), engine_cfg.weights, engine_cfg.min_score, AccuracyTable(),
                "off: no model", Costs(), 0.1)
    assert r is not None and r.symbol == "BTC/USDT" and r.side == sig.side
    assert sum(p.points for p in r.components) == pytest.approx(sig.confluence_score, abs=1e-3)
    assert [p.max_points for p in r.components] == pytest.approx(list(scaled_weights(engine_cfg.weights)))
    assert sum(p.max_points for p in r.components) == pytest.approx(100.0)
    assert r.patterns == sig.patterns
    ind = compute_indicators(c)
    i = int(np.searchsorted(c.time, sig.signal_time))
    values = {k: v for k, _, v in r.indicators}
    assert values["rsi"] == pytest.approx(ind["rsi"][i]) and values["atr"] == pytest.approx(sig.atr)
    assert r.history["run_id"] is None and r.history["expectancy_pct"] is None  # no backtest: nothing invented
    assert r.ml_status.startswith("off")


def test_a_candle_that_left_the_buffer_is_said_so(recorded, engine_cfg):
    db, c, _sig, sid = recorded
    later = c.slice(len(c) - 50)
    r = explain(db, sid, later, ChartCache().indicators(later), engine_cfg.weights, 60, AccuracyTable(), "on", Costs(),
                0.1)
    assert r is not None and r.indicators == () and "older than the candles" in r.indicator_note
    assert explain(db, 999_999, c, None, engine_cfg.weights, 60, AccuracyTable(), "on", Costs(), 0.1) is None


def test_break_even_of_the_levels_after_costs():
    costs = Costs(0.10, 0.02)
    be = level_break_even(100.0, 99.0, 102.0, costs)
    win, loss = 2.0 - costs.round_trip_pct, -1.0 - costs.round_trip_pct
    assert be * win + (1 - be) * loss == pytest.approx(0.0, abs=1e-12)
    assert level_break_even(100.0, 99.0, 100.2, costs) is None  # the target does not pay the costs


def test_chart_marks_are_the_pairs_signals_with_their_outcome(recorded):
    db, c, sig, sid = recorded
    marks = signal_marks(db, "SIMULATED", "BTC/USDT", "5m", int(c.time[0]))
    assert [(m.id, m.status, m.entry) for m in marks] == [(sid, "OPEN", sig.entry)]
    assert signal_marks(db, "REPLAY", "BTC/USDT", "5m", 0) == ()  # another source's records are not this chart's


def test_indicators_are_computed_once_per_candle_for_the_last_feeds_asked():
    data = generate([f"S{k}/USDT" for k in range(3)], "5m", 400, seed=2)
    cache = ChartCache(size=2)
    a = data["S0/USDT"]
    first = cache.indicators(a)
    assert cache.indicators(a) is first  # asked again every second: not recomputed
    cache.indicators(data["S1/USDT"])
    assert cache.indicators(a) is first  # another pair's reasons in between: still held
    longer = generate(["S0/USDT"], "5m", 401, seed=2)["S0/USDT"]
    assert cache.indicators(longer) is not first  # a new candle: recomputed
    cache.indicators(data["S1/USDT"])
    cache.indicators(data["S2/USDT"])
    assert len(cache._cache) == 2
    assert not first["rsi"].flags.writeable
