"""An account, not a sum: what the trades would have done to an account that takes them.

Rules: one open position per symbol (a signal while one is open is skipped and counted); each position risks a
fixed fraction of the equity at its entry (the loss if the stop is hit, before costs), so its notional is
equity x risk / stop distance; results compound. Entries happen at their entry time (the open after the signal
candle), exits are booked at the close of the exit candle; an exit booked at or before an entry's time is in the
equity that sizes it. The equity curve has a point per exit; drawdown is in % of equity (0..100); Sharpe and
Sortino are of daily returns of the closed-trade equity, annualised with 365 days (crypto trades every day).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DAY_MS = 86_400_000


@dataclass(frozen=True, eq=False)
class Portfolio:
    trades: int
    skipped: int
    return_pct: float
    max_drawdown_pct: float
    sharpe: float | None
    sortino: float | None
    exposure_pct: float
    longest_losing_streak: int
    risk_per_trade_pct: float
    curve_time: np.ndarray = field(repr=False)  # ms of each exit (booked at its candle's close)
    curve_equity: np.ndarray = field(repr=False)  # equity after it, starting at 1.0
    taken: np.ndarray = field(repr=False)  # bool per input trade

    def to_dict(self, curve_points: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {
            "trades": self.trades, "skipped": self.skipped, "return_pct": self.return_pct,
            "max_drawdown_pct": self.max_drawdown_pct, "sharpe": self.sharpe, "sortino": self.sortino,
            "exposure_pct": self.exposure_pct, "longest_losing_streak": self.longest_losing_streak,
            "risk_per_trade_pct": self.risk_per_trade_pct,
        }
        if curve_points:
            step = max(1, len(self.curve_time) // curve_points)
            out["equity"] = [[int(t), float(e)] for t, e in zip(self.curve_time[::step].tolist(),
                                                                  self.curve_equity[::step].tolist(), strict=True)]
        return out


def simulate(symbol: np.ndarray, entry_ms: np.ndarray, exit_ms: np.ndarray, pnl_pct: np.ndarray,
             stop_pct: np.ndarray, risk_pct: float = 1.0) -> Portfolio:
    """symbol: any hashable per trade; entry_ms: when the position opens; exit_ms: when its result is booked (the
    exit candle's close); pnl_pct: net result in % of the notional; stop_pct: stop distance in % of the entry."""
    n = len(pnl_pct)
    order = np.lexsort((np.arange(n), np.asarray(entry_ms)))
    risk = risk_pct / 100.0
    equity = 1.0
    busy: dict[Any, int] = {}
    pending: list[tuple[int, int, float]] = []  # (exit ms, trade, money) of open positions
    taken = np.zeros(n, dtype=bool)
    curve_t: list[int] = []
    curve_e: list[float] = []
    result = np.zeros(n)  # money result of each taken trade, for the losing streak

    def book(until: float) -> None:
        nonlocal equity
        while pending and pending[0][0] <= until:
            t, i, money = heapq.heappop(pending)
            equity = max(0.0, equity + money)
            curve_t.append(t)
            curve_e.append(equity)
            result[i] = money

    syms = np.asarray(symbol).tolist()
    for i in order.tolist():
        t = int(entry_ms[i])
        book(t)
        sym = syms[i]
        if busy.get(sym, -1) > t or equity <= 0 or not stop_pct[i] > 0:
            continue
        notional = equity * risk / (float(stop_pct[i]) / 100.0)
        money = notional * float(pnl_pct[i]) / 100.0
        busy[sym] = int(exit_ms[i])
        taken[i] = True
        heapq.heappush(pending, (int(exit_ms[i]), i, money))
    book(math.inf)
    ct, ce = np.array(curve_t, dtype=np.int64), np.array(curve_e, dtype=np.float64)
    sharpe, sortino = daily_ratios(ct, ce)
    by_exit = np.flatnonzero(taken)[np.argsort(np.asarray(exit_ms)[taken], kind="stable")]
    return Portfolio(
        trades=int(taken.sum()), skipped=int(n - taken.sum()),
        return_pct=(float(ce[-1]) - 1.0) * 100.0 if len(ce) else 0.0,
        max_drawdown_pct=max_drawdown_pct(ce), sharpe=sharpe, sortino=sortino,
        exposure_pct=exposure_pct(np.asarray(entry_ms)[taken], np.asarray(exit_ms)[taken]),
        longest_losing_streak=longest_streak(result[by_exit] < 0), risk_per_trade_pct=risk_pct,
        curve_time=ct, curve_equity=ce, taken=taken)


def max_drawdown_pct(equity: np.ndarray, start: float = 1.0) -> float:
    """Largest fall from a running peak, in % of that peak (0..100)."""
    if len(equity) == 0:
        return 0.0
    e = np.r_[start, equity]
    peak = np.maximum.accumulate(e)
    return float(np.max((peak - e) / peak) * 100.0)


def daily_returns(curve_time: np.ndarray, curve_equity: np.ndarray, start: float = 1.0) -> np.ndarray:
    """Return of each UTC day from the first to the last exit (days without an exit return 0)."""
    if len(curve_time) == 0:
        return np.empty(0)
    day = curve_time // DAY_MS
    first, last = int(day[0]), int(day[-1])
    close = np.full(last - first + 1, np.nan)
    close[day - first] = curve_equity  # the last exit of each day wins (exits are in time order)
    prev = start
    for k in range(len(close)):
        if np.isnan(close[k]):
            close[k] = prev
        prev = close[k]
    opened = np.r_[start, close[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(opened > 0, close / opened - 1.0, 0.0)


def daily_ratios(curve_time: np.ndarray, curve_equity: np.ndarray) -> tuple[float | None, float | None]:
    """(Sharpe, Sortino) of daily returns, annualised by sqrt(365); None with fewer than 2 days or no variation."""
    r = daily_returns(curve_time, curve_equity)
    if len(r) < 2:
        return None, None
    sd = float(r.std(ddof=1))
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    mean = float(r.mean())
    sharpe = mean / sd * math.sqrt(365) if sd > 0 else None
    sortino = mean / down * math.sqrt(365) if down > 0 else None
    return sharpe, sortino


def exposure_pct(entry_ms: np.ndarray, exit_ms: np.ndarray) -> float:
    """Share of the time from the first entry to the last exit with at least one position open."""
    if len(entry_ms) == 0:
        return 0.0
    order = np.argsort(entry_ms, kind="stable")
    a, b = np.asarray(entry_ms)[order], np.asarray(exit_ms)[order]
    covered, cur_a, cur_b = 0, int(a[0]), int(b[0])
    for x, y in zip(a[1:].tolist(), b[1:].tolist(), strict=True):
        if x > cur_b:
            covered += cur_b - cur_a
            cur_a, cur_b = x, y
        else:
            cur_b = max(cur_b, y)
    covered += cur_b - cur_a
    span = int(np.max(b)) - int(a[0])
    return float(100.0 * covered / span) if span > 0 else 100.0


def longest_streak(flags: np.ndarray) -> int:
    best = cur = 0
    for f in np.asarray(flags, dtype=bool).tolist():
        cur = cur + 1 if f else 0
        best = max(best, cur)
    return best
