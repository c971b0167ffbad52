"""How the dialogs write numbers and times: prices to five significant digits without exponents, times in UTC
with the zone said, rates never alone."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

NOT_ENOUGH = "not enough history"


def f(fmt: str) -> Callable[[Any], str]:
    return lambda x: "n/a" if x is None else format(x, fmt)


def rate(x: Any) -> str:
    return NOT_ENOUGH if x is None else f"{x:.1%}"


def price(x: Any) -> str:
    """64032.12, 0.16053, 0.000010920: five significant digits, never "1.092e-05"."""
    if x is None:
        return ""
    v = float(x)
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    decimals = max(2, min(12, 4 - math.floor(math.log10(abs(v)))))
    return f"{v:,.{decimals}f}" if abs(v) >= 1000 else f"{v:.{decimals}f}"


def pct(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:+.{digits}f}%"


def utc(ms: Any, minutes: bool = True) -> str:
    if ms is None:
        return ""
    t = dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")


def count(x: Any) -> str:
    return "" if x is None else f"{int(x):,}"


VERDICT_COLOURS = {"PROFITABLE": "#2e9d57", "EDGE_BELOW_COSTS": "#c8a04c", "NO_EDGE": "#d64545",
                   "WORSE_THAN_RANDOM": "#b02a2a"}
