"""Candle sources behind one small interface, so the scanner does not care where candles come from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core.candles import Candles, timeframe_ms
from app.errors import DataError
from app.market.files import ImportReport


@dataclass(frozen=True)
class Quote:
    """The latest price of a symbol: best bid/ask where the source has them, else the last trade or close."""

    symbol: str
    last: float
    time_ms: int
    bid: float | None = None
    ask: float | None = None

    @property
    def spread_pct(self) -> float | None:
        if self.bid is None or self.ask is None or self.bid <= 0:
            return None
        return (self.ask - self.bid) / self.bid * 100.0

    def exit_price(self, side: int) -> float:
        """What closing a position would get now: the bid for a LONG, the ask for a SHORT, else the last price."""
        p = self.bid if side > 0 else self.ask
        return p if p is not None else self.last


@dataclass(frozen=True)
class ConnectionState:
    """What the status bar and `track` say about the source, always visible.

    state: connected / connecting / reconnecting / polling / offline / simulated / replay / files.
    problems: what is wrong with single feeds while the rest works, e.g. {"XRP/USDT 1m": "stream refused (...)"}."""

    state: str
    detail: str = ""
    retry_in_s: float | None = None
    since_ms: int | None = None
    problems: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        retry = self.retry_in_s is not None
        extra = f" in {self.retry_in_s:.0f}s" if retry and self.state == "reconnecting" else ""
        after = f" (retry in {self.retry_in_s:.0f}s)" if retry and self.state == "offline" else ""
        more = f" ({len(self.problems)} feed{'s' if len(self.problems) != 1 else ''} with a problem)" \
            if self.problems else ""
        return f"{self.state}{extra}" + (f": {self.detail}" if self.detail else "") + after + more

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "detail": self.detail, "retry_in_s": self.retry_in_s,
                "since_ms": self.since_ms, "problems": dict(self.problems)}


class CandleSource(Protocol):
    label: str  # LIVE <exchange> / SIMULATED / FILES / REPLAY

    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        """Closed candles: from since_ms on when given, else the last `limit`."""
        ...

    def now_ms(self) -> int: ...

    def symbols(self) -> list[str]: ...


def quotes_of(source: object) -> dict[str, Quote]:
    """The source's latest prices (an empty dict for sources without any)."""
    fn = getattr(source, "quotes", None)
    return dict(fn()) if callable(fn) else {}


def close_source(source: object, timeout: float = 15.0) -> None:
    """Stop a source's threads (sources that have them define `close(timeout)`), waiting at most `timeout` seconds
    for them; a thread still in a slow call ends on its own (they are daemons and hold nothing to save)."""
    fn = getattr(source, "close", None)
    if callable(fn):
        fn(timeout=timeout)


def connection_of(source: object) -> ConnectionState:
    fn = getattr(source, "connection", None)
    if callable(fn):
        state: ConnectionState = fn()
        return state
    return ConnectionState(str(getattr(source, "label", "unknown")).split(" ")[0].lower())


class SimSource:
    def __init__(self, symbols: list[str], timeframe: str, seed: int, history: int = 1000,
                 now_ms: int | None = None) -> None:
        from app.market.simulated import SimulatedMarket

        self._now = now_ms
        self.market = SimulatedMarket(symbols, timeframe, seed, history=history, now_ms=now_ms)
        self.label = "SIMULATED"
        self.timeframe = timeframe

    def now_ms(self) -> int:
        return self._now if self._now is not None else int(time.time() * 1000)

    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        if timeframe != self.timeframe:
            raise DataError(f"the simulated market was made for {self.timeframe}, not {timeframe}")
        if symbol not in self.market.symbols:
            raise DataError(f"{symbol} is not in the simulated market")
        c = self.market.candles(symbol, self.now_ms(), 10**9 if since_ms is not None else limit)
        return c.slice(int(np.searchsorted(c.time, since_ms))) if since_ms is not None else c

    def symbols(self) -> list[str]:
        return list(self.market.symbols)


class FileSource:
    def __init__(self, files: list[str], symbol: str | None = None, timeframe: str | None = None) -> None:
        from app.market.files import load_file

        self.label = "FILES"
        self.data: dict[tuple[str, str], Candles] = {}
        self.reports: list[ImportReport] = []
        for f in files:
            candles, report = load_file(Path(f), symbol=symbol, timeframe=timeframe)
            self.data[(candles.symbol, candles.timeframe)] = candles
            self.reports.append(report)

    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        try:
            c = self.data[(symbol, timeframe)]
        except KeyError:
            raise DataError(f"no imported {timeframe} candles for {symbol}") from None
        if since_ms is not None:
            return c.slice(int(np.searchsorted(c.time, since_ms)))
        return c.slice(-limit) if limit else c

    def now_ms(self) -> int:
        return max(int(c.time[-1]) + c.tf_ms for c in self.data.values())

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self.data})

    def timeframes(self) -> list[str]:
        return sorted({tf for _, tf in self.data}, key=timeframe_ms)


class ExchangeSource:
    def __init__(self, exchange_id: str, base_url: str | None = None, watch: list[str] | None = None,
                 client: Any = None) -> None:
        from app.market.exchange import ExchangeClient

        self.client = client if client is not None else ExchangeClient(exchange_id, base_url=base_url)
        self.label = f"LIVE {exchange_id}"
        self._watch = list(watch or [])

    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        return self.client.fetch_candles(symbol, timeframe, since_ms=since_ms, limit=limit)

    def now_ms(self) -> int:
        return self.client.server_time_ms()

    def symbols(self) -> list[str]:
        return self._watch

    def connection(self) -> ConnectionState:
        error = getattr(self.client, "_markets_error", None)
        if error is not None:
            return ConnectionState("offline", str(error))
        return ConnectionState("polling", f"{len(self._watch)} symbols over REST, one request per symbol a cycle")
