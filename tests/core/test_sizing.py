"""Position sizing: the stop loses exactly the chosen share of the account; costs are the round trip the signals'
P&L carries; the break-even win rate of the levels agrees with a trade's P&L after costs."""

from __future__ import annotations

import pytest

from app.core.outcomes import Costs, net_pnl_pct
from app.core.sizing import quantity_text, size_position


def test_a_stop_loses_the_risk_share_of_the_account():
    s = size_position(10_000, 1.0, 64_000.0, 63_360.0, 64_960.0, 0.24)
    assert s is not None
    assert s.risk_money == pytest.approx(100.0)
    assert s.quantity * (64_000.0 - 63_360.0) == pytest.approx(100.0)
    assert s.notional == pytest.approx(s.quantity * 64_000.0)
    assert s.costs_money == pytest.approx(s.notional * 0.0024)
    assert s.reward_risk == pytest.approx(1.5)
    assert s.reward_risk_net < s.reward_risk
    assert s.leverage == pytest.approx(s.notional / 10_000)


def test_money_at_the_stop_and_target_equals_the_trades_pnl_after_costs():
    entry, stop, target = 2_500.0, 2_475.0, 2_540.0
    s = size_position(5_000, 0.5, entry, stop, target, 0.24)
    assert s is not None
    costs = Costs(0.10, 0.02)
    assert -s.loss_at_stop == pytest.approx(s.notional * float(net_pnl_pct(1, entry, stop, costs)) / 100)
    assert s.gain_at_target == pytest.approx(s.notional * float(net_pnl_pct(1, entry, target, costs)) / 100)
    be = s.break_even_win_rate
    assert be * s.gain_at_target - (1 - be) * s.loss_at_stop == pytest.approx(0.0, abs=1e-9)


def test_no_size_without_a_stop_distance_and_a_target_inside_costs_never_breaks_even():
    assert size_position(10_000, 1.0, 100.0, 100.0, 101.0, 0.24) is None
    s = size_position(10_000, 1.0, 100.0, 99.0, 100.1, 0.24)
    assert s is not None and s.break_even_win_rate is None


def test_quantities_read_plainly():
    assert [quantity_text(q) for q in (0.018_74, 1874.2, 3.2e-9 * 1e9, 2.5e7)] == ["0.01874", "1874", "3.200",
                                                                                    "25000000"]
