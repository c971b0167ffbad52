"""What the settings dialog says about fields, in words: groups, the words for each choice, and problems named by
the field's label (never by its config key). Pure functions, no widgets."""

from __future__ import annotations

import re
from typing import Any

from app.core.candles import TIMEFRAME_MS

GROUPS = {"scanner": "Scanner", "confluence": "Signals", "pattern_scores": "Patterns", "risk": "Risk and costs",
          "fees": "Risk and costs", "ml": "ML filter", "optimization": "Optimisation",
          "notifications": "Notifications", "alerts": "Notifications", "reports": "Reports and appearance",
          "appearance": "Reports and appearance"}
TAB_ORDER = ("Scanner", "Signals", "Patterns", "Risk and costs", "ML filter", "Optimisation", "Notifications",
             "Reports and appearance")
CHOICE_WORDS = {
    "scanner.source": {"sim": "Simulated market (offline, labelled SIMULATED)",
                       "exchange": "Exchange (live public market data)"},
    "scanner.universe": {"list": "The symbols listed above", "top_volume": "The top N pairs by 24 h volume"},
    "optimization.objective": {"seed": "Win rate × 0.7 + profit factor × 0.3", "expectancy": "Expectancy per trade",
                               "profit_factor": "Profit factor"},
    "notifications.smtp_security": {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "None (unencrypted)"},
    "appearance.theme": {"dark": "Dark", "light": "Light"},
    "appearance.times": {"local": "Local time (zone shown)", "utc": "UTC"},
    "scanner.sides": {"both": "Both sides", "long": "Long only", "short": "Short only"},
    "fees.preset": {"custom": "Custom (the fee per side below)", "binance_taker": "Binance spot taker, 0.10 %",
                    "binance_maker": "Binance spot maker, 0.10 %",
                    "binance_maker_bnb": "Binance spot maker paying in BNB, 0.075 %"},
}
HELP_WORDS = {  # help texts that name a choice by its code, said with the choice's words
    "scanner.top_n": "How many pairs 'The top N pairs by 24 h volume' watches",
    "scanner.quote": "Quote currency of the top-volume pairs, e.g. USDT",
    "reports.weekly_day": "The day the weekly report is made",
    "pattern_scores.enabled": "Candlestick patterns that add their points to a setup's score (points from the "
                              "pattern optimiser, else the defaults); unticked ones are ignored",
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PAIR = re.compile(r"^[A-Z0-9]{2,20}/[A-Z0-9]{2,10}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def group_of(key: str) -> str:
    return GROUPS.get(key.split(".")[0], "Other")


def choice_text(key: str, value: str) -> str:
    return CHOICE_WORDS.get(key, {}).get(value, value)


def _num(x: float) -> str:
    return f"{x:g}"


def number_problem(label: str, tp: type, md: dict[str, Any], text: str) -> str | None:
    try:
        value = float(text.replace(",", "")) if text.strip() else None
    except ValueError:
        value = None
    if value is None or value != value:
        kind = "a whole number" if tp is int else "a number"
        return f"{label}: must be {kind}, got '{text}'" if text.strip() else f"{label}: must be {kind}"
    if tp is int and value != int(value):
        return f"{label}: must be a whole number, got {text}"
    lo, hi = md.get("lo"), md.get("hi")
    if lo is not None and hi is not None and not lo <= value <= hi:
        return f"{label}: {text} is out of range; expected {_num(lo)} to {_num(hi)}"
    if lo is not None and value < lo:
        return f"{label}: {text} is too small; expected at least {_num(lo)}"
    if hi is not None and value > hi:
        return f"{label}: {text} is too large; expected at most {_num(hi)}"
    return None


def list_problem(key: str, label: str, items: list[str]) -> str | None:
    if key == "scanner.symbols":
        if not items:
            return f"{label}: give at least one pair, like BTC/USDT"
        bad = [s for s in items if not PAIR.match(s)]
        if bad:
            hint = bad[0].upper() if PAIR.match(bad[0].upper()) else "BTC/USDT"
            return f"{label}: '{bad[0]}' is not a pair like {hint}"
        dup = sorted({s for s in items if items.count(s) > 1})
        if dup:
            return f"{label}: {dup[0]} is listed twice"
    if key == "scanner.extra_timeframes":
        bad = [t for t in items if t not in TIMEFRAME_MS]
        if bad:
            return f"{label}: '{bad[0]}' is not a timeframe; expected one of {', '.join(TIMEFRAME_MS)}"
    return None


def text_problem(key: str, label: str, text: str) -> str | None:
    if key == "reports.daily_time" and not HHMM.match(text.strip()):
        return f"{label}: '{text}' is not a time like 23:55"
    if key == "scanner.exchange" and not re.match(r"^[a-z0-9_]+$", text.strip()):
        return f"{label}: '{text}' is not an exchange id like binance"
    return None


def key_of(message: str) -> str:
    """The config key a ConfigError names ('' when none)."""
    m = re.search(r"key '([^'\[]+)", message)
    return m.group(1) if m else ""


def humanise(message: str, labels: dict[str, str]) -> str:
    """A ConfigError's message with the file prefix dropped and every `key 'a.b'` replaced by the field's label."""
    at = message.find("key '")
    text = message[at:] if at >= 0 else message.split(": ", 1)[-1]

    def label(m: re.Match[str]) -> str:
        key = m.group(1)
        item = re.match(r"^(.*)\[(\d+)\]$", key)
        if item:
            return f"{labels.get(item.group(1), item.group(1))} (item {int(item.group(2)) + 1})"
        return labels.get(key, key.rsplit(".", 1)[-1].replace("_", " "))

    text = re.sub(r"key '([^']+)'", label, text)
    text = re.sub(r"^(.+?) = ", r"\1: ", text)
    return text[:1].upper() + text[1:]
