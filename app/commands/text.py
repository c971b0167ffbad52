"""Plain-text renderings of command results (what the command line prints without --json)."""

from __future__ import annotations

from typing import Any

from app.commands.common import table
from app.services.reporting.headline import NOT_ENOUGH, headline, pct


def _cell(x: Any, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def band_rows(rows: list[dict[str, Any]], key: str = "label") -> list[list[str]]:
    out = []
    for b in rows:
        if b.get("win_rate") is None:
            out.append([str(b[key]), f"{b['n']:,}", NOT_ENOUGH, "", "", ""])
            continue
        out.append([str(b[key]), f"{b['n']:,}", f"{b['win_rate']:.1%} ({b['ci_low']:.1%}–{b['ci_high']:.1%})",
                    pct(b["expectancy_pct"]), f"{_cell(b['exp_ci_low'], '+.3f')} to {_cell(b['exp_ci_high'], '+.3f')}",
                    _cell(b["profit_factor"], ".2f")])
    return out


BAND_HEADER = ["", "n", "win rate (95%)", "expectancy", "95% interval", "PF"]


def backtest_text(r: dict[str, Any]) -> str:
    lines = [f"Backtest run {r['run_id']}: {r['candles']:,} candles; {r['signals']:,} decided signals at or above "
             f"the minimum score {r['min_score']:g} ({r['undecided']} undecided at the end of the data or across "
             f"gaps, not counted; {r['stored_signals']:,} stored from score {r['store_floor']:g} up)", ""]
    lines += headline(r)
    lines.append(f"Wins {r['wins']:,}  losses {r['losses']:,} (ambiguous {r['ambiguous']})  expired {r['expired']:,}"
                 f"  profit factor {_cell(r['profit_factor'], '.2f')}")
    for name in ("first_half", "second_half"):
        h = r.get(name)
        if h:
            e = h["expectancy"]
            lines.append(f"{name.replace('_', ' ')}: {h['signals']:,} signals, expectancy {pct(e['pct'])} "
                         f"(95%: {_cell(e['ci_low'], '+.3f')} to {_cell(e['ci_high'], '+.3f')})")
    if r["by_score"]:
        lines += ["", "By score (every stored band)", table(band_rows(r["by_score"]), ["score", *BAND_HEADER[1:]])]
    for title, key in (("By symbol", "by_symbol"), ("By side", "by_side"), ("By month", "by_month")):
        if r.get(key):
            lines += ["", title, table(band_rows(r[key], "key"), BAND_HEADER)]
    return "\n".join(lines)
