"""The websocket side of the exchange feed: ccxt.pro in an asyncio loop on its own thread.

Candles and best bid/ask of every watched symbol arrive over one or a few connections
(`watch_ohlcv_for_symbols`, `watch_bids_asks`, or `watch_tickers` where the exchange has no book ticker). On
Binance the raw kline message says whether the candle has closed ("x"); ccxt's parsed candles drop that flag, so a
subclass reads the raw message and hands every update to the sink directly (also faster: no cache, no futures per
message). On other exchanges the stream only moves the price and tells when a candle has ended; the closed candle is
then fetched over REST.

Connection trouble is a state, never an exception to the caller: a dropped or refused connection, or a stream
silent for `stale_periods` candles, ends the session; the runner waits (exponential backoff with jitter) and
connects again. A subscription the exchange refuses is split until the refused symbol is found; that symbol is
reported and the others keep streaming.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import ccxt
import ccxt.pro

from app.market.exchange import _plain, _rewrite

log = logging.getLogger(__name__)
Feed = tuple[str, str]
CHUNK = 100  # streams per SUBSCRIBE message


class StreamSink(Protocol):
    def on_kline(self, symbol: str, timeframe: str, t: int, row: tuple[float, float, float, float, float],
                 closed: bool | None) -> None: ...

    def on_quote(self, symbol: str, bid: float | None, ask: float | None, last: float | None) -> None: ...

    def on_message(self) -> None: ...

    def on_malformed(self) -> None: ...

    def on_refused(self, feed: Feed | None, symbol: str, reason: str) -> None: ...

    def on_connected(self) -> None: ...


def support(exchange_id: str) -> tuple[bool, str]:
    """Whether ccxt.pro streams this exchange's candles; else the reason (shown with the polling fallback)."""
    if exchange_id not in getattr(ccxt.pro, "exchanges", []):
        return False, f"ccxt.pro has no websocket client for {exchange_id}"
    has = getattr(ccxt.pro, exchange_id)().has
    if not (has.get("watchOHLCVForSymbols") or has.get("watchOHLCV")):
        return False, f"{exchange_id} has no candle stream in ccxt.pro"
    return True, ""


class _Stale(Exception):
    pass


class _Resubscribe(Exception):  # the watch list changed: end the session and subscribe again
    pass


@dataclass(frozen=True)
class WsState:
    state: str  # idle / connecting / connected / reconnecting / stopped
    detail: str = ""
    retry_at: float | None = None  # monotonic
    since: float = 0.0


def _streaming_class(exchange_id: str, sink: StreamSink) -> type:
    base: type = getattr(ccxt.pro, exchange_id)
    raw_klines = issubclass(base, ccxt.pro.binance)

    class Streaming(base):  # type: ignore[misc, unused-ignore]  # (ccxt is untyped: strict checks forbid Any bases)
        _ids: dict[str, str] | None = None

        def client(self, url: str) -> Any:
            c = super().client(url)
            if not getattr(c, "_scalpdesk_safe", False):
                parse = c.handle_text_or_binary_message

                def safe(data: Any) -> None:
                    try:
                        parse(data)
                    except ValueError:  # a frame that is not JSON: dropped and counted, the connection lives on
                        sink.on_malformed()

                c.handle_text_or_binary_message = safe
                c._scalpdesk_safe = True
            return c

        def handle_message(self, client: Any, message: Any) -> None:
            sink.on_message()
            try:
                super().handle_message(client, message)
            except Exception:  # a frame ccxt cannot use (missing fields, wrong types)
                sink.on_malformed()

        if raw_klines:
            def handle_ohlcv(self, client: Any, message: Any) -> None:
                k = message.get("k") if isinstance(message, dict) else None
                try:
                    symbol = self._symbol_of(str(k["s"]))  # type: ignore[index]
                    tf = self.find_timeframe(k["i"])  # type: ignore[index]
                    row = (float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]), float(k["v"]))  # type: ignore[index]
                    t, closed = int(k["t"]), k["x"]  # type: ignore[index]
                except (KeyError, TypeError, ValueError):
                    sink.on_malformed()
                    return
                if symbol is None or tf is None or not isinstance(closed, bool):
                    sink.on_malformed()
                    return
                sink.on_kline(symbol, tf, t, row, closed)

            def handle_bids_asks(self, client: Any, message: Any) -> None:
                try:
                    symbol = self._symbol_of(str(message["s"]))
                    bid, ask = float(message["b"]), float(message["a"])
                except (KeyError, TypeError, ValueError):
                    sink.on_malformed()
                    return
                if symbol is not None:
                    sink.on_quote(symbol, bid, ask, None)

            def _symbol_of(self, market_id: str) -> str | None:
                if self._ids is None:
                    self._ids = {m["id"]: m["symbol"] for m in self.markets.values() if m.get("spot")}
                return self._ids.get(market_id)

    Streaming.__name__ = f"Streaming_{exchange_id}"
    return Streaming


class WsRunner:
    """Runs the subscriptions on a thread of its own until `stop()`; `subscribe()` replaces what is watched."""

    def __init__(self, exchange_id: str, ws_url: str | None, rest_base_url: str | None, markets: dict[str, Any],
                 sink: StreamSink, clock_ms: Callable[[], int], min_tf_ms: Callable[[], int],
                 stale_periods: int = 3, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 seed: int | None = None) -> None:
        self.exchange_id = exchange_id
        self.ws_url = ws_url
        self.rest_base_url = rest_base_url
        self.markets = markets
        self.sink = sink
        self.clock_ms = clock_ms
        self.min_tf_ms = min_tf_ms
        self.stale_periods = stale_periods
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._rng = random.Random(seed)
        self._cls = _streaming_class(exchange_id, _Counting(sink, self))
        self.raw_klines = issubclass(self._cls, ccxt.pro.binance)
        self._klines: list[Feed] = []
        self._quotes: list[str] = []
        self._version = 0
        self._stop = threading.Event()
        self._state = WsState("idle", since=time.monotonic())
        self._lock = threading.Lock()
        self.last_kline_ms = 0  # market time of the last kline message
        self.last_quote_ms = 0
        self._messages = 0
        self.sessions = 0
        self.reconnects = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=f"stream-{exchange_id}", daemon=True)

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> None:
        self.thread.start()

    def subscribe(self, klines: Sequence[Feed], quotes: Sequence[str]) -> None:
        with self._lock:
            if list(klines) == self._klines and list(quotes) == self._quotes:
                return
            self._klines, self._quotes = list(klines), list(quotes)
            self._version += 1

    def forget(self, symbol: str) -> None:
        """A refused symbol: left out of the next sessions' subscriptions (the current one carries on)."""
        with self._lock:
            self._klines = [f for f in self._klines if f[0] != symbol]
            self._quotes = [s for s in self._quotes if s != symbol]

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    @property
    def state(self) -> WsState:
        return self._state

    def _set(self, state: str, detail: str = "", retry_at: float | None = None) -> None:
        if state != self._state.state or detail != self._state.detail or retry_at != self._state.retry_at:
            self._state = WsState(state, detail, retry_at, time.monotonic())

    # ------------------------------------------------------------------ the loop (its own thread)
    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._run())
        finally:
            left = asyncio.all_tasks(self.loop)  # ccxt's throttlers and sends still queued
            for task in left:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            self.loop.close()

    async def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            with self._lock:
                klines, quotes, version = list(self._klines), list(self._quotes), self._version
            if not klines and not quotes:
                self._set("idle")
                await asyncio.sleep(0.1)
                continue
            ex = self._new_exchange()
            self.sessions += 1
            self._set("connecting", f"{len({s for s, _ in klines} | set(quotes))} symbols")
            error: str | None = None
            try:
                await self._session(ex, klines, quotes, version)
            except _Stale as exc:
                error = str(exc)
            except ccxt.BaseError as exc:
                error = _plain(exc)
            except (TimeoutError, OSError) as exc:
                error = f"network error ({type(exc).__name__})"
            finally:
                await _close(ex)
            if self._stop.is_set():
                break
            if error is None:  # the watched set changed: subscribe again at once
                continue
            attempt = 1 if self._state.state == "connected" else attempt + 1
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
            delay *= 0.5 + 0.5 * self._rng.random()  # jitter: many clients do not come back at the same instant
            self.reconnects += 1
            log.warning("%s stream: %s; reconnecting in %.1fs", self.exchange_id, error, delay)
            self._set("reconnecting", error, time.monotonic() + delay)
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def _new_exchange(self) -> Any:
        options: dict[str, Any] = {"defaultType": "spot"}
        ex = self._cls({"enableRateLimit": True, "options": options, "newUpdates": True})
        if self.rest_base_url:
            ex.urls["api"] = _rewrite(ex.urls["api"], self.rest_base_url)
        if self.ws_url:
            ex.urls["api"]["ws"] = _rewrite_ws(ex.urls["api"].get("ws"), self.ws_url)
        ex.set_markets(list(self.markets.values()))
        return ex

    async def _session(self, ex: Any, klines: list[Feed], quotes: list[str], version: int) -> None:
        now = self.clock_ms()
        self.last_kline_ms = self.last_quote_ms = now
        start_messages = self._messages
        tasks = [asyncio.ensure_future(self._watch_klines(ex, klines[i:i + CHUNK]))
                 for i in range(0, len(klines), CHUNK)]
        tasks += [asyncio.ensure_future(self._watch_quotes(ex, quotes[i:i + CHUNK]))
                  for i in range(0, len(quotes), CHUNK)]
        tasks.append(asyncio.ensure_future(self._watchdog(version, bool(klines), bool(quotes), start_messages)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                exc = t.exception()
                if isinstance(exc, _Resubscribe):
                    return
                if exc is not None:
                    raise exc
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watchdog(self, version: int, klines: bool, quotes: bool, start_messages: int) -> None:
        connected = False
        while not self._stop.is_set():
            await asyncio.sleep(0.05)
            if self._version != version:
                raise _Resubscribe()
            if not connected and self._messages > start_messages:
                connected = True
                self._set("connected")
                self.sink.on_connected()
            now = self.clock_ms()
            limit = self.stale_periods * self.min_tf_ms()
            if klines and now - self.last_kline_ms > limit:
                raise _Stale(f"no candle message for {self.stale_periods} candles")
            if quotes and now - self.last_quote_ms > limit:
                raise _Stale(f"no price message for {self.stale_periods} candles")
        raise _Resubscribe()

    async def _watch_klines(self, ex: Any, chunk: list[Feed]) -> None:
        pairs = [[s, tf] for s, tf in chunk]
        many = ex.has.get("watchOHLCVForSymbols")
        while not self._stop.is_set():
            try:
                if many:
                    result = await ex.watch_ohlcv_for_symbols(pairs)
                else:
                    result = await _first(*(ex.watch_ohlcv(s, tf) for s, tf in chunk))
            except ccxt.NetworkError:
                raise
            except ccxt.BaseError as exc:
                if await self._refused(ex, chunk, "ohlcv", exc, self._watch_klines):
                    return
                raise
            if not self.raw_klines:
                self._generic_klines(result, chunk)

    async def _watch_quotes(self, ex: Any, chunk: list[str]) -> None:
        method = "watch_bids_asks" if ex.has.get("watchBidsAsks") else \
            "watch_tickers" if ex.has.get("watchTickers") else None
        if method is None:
            return
        while not self._stop.is_set():
            try:
                result = await getattr(ex, method)(chunk)
            except ccxt.NetworkError:
                raise
            except ccxt.BaseError as exc:
                if await self._refused(ex, chunk, "bidask" if method == "watch_bids_asks" else "ticker", exc,
                                       self._watch_quotes):
                    return
                raise
            if not self.raw_klines and isinstance(result, dict):
                for sym, tk in result.items():
                    if isinstance(tk, dict):
                        self.sink.on_quote(sym, tk.get("bid"), tk.get("ask"), tk.get("last"))

    async def _refused(self, ex: Any, chunk: Sequence[Any], marker: str, exc: BaseException,
                       again: Callable[[Any, Any], Any]) -> bool:
        """A refused subscription: forget it, split the chunk and try the halves; a single refused symbol is
        reported (the rest keep streaming). False when the error is not about the subscription."""
        symbols = {c[0] if isinstance(c, tuple) else c for c in chunk}
        for client in list((getattr(ex, "clients", None) or {}).values()):
            for key in list(client.subscriptions):
                if marker in key and any(s in key for s in symbols):
                    del client.subscriptions[key]
        if len(chunk) == 1:
            item = chunk[0]
            feed = item if isinstance(item, tuple) else None
            self.sink.on_refused(feed, item[0] if isinstance(item, tuple) else item, _plain(exc))
            return True
        mid = len(chunk) // 2
        await asyncio.gather(again(ex, list(chunk[:mid])), again(ex, list(chunk[mid:])))
        return True

    def _generic_klines(self, result: Any, chunk: list[Feed]) -> None:
        """ccxt's parsed candles (no closed flag): the newest row is the forming candle."""
        if isinstance(result, list) and len(chunk) == 1:
            result = {chunk[0][0]: {chunk[0][1]: result}}
        if not isinstance(result, dict):
            return
        for sym, by_tf in result.items():
            for tf, rows in (by_tf or {}).items():
                for r in rows or []:
                    if isinstance(r, list | tuple) and len(r) >= 6 and None not in r[:6]:
                        self.sink.on_kline(sym, tf, int(r[0]), (float(r[1]), float(r[2]), float(r[3]),
                                                                float(r[4]), float(r[5])), None)


class _Counting:
    """The sink, with the runner's liveness clocks kept on the way."""

    def __init__(self, sink: StreamSink, runner: WsRunner) -> None:
        self.sink = sink
        self.runner = runner

    def on_kline(self, symbol: str, timeframe: str, t: int, row: tuple[float, float, float, float, float],
                 closed: bool | None) -> None:
        self.runner.last_kline_ms = self.runner.clock_ms()
        self.sink.on_kline(symbol, timeframe, t, row, closed)

    def on_quote(self, symbol: str, bid: float | None, ask: float | None, last: float | None) -> None:
        self.runner.last_quote_ms = self.runner.clock_ms()
        self.sink.on_quote(symbol, bid, ask, last)

    def on_message(self) -> None:
        self.runner._messages += 1
        self.sink.on_message()

    def on_malformed(self) -> None:
        self.sink.on_malformed()

    def on_refused(self, feed: Feed | None, symbol: str, reason: str) -> None:
        self.sink.on_refused(feed, symbol, reason)

    def on_connected(self) -> None:
        self.sink.on_connected()


async def _first(*aws: Any) -> Any:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()
    finally:
        for t in tasks:
            t.cancel()


async def _close(ex: Any) -> None:
    try:
        ex.timeout_on_exit = 0
        await asyncio.wait_for(ex.close(), 5)
    except Exception as exc:  # closing a broken connection may fail; it is being dropped anyway
        log.debug("closing the stream: %s", exc)


def _rewrite_ws(urls: Any, base: str) -> Any:
    """Point every websocket URL at `base` (ws://host:port/ws): for local fake servers."""
    if isinstance(urls, dict):
        return {k: _rewrite_ws(v, base) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith("ws"):
        return base
    return urls
