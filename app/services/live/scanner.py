"""One scan cycle: fetch closed candles -> analyse -> signals -> ML filter.

Errors of one symbol do not stop the others; each symbol reports its own status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from app.core.signals import EngineConfig, Signal, analyse_many, signals_from_analysis
from app.errors import ScalpDeskError
from app.market.sources import CandleSource

log = logging.getLogger(__name__)


class SignalFilter(Protocol):
    """The ML filter as the scanner sees it (app.ml.filter implements it)."""

    @property
    def active(self) -> bool: ...

    @property
    def status(self) -> str: ...

    def apply(self, signals: list[Signal], context: dict[tuple[str, str], Any]) -> tuple[list[Signal], list[Signal]]:
        """(kept signals with ml fields set, skipped signals with ml_probability set)."""
        ...


@dataclass(frozen=True)
class ScanResult:
    source: str
    timeframe: str
    scanned_at: int
    signals: list[Signal]
    skipped: list[Signal] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    last_candle: dict[str, int] = field(default_factory=dict)
    ml_status: str = "off: no model loaded"
    ml_active: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "timeframe": self.timeframe, "scanned_at": self.scanned_at,
            "ml_filter": {"active": self.ml_active, "status": self.ml_status},
            "signals": [s.to_dict() for s in self.signals],
            "skipped_by_ml": [s.to_dict() for s in self.skipped],
            "errors": self.errors, "last_candle": self.last_candle,
        }


def scan_once(source: CandleSource, symbols: list[str], timeframe: str, cfg: EngineConfig, history: int = 1000,
              lookback: int = 1, ml: SignalFilter | None = None,
              clock: Callable[[], float] = time.time) -> ScanResult:
    """Signals on the last `lookback` closed candles of every symbol."""
    found: list[Signal] = []
    errors: dict[str, str] = {}
    last: dict[str, int] = {}
    now = int(clock() * 1000)
    fetched = []
    for sym in symbols:
        try:
            candles = source.fetch(sym, timeframe, history)
        except ScalpDeskError as exc:
            errors[sym] = str(exc)
            continue
        if len(candles) == 0:
            errors[sym] = "no closed candles yet"
            continue
        last[sym] = int(candles.time[-1])
        fetched.append(candles)
    analyses = analyse_many(fetched, cfg, tail=lookback)
    contexts: dict[tuple[str, str], Any] = {(an.candles.symbol, an.candles.timeframe): an for an in analyses}
    for an in analyses:
        found.extend(replace(s, created_at=now) for s in signals_from_analysis(an, cfg).to_signals())
    kept: list[Signal] = found
    skipped: list[Signal] = []
    if ml is not None and ml.active and found:
        kept, skipped = ml.apply(found, contexts)
    return ScanResult(source.label, timeframe, now, kept, skipped, errors, last,
                      ml.status if ml is not None else "off: no model loaded",
                      bool(ml is not None and ml.active))

