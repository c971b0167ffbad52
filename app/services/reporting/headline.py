"""The words of a result's headline, one definition for every place that shows one (command line, window, PDF,
Telegram): the verdict in plain words, the net expectancy per trade after costs with its interval, the edge over
random entries, the account's return and drawdown, and the win rate beside its break-even win rate.

Input is the result's JSON form (`to_dict()`), so the same text comes from a fresh result or a stored one.
"""

from __future__ import annotations

from typing import Any

NOT_ENOUGH = "not enough history"


def pct(x: float | None, digits: int = 3, sign: bool = True) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.{digits}f}%" if sign else f"{x:.{digits}f}%"


def interval(lo: float | None, hi: float | None, digits: int = 3) -> str:
    if lo is None or hi is None:
        return "interval n/a"
    return f"95%: {lo:+.{digits}f} to {hi:+.{digits}f}"


def rate(x: float | None) -> str:
    return NOT_ENOUGH if x is None else f"{x:.1%}"


def verdict_line(r: dict[str, Any]) -> str:
    v = r.get("verdict")
    if not v:
        return f"No verdict: {r['verdict_text']}" if r.get("verdict_text") else ""
    return f"{v}: {r.get('verdict_text', '')}"


def expectancy_line(r: dict[str, Any]) -> str:
    e = r.get("expectancy") or {}
    fees = r.get("fees_round_trip_pct")
    costs = "costs" if fees is None else f"{fees:.2f}% round-trip costs"
    return (f"Net expectancy {pct(e.get('pct'))} per trade after {costs} "
            f"({interval(e.get('ci_low'), e.get('ci_high'))}, clustered by day; "
            f"{e.get('n', 0):,} trades over {e.get('clusters', 0):,} days)")


def edge_line(r: dict[str, Any]) -> str:
    b, g = r.get("baseline") or {}, r.get("edge") or {}
    if not b:
        return ""
    p = g.get("p_value")
    p_text = "" if p is None else ", p < 0.001" if p < 0.001 else f", p = {p:.3f}"
    return (f"Edge over random entries {pct(g.get('pct'))} per trade ({interval(g.get('ci_low'), g.get('ci_high'))}"
            f"{p_text}); random entries under the same rules made "
            f"{pct(b.get('expectancy_pct'))} ({b.get('draws', 0)} draws, seed {b.get('seed', '?')})")


def chance_line(r: dict[str, Any]) -> str:
    b = r.get("baseline") or {}
    if not b:
        return ""
    al, ash = b.get("always_long") or {}, b.get("always_short") or {}
    return (f"Always long at every candle {pct(al.get('expectancy_pct'))}, always short "
            f"{pct(ash.get('expectancy_pct'))} per trade (same stops, targets, hold and costs)")


def account_line(r: dict[str, Any]) -> str:
    p = r.get("portfolio") or {}
    if not p:
        return ""
    sharpe = "n/a" if p.get("sharpe") is None else f"{p['sharpe']:.2f}"
    return (f"Account ({p.get('risk_per_trade_pct', 1):g}% risked per trade, one position per symbol, compounding): "
            f"{pct(p.get('return_pct'), 1)} return, max drawdown {p.get('max_drawdown_pct', 0):.1f}% of equity, "
            f"Sharpe {sharpe} (daily returns, annualised); {p.get('trades', 0):,} trades taken, "
            f"{p.get('skipped', 0):,} skipped (a position was open)")


def win_rate_line(r: dict[str, Any]) -> str:
    wr = r.get("win_rate")
    be = r.get("break_even_win_rate")
    if wr is None:
        text = f"Win rate {NOT_ENOUGH} (n={r.get('signals', 0)})"
    else:
        text = f"Win rate {wr:.1%} ({r['ci_low']:.1%}–{r['ci_high']:.1%}, n={r['signals']:,})"
    if be is not None:
        text += f"; break-even win rate {be:.1%}"
    elif wr is None:
        pass  # no rate, no break-even either
    elif not r.get("wins") or r.get("wins") == r.get("signals"):
        text += "; break-even win rate: n/a (no wins, or no other trades)"
    else:
        text += "; break-even win rate not reachable (the wins do not pay their costs)"
    share = r.get("profitable_share")
    if share is not None:
        text += f"; {share:.1%} of trades made money after costs"
    return text


def cost_line(r: dict[str, Any]) -> str:
    c = r.get("cost_to_stop")
    if c is None:
        return ""
    warn = " — WARNING: costs eat a large part of every stop" if r.get("cost_to_stop_warning") else ""
    skipped = r.get("skipped_for_costs", 0)
    extra = f"; {skipped:,} setups skipped because their target did not pay its costs" if skipped else ""
    return f"Costs are {c:.2f} of the stop distance on average{warn}{extra}"


def headline(r: dict[str, Any]) -> list[str]:
    """The lines every result leads with, in order."""
    lines = [verdict_line(r), expectancy_line(r), edge_line(r), chance_line(r), account_line(r), win_rate_line(r),
             cost_line(r)]
    if r.get("source") == "SIMULATED" or r.get("simulated"):
        lines.insert(0, "SIMULATED market: these numbers are not from real trading.")
    return [x for x in lines if x]
