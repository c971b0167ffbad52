"""The account simulation against a hand-worked example, and its drawdown on real data."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.portfolio import daily_ratios, max_drawdown_pct, simulate
from tests.conftest import REAL, needs_real_data


def test_hand_worked_account():
    #          symbol entry exit  pnl%   stop%
    trades = [("A", 0, 10, 2.0, 1.0),     # notional 1.00 (1% of 1.00 at a 1% stop): +0.02 -> booked at 10
              ("A", 5, 12, 5.0, 1.0),     # A still open until 10: skipped
              ("B", 6, 20, -1.24, 1.0),   # sized on 1.00 (the +0.02 is not booked yet): -0.0124
              ("A", 10, 30, -2.24, 2.0)]  # A's exit booked at 10 <= 10: sized on 1.02, notional 0.51: -0.011424
    sym, a, b, pnl, stop = (np.array(x) for x in zip(*trades, strict=True))
    p = simulate(sym, a.astype(np.int64), b.astype(np.int64), pnl.astype(float), stop.astype(float), risk_pct=1.0)
    assert (p.trades, p.skipped) == (3, 1)
    assert p.taken.tolist() == [True, False, True, True]
    np.testing.assert_allclose(p.curve_equity, [1.02, 1.0076, 0.996176])
    assert p.curve_time.tolist() == [10, 20, 30]
    assert p.return_pct == pytest.approx(-0.3824)
    assert p.max_drawdown_pct == pytest.approx((1.02 - 0.996176) / 1.02 * 100)
    assert p.longest_losing_streak == 2
    assert p.exposure_pct == pytest.approx(100.0)


def test_risk_scales_and_compounds():
    n = 10
    sym = np.array(["X"] * n)
    t = np.arange(n, dtype=np.int64) * 100
    p = simulate(sym, t, t + 50, np.full(n, 1.0), np.full(n, 1.0), risk_pct=2.0)
    assert p.curve_equity[-1] == pytest.approx(1.02 ** n)  # each trade makes 2 % of the equity it was sized on


def test_drawdown_is_a_share_of_equity():
    assert max_drawdown_pct(np.array([1.5, 0.75, 2.0])) == pytest.approx(50.0)
    assert max_drawdown_pct(np.array([])) == 0.0


def test_daily_ratios():
    day = 86_400_000
    t = np.array([0, day, 2 * day, 3 * day], dtype=np.int64) + day // 2
    e = np.array([1.01, 1.0, 1.02, 1.03])
    sharpe, sortino = daily_ratios(t, e)
    r = np.array([0.01, 1.0 / 1.01 - 1, 0.02, 1.03 / 1.02 - 1])
    assert sharpe == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(365))
    assert sortino == pytest.approx(r.mean() / np.sqrt(np.mean(np.minimum(r, 0) ** 2)) * np.sqrt(365))


@needs_real_data
def test_drawdown_stays_within_0_and_100_on_real_data(tmp_path):
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.market.files import load_file
    from app.services.research.backtester import run_backtest
    from app.storage.db import Database

    data = [load_file(REAL / f"{s}_USDT-5m.feather")[0] for s in ("DOGE", "PEPE")]
    cfg = EngineConfig(min_score=55.0, pattern_points=(("CDLENGULFING", 10.0),), round_trip_pct=0.24,
                       target_cost_multiple=2.0)
    with Database(tmp_path / "d.sqlite") as db:
        port = run_backtest(data, {}, cfg, Costs(), db).portfolio
    assert port.trades > 100
    assert 0.0 <= port.max_drawdown_pct <= 100.0
    assert np.all(port.curve_equity >= 0)
