"""Position sizing of a signal: the quantity that loses `risk_pct` of the account at the stop, and what that
position costs and pays in money. Costs are the same round trip the P&L of every signal carries: (taker fee +
slippage) on entry and on exit, as a share of the entry price (app.core.outcomes.Costs)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizing:
    quantity: float  # base currency units
    notional: float  # quote currency at the entry price
    risk_money: float  # lost at the stop, before costs: account x risk %
    costs_money: float  # fees and slippage of entry and exit
    reward_money: float  # won at the target, before costs
    reward_risk: float  # target distance / stop distance
    reward_risk_net: float  # (reward - costs) / (risk + costs)
    leverage: float  # notional / account: above 1 the account alone cannot pay for the position
    break_even_win_rate: float | None  # (risk + costs) / (reward + risk); None when the target cannot pay its costs

    @property
    def loss_at_stop(self) -> float:
        return self.risk_money + self.costs_money

    @property
    def gain_at_target(self) -> float:
        return self.reward_money - self.costs_money


def size_position(account: float, risk_pct: float, entry: float, stop: float, target: float,
                  round_trip_pct: float) -> Sizing | None:
    """None when the levels cannot size a position (no stop distance, non-positive prices or account).
    `round_trip_pct`: fees and slippage of entry and exit, % of the notional (app.core.outcomes.Costs)."""
    dist = abs(entry - stop)
    if account <= 0 or risk_pct <= 0 or entry <= 0 or dist <= 0:
        return None
    risk = account * risk_pct / 100.0
    qty = risk / dist
    notional = qty * entry
    costs = notional * round_trip_pct / 100.0
    reward = qty * abs(target - entry)
    net_win, net_loss = reward - costs, risk + costs
    be = net_loss / (net_win + net_loss) if net_win > 0 else None
    return Sizing(qty, notional, risk, costs, reward, reward / risk, net_win / net_loss, notional / account, be)


def quantity_text(quantity: float) -> str:
    """A quantity with four significant digits, never in exponent notation (0.01874, 1874, 18740000)."""
    if quantity <= 0:
        return "0"
    if quantity >= 1000:
        return f"{quantity:.0f}"
    decimals = max(0, 3 - math.floor(math.log10(quantity)))
    return f"{quantity:.{decimals}f}"
