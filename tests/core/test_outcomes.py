"""The outcome rules on crafted candles, and the fast labeller against a slow obvious one."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.candles import Candles
from app.core.outcomes import EXPIRED, LOSS, UNDECIDED, WIN, Costs, label
from app.market.simulated import generate
from tests.conftest import REAL, needs_real_data

TF = 300_000
COSTS = Costs(0.10, 0.02)


def _candles(rows, start=0, tf="5m", gap_after=None):
    rows = np.array(rows, dtype=float)
    step = 300_000 if tf == "5m" else 60_000
    t = start + np.arange(len(rows), dtype=np.int64) * step
    if gap_after is not None:
        t[gap_after + 1:] += 10 * step
    return Candles.from_arrays("X/USDT", tf, t, rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], np.ones(len(rows)))


def _one(c, t_index, side, entry, sl, tp, hold=3, fine=None):
    return label(c, np.array([t_index]), np.array([side]), np.array([entry]), np.array([sl]), np.array([tp]),
                 hold, COSTS, fine=fine)


FLAT = [100, 100.5, 99.5, 100]


def test_take_profit_first_is_a_win():
    c = _candles([FLAT, [100, 100.5, 99.5, 100.2], [100.2, 102.5, 100, 102], FLAT, FLAT])
    lab = _one(c, 0, 1, 100.0, 98.0, 102.0)
    assert lab.outcome[0] == WIN and lab.exit_price[0] == 102.0 and lab.bars_held[0] == 2
    assert lab.pnl_pct[0] == pytest.approx(2.0 - 0.24)


def test_stop_first_is_a_loss_for_a_short():
    c = _candles([FLAT, [100, 102.5, 99.8, 102], FLAT, FLAT, FLAT])
    lab = _one(c, 0, -1, 100.0, 102.0, 98.0)
    assert lab.outcome[0] == LOSS and not lab.ambiguous[0] and lab.exit_price[0] == 102.0
    assert lab.pnl_pct[0] == pytest.approx(-2.0 - 0.24)


def test_both_in_one_candle_is_an_ambiguous_loss():
    c = _candles([FLAT, [100, 103, 97, 100], FLAT, FLAT, FLAT])
    lab = _one(c, 0, 1, 100.0, 98.0, 102.0)
    assert lab.outcome[0] == LOSS and lab.ambiguous[0]


def test_finer_candles_resolve_the_ambiguity():
    c = _candles([FLAT, [100, 103, 97, 100], FLAT, FLAT, FLAT])
    # inside coarse candle 1 (5 one-minute candles): the target is reached first
    fine_rows = [FLAT] * 5 + [[100, 102.5, 99.5, 102], [102, 102.2, 99, 99], [99, 99.5, 97, 98], FLAT, FLAT]
    fine = _candles(fine_rows, tf="1m")
    lab = _one(c, 0, 1, 100.0, 98.0, 102.0, fine=fine)
    assert lab.outcome[0] == WIN and not lab.ambiguous[0] and lab.exit_price[0] == 102.0
    # stop first in the finer candles: a plain (not ambiguous) loss
    fine_rows2 = [FLAT] * 5 + [[100, 100.5, 97.5, 98], [98, 102.5, 98, 102], FLAT, FLAT, FLAT]
    lab2 = _one(c, 0, 1, 100.0, 98.0, 102.0, fine=_candles(fine_rows2, tf="1m"))
    assert lab2.outcome[0] == LOSS and not lab2.ambiguous[0]


def test_neither_is_expired_at_the_close_of_t_plus_h():
    c = _candles([FLAT, FLAT, FLAT, [100, 100.5, 99.5, 100.7], FLAT])
    lab = _one(c, 0, 1, 100.0, 98.0, 102.0, hold=3)
    assert lab.outcome[0] == EXPIRED and lab.exit_price[0] == 100.7 and lab.bars_held[0] == 3
    assert lab.pnl_pct[0] == pytest.approx(0.7 - 0.24)


def test_horizon_past_the_end_of_data_is_undecided():
    c = _candles([FLAT, FLAT, FLAT])
    assert _one(c, 0, 1, 100.0, 98.0, 102.0, hold=3).outcome[0] == UNDECIDED


def test_horizon_across_a_gap_is_undecided():
    c = _candles([FLAT] * 8, gap_after=2)
    assert _one(c, 0, 1, 100.0, 98.0, 102.0, hold=3).outcome[0] == UNDECIDED
    assert _one(c, 3, 1, 100.0, 98.0, 102.0, hold=3).outcome[0] == EXPIRED


def slow_label(c, t, side, entry, sl, tp, hold):
    """Obviously correct, one candle at a time."""
    n = len(c)
    if t + hold >= n or np.any(np.diff(c.time[t:t + hold + 1]) != c.tf_ms):
        return None
    for j in range(1, hold + 1):
        hi, lo = c.high[t + j], c.low[t + j]
        hit_tp = hi >= tp if side > 0 else lo <= tp
        hit_sl = lo <= sl if side > 0 else hi >= sl
        if hit_sl:
            return ("LOSS", hit_tp, sl, j)
        if hit_tp:
            return ("WIN", False, tp, j)
    return ("EXPIRED", False, c.close[t + hold], hold)


def _compare(c, m, hold, seed):
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.integers(0, len(c) - 1, m))
    side = rng.choice([-1, 1], m)
    entry = c.open[idx + 1]
    atr = entry * rng.uniform(0.001, 0.01, m)
    sl = entry - side * atr * rng.uniform(0.5, 2, m)
    tp = entry + side * atr * rng.uniform(0.5, 3, m)
    lab = label(c, idx, side, entry, sl, tp, hold, COSTS)
    names = {WIN: "WIN", LOSS: "LOSS", EXPIRED: "EXPIRED"}
    for i in range(m):
        ref = slow_label(c, idx[i], side[i], entry[i], sl[i], tp[i], hold)
        if ref is None:
            assert lab.outcome[i] == UNDECIDED
            continue
        assert names[int(lab.outcome[i])] == ref[0]
        assert bool(lab.ambiguous[i]) == bool(ref[1])
        assert lab.exit_price[i] == pytest.approx(ref[2])
        assert lab.bars_held[i] == ref[3]
        expected = 100 * side[i] * (ref[2] - entry[i]) / entry[i] - 0.24
        assert lab.pnl_pct[i] == pytest.approx(expected)


def test_fast_labeller_equals_reference_on_simulated_data():
    c = generate(["X/USDT"], "5m", 5000, seed=21)["X/USDT"]
    _compare(c, 3000, 24, seed=1)


@needs_real_data
def test_fast_labeller_equals_reference_on_real_data():
    from app.market.files import load_file

    c, _ = load_file(REAL / "DOGE_USDT-5m.feather")
    _compare(c, 4000, 36, seed=2)
