"""Settings changed while a session runs: what changed, in words, and whether the source must be rebuilt for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.settings import Settings


def needs_rebuild(old: Settings, new: Settings) -> bool:
    """A new source or exchange cannot change in place; nor can what a stream subscribes to."""
    a, b = old.scanner, new.scanner
    streamed = ("symbols", "timeframe", "extra_timeframes", "universe", "top_n", "quote", "history_candles")
    simulated = ("sim_seed", "symbols", "timeframe", "history_candles")  # the simulated market is made for them
    return (a.source, a.exchange) != (b.source, b.exchange) or \
        (a.source == "sim" and any(getattr(a, k) != getattr(b, k) for k in simulated)) or \
        (a.source == "exchange" and any(getattr(a, k) != getattr(b, k) for k in streamed))


_WORDS = {
    "confluence.min_score": "minimum score", "risk.sl_atr": "stop (ATR)", "risk.tp_atr": "target (ATR)",
    "risk.max_hold_bars": "max hold", "fees.taker_pct": "fee per side", "fees.preset": "fee level",
    "fees.slippage_pct": "slippage",
    "ml.min_probability": "ML minimum probability", "ml.enabled": "ML filter", "scanner.symbols": "symbols",
    "scanner.timeframe": "timeframe", "scanner.extra_timeframes": "extra timeframes",
    "scanner.source": "source", "scanner.exchange": "exchange", "scanner.interval_s": "scan interval",
}


def describe_changes(old: Settings, new: Settings) -> list[str]:
    """One line per changed setting, e.g. "minimum score 60 -> 70 (from the next cycle)"."""
    a, b = _flat(old.to_dict()), _flat(new.to_dict())
    lines = []
    rebuild = needs_rebuild(old, new)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key) and not key.endswith("provenance") and ".provenance." not in key:
            when = "rebuilds the source; open signals stay tracked" if rebuild and key.startswith("scanner.") \
                else "from the next cycle"
            lines.append(f"{_WORDS.get(key, key)} {_short(a.get(key))} -> {_short(b.get(key))} ({when})")
    return lines


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and k != "provenance":
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ",".join(map(str, v)) if len(v) <= 6 else f"{len(v)} items"
    return str(v)


def file_mtime(path: str) -> float | None:
    """When the settings file last changed (None: no file), to notice an edit made outside the app."""
    try:
        return Path(path).stat().st_mtime if path else None
    except OSError:
        return None
