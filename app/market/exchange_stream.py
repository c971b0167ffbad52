"""The live exchange feed: closed candles and best bid/ask of a whole market, streamed, with REST behind it.

- Websockets (app.market.exchange_ws) carry every watched symbol's candles and prices; a REST worker
  (app.market.exchange.ExchangeClient) backfills history at start, after every reconnect and over any gap, and
  polls what the stream does not carry (an exchange without streaming, a refused symbol, a silent feed).
- `fetch` reads the buffers (app.market.feedbook): no network per call. `wait_for_update` wakes the session
  when candles close, so a signal is decided within a second of the close.
- The connection is a state, always shown: connected / connecting / reconnecting in N s / polling / offline,
  with the reason. Offline at start is a state too (the markets are retried with backoff); nothing ever
  switches to the simulated market.
- Bad input (an exchange id ccxt does not know, a timeframe the exchange does not offer, a symbol it does not
  list) raises ScalpDeskError naming it before anything starts (symbols: when the exchange can be reached).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from app.core.candles import Candles, timeframe_ms
from app.errors import ExchangeError, ScalpDeskError
from app.market.feedbook import Feed, FeedBook, FetchRequest
from app.market.sources import ConnectionState, Quote
from app.market.universe import MAX_SYMBOLS, top_by_volume

log = logging.getLogger(__name__)
SKEW_MS = 2_000  # margin for the local clock running ahead of the exchange's


class ExchangeStream:
    def __init__(self, exchange_id: str, symbols: Sequence[str], timeframes: Sequence[str], *,
                 universe: str = "list", top_n: int = 50, quote: str = "USDT", history: int = 1000,
                 base_url: str | None = None, ws_url: str | None = None, client: Any = None,
                 clock_ms: Callable[[], int] | None = None, streaming: bool = True, grace_s: float = 5.0,
                 stale_periods: int = 3, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 universe_refresh_s: float = 3600.0, seed: int | None = None) -> None:
        from app.market.exchange import ExchangeClient

        self.exchange_id = exchange_id
        self.label = f"LIVE {exchange_id}"
        self.timeframes = list(dict.fromkeys(timeframes))
        if not self.timeframes:
            raise ScalpDeskError("no timeframe to watch")
        if universe not in ("list", "top_volume"):
            raise ScalpDeskError(f"scanner.universe '{universe}' is not one of: list, top_volume")
        self.universe = universe
        self.top_n = min(MAX_SYMBOLS, max(1, int(top_n)))
        self.quote = quote.upper()
        self._wanted = list(dict.fromkeys(symbols))
        if universe == "list" and not self._wanted:
            raise ScalpDeskError("no symbol to watch (scanner.symbols is empty)")
        if universe == "list" and len(self._wanted) > MAX_SYMBOLS:
            raise ScalpDeskError(f"{len(self._wanted)} symbols: at most {MAX_SYMBOLS} can be watched")
        self.client = client if client is not None else ExchangeClient(
            exchange_id, base_url=base_url, retries=1, connect_retries=0, clock_ms=clock_ms)
        self.client.check_timeframes(self.timeframes)  # no network: a bad timeframe fails here
        self._clock = clock_ms or self.client.server_time_ms
        self.base_url, self.ws_url = base_url, ws_url
        self.grace_ms = max(int(grace_s * 1000), SKEW_MS + 500)
        self.stale_periods = stale_periods
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.universe_refresh_s = universe_refresh_s
        self._rng = random.Random(seed)
        self.book = FeedBook(history)
        self._lock = threading.Lock()
        self._symbols: list[str] = []
        self._bidask: dict[str, tuple[float | None, float | None, int]] = {}
        self._quote_last: dict[str, tuple[float, int]] = {}
        self._seen = 0  # the book's version the session has seen
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._offline: str | None = None
        self._rest_retry_at = 0.0
        self._rest_failures = 0
        self._universe_at = 0.0
        self.counts = {"messages": 0, "malformed": 0, "refused": 0, "rest_requests": 0, "rest_errors": 0}
        self._refused: dict[str, str] = {}
        ok, reason = streaming_support(exchange_id) if streaming else (False, "polling was asked for")
        self.streaming = ok
        self.polling_reason = "" if ok else reason
        self.ws: Any = None
        self._connect(first=True)
        self._rest_thread = threading.Thread(target=self._rest_main, name=f"rest-{exchange_id}", daemon=True)
        self._rest_thread.start()

    # ------------------------------------------------------------------ life
    def close(self, timeout: float = 15.0) -> None:
        """Stop streaming and the REST worker, waiting at most `timeout` seconds in all (both are daemon threads: one
        still in a slow call ends with the process)."""
        deadline = time.monotonic() + max(0.0, timeout)
        self._stop.set()
        self._wake.set()
        if self.ws is not None:
            self.ws.stop(timeout=max(0.0, deadline - time.monotonic()))
        if self._rest_thread.is_alive():
            self._rest_thread.join(max(0.0, deadline - time.monotonic()))

    def _connect(self, first: bool = False) -> bool:
        """Load the markets (fail fast), check the symbols, choose the universe, start streaming. Offline: the state
        says so and the REST worker tries again with backoff. Bad symbols at the first try raise."""
        try:
            self.client.load_markets()
            symbols = self._choose_symbols()
        except ExchangeError as exc:
            if first and not exc.retryable:
                raise
            if self._offline != str(exc):
                log.warning("%s", exc)  # once per new reason; the retries are in the connection state
            self._offline = str(exc)
            self._rest_failures += 1
            self._rest_retry_at = time.monotonic() + self._backoff(self._rest_failures)
            return False
        self._offline = None
        self._rest_failures = 0
        self._set_symbols(symbols)
        return True

    def _choose_symbols(self) -> list[str]:
        if self.universe == "list":
            self.client.check_symbols(self._wanted)
            return list(self._wanted)
        tickers = self.client.fetch_tickers()
        chosen = top_by_volume(self.client.markets, tickers, self.quote, self.top_n)
        self._universe_at = time.monotonic()
        if not chosen:
            raise ExchangeError(f"{self.exchange_id} lists no {self.quote} pair with volume to watch "
                                f"(scanner.quote '{self.quote}')")
        return chosen

    def _set_symbols(self, symbols: list[str]) -> None:
        with self._lock:
            old = set(self._symbols)
            self._symbols = list(symbols)
        for s in symbols:
            for tf in self.timeframes:
                self.book.add((s, tf), streamed=self.streaming and s not in self._refused)
        for s in old - set(symbols):  # out of the universe: polled while an open signal still reads it
            for tf in self.timeframes:
                self.book.set_problem((s, tf), "", streamed=False)
        self._resubscribe()

    def _resubscribe(self) -> None:
        if not self.streaming:
            return
        with self._lock:
            symbols = [s for s in self._symbols if s not in self._refused]
        klines = [(s, tf) for tf in self.timeframes for s in symbols]
        if self.ws is None:
            from app.market.exchange_ws import WsRunner

            self.ws = WsRunner(self.exchange_id, self.ws_url, self.base_url, self.client.markets, self, self._clock,
                               lambda: min(timeframe_ms(tf) for tf in self.timeframes), self.stale_periods,
                               self.backoff_s, self.max_backoff_s, seed=self._rng.randrange(1 << 30))
            self.ws.subscribe(klines, symbols)
            self.ws.start()
        else:
            self.ws.subscribe(klines, symbols)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2.0 ** (attempt - 1)) * (0.5 + 0.5 * self._rng.random())

    # ------------------------------------------------------------------ the sink (stream thread)
    def on_kline(self, symbol: str, timeframe: str, t: int, row: tuple[float, float, float, float, float],
                 closed: bool | None) -> None:
        feed = (symbol, timeframe)
        now = self._clock()
        if closed is None:  # the stream does not say: a newer candle means the previous one has ended
            st = self.book.state(feed)
            ended = st is not None and st.forming_time is not None and t > st.forming_time
            self.book.on_stream(feed, t, row, False, now)
            if ended:
                self.book.mark_urgent(feed)
                self._wake.set()
            return
        if self.book.on_stream(feed, t, row, closed, now):
            return
        st = self.book.state(feed)
        if st is not None and st.urgent:
            self._wake.set()  # a hole: the REST worker fetches it now

    def on_quote(self, symbol: str, bid: float | None, ask: float | None, last: float | None) -> None:
        now = self._clock()
        self._bidask[symbol] = (bid, ask, now)
        if last is not None:
            self._quote_last[symbol] = (float(last), now)

    def on_message(self) -> None:
        self.counts["messages"] += 1

    def on_malformed(self) -> None:
        self.counts["malformed"] += 1

    def on_refused(self, feed: Feed | None, symbol: str, reason: str) -> None:
        self.counts["refused"] += 1
        self._refused[symbol] = reason
        log.warning("%s refused the stream of %s (%s); its candles are fetched over REST", self.exchange_id,
                    symbol, reason)
        for tf in self.timeframes:
            self.book.set_problem((symbol, tf), f"stream refused ({reason}); polled over REST", streamed=False)
        if self.ws is not None:
            self.ws.forget(symbol)

    def on_connected(self) -> None:
        self.book.touch(self._clock())
        self.book.urgent_all()  # backfill after every (re)connect: what closed while away is fetched
        self._wake.set()

    # ------------------------------------------------------------------ REST worker (its own thread)
    def _rest_main(self) -> None:
        while not self._stop.is_set():
            try:
                self._rest_step()
            except Exception:  # never let the worker die silently: log and go on
                log.exception("%s: REST worker", self.exchange_id)
            self._wake.wait(0.1)
            self._wake.clear()

    def _rest_step(self) -> None:
        mono = time.monotonic()
        if mono < self._rest_retry_at:
            return
        if not self.client.markets_loaded or (self._offline is not None and not self._symbols):
            self._connect()
            return
        if self.universe == "top_volume" and mono - self._universe_at > self.universe_refresh_s:
            try:
                self._set_symbols(self._choose_symbols())
            except ExchangeError as exc:
                self._universe_at = mono  # keep the current list; try again at the next refresh
                log.warning("%s: the top-volume list was not refreshed: %s", self.exchange_id, exc)
        self._mark_silent()
        self._drop_idle()
        now = self._clock()
        requests = self.book.due(now, self.grace_ms, max_requests=25)
        for i, req in enumerate(requests):
            if self._stop.is_set() or not self._fetch(req, now):
                self.book.release(r.feed for r in requests[i + 1:])
                break

    def _fetch(self, req: FetchRequest, now: int) -> bool:
        sym, tf = req.feed
        self.counts["rest_requests"] += 1
        now -= SKEW_MS  # a candle REST calls closed must have closed by the exchange's clock too
        try:
            candles = self.client.fetch_candles(sym, tf, since_ms=req.since_ms, limit=req.limit, now_ms=now)
        except ExchangeError as exc:
            self.counts["rest_errors"] += 1
            if exc.retryable:  # the exchange cannot be reached: every feed waits
                self._rest_failures += 1
                wait = self._backoff(self._rest_failures)
                self._rest_retry_at = time.monotonic() + wait
                self._offline = f"could not reach {self.exchange_id}: {exc}"
                self.book.failed(req.feed, wait)
                return False
            self.book.failed(req.feed, 60.0)
            self.book.set_problem(req.feed, str(exc))
            return True
        self._rest_failures = 0
        self._offline = None
        tfm = timeframe_ms(tf)
        self.book.on_history(req, candles, (now // tfm) * tfm - tfm)
        st = self.book.state(req.feed)
        if st is not None and st.problem and not st.problem.startswith("stream refused") and st.streamed:
            self.book.set_problem(req.feed, "")
        return True

    def _mark_silent(self) -> None:
        """Feeds the stream has not served for `stale_periods` candles while the connection lives: said, and
        their candles fetched over REST (the overdue rule)."""
        if self.ws is None or self.ws.state.state != "connected":
            return
        silent = set(self.book.silent(self._clock(), self.stale_periods))
        for feed in self.book.feeds():
            st = self.book.state(feed)
            if st is None or not st.streamed:
                continue
            text = f"no stream data for {self.stale_periods} candles; polled over REST"
            if feed in silent and not st.problem:
                self.book.set_problem(feed, text)
            elif feed not in silent and st.problem == text:
                self.book.set_problem(feed, "")

    def _drop_idle(self) -> None:
        """Feeds outside the watch list that nobody has read for a while (their open signals have closed)."""
        with self._lock:
            watched = set(self._symbols)
        idle_s = max(600.0, 20 * max(timeframe_ms(tf) for tf in self.timeframes) / 1000)
        for feed in self.book.idle(idle_s):
            if feed[0] not in watched or feed[1] not in self.timeframes:
                self.book.remove(feed)

    # ------------------------------------------------------------------ CandleSource
    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        feed = (symbol, timeframe)
        if feed not in self.book:
            # an open signal of a symbol or timeframe no longer watched: followed by polling
            try:
                timeframe_ms(timeframe)
            except ValueError as exc:
                raise ScalpDeskError(str(exc)) from None
            self.book.add(feed, streamed=False)
            self._wake.set()
        return self.book.fetch(symbol, timeframe, limit, since_ms)

    def now_ms(self) -> int:
        return int(self._clock())

    def symbols(self) -> list[str]:
        with self._lock:
            return list(self._symbols)

    def quotes(self) -> dict[str, Quote]:
        out: dict[str, Quote] = {}
        tf = self.timeframes[0]
        for sym in self.symbols():
            lc = self.book.last_close((sym, tf))
            ba = self._bidask.get(sym)
            ql = self._quote_last.get(sym)
            last = ql[0] if ql is not None else lc[1] if lc is not None else None
            if last is None and ba is not None and ba[0] is not None and ba[1] is not None:
                last = (ba[0] + ba[1]) / 2.0
            if last is None:
                continue
            when = max(ba[2] if ba else 0, ql[1] if ql else 0) or (lc[0] if lc else 0)
            out[sym] = Quote(sym, float(last), int(when), ba[0] if ba else None, ba[1] if ba else None)
        return out

    def has_update(self) -> bool:
        return self.book.version != self._seen

    def wait_for_update(self, timeout: float, settle_s: float = 0.15) -> bool:
        """Wait for newly closed candles (True) or the timeout (False). Once the first arrives, wait up to `settle_s`
        for the other symbols' closes of the same candle, so one cycle handles them together."""
        deadline = time.monotonic() + max(0.0, timeout)
        version = self.book.version
        while version == self._seen:
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return False
            version = self.book.wait(self._seen, min(left, 0.25))
        settle = time.monotonic() + settle_s
        while self.book.lagging() and time.monotonic() < settle:
            self.book.wait(self.book.version, min(0.02, max(0.0, settle - time.monotonic())))
        self._seen = self.book.version
        return True

    def mark_seen(self) -> None:
        self._seen = self.book.version

    # ------------------------------------------------------------------ state
    def connection(self) -> ConnectionState:
        """connected (streaming) / connecting / reconnecting in N s (candles fetched over REST meanwhile) / polling
        (no stream, and why) / offline (neither the stream nor REST answers: could not reach <exchange>)."""
        problems = self.book.problems()
        mono = time.monotonic()
        what = f"{len(self.symbols())} symbols x {','.join(self.timeframes)}"
        rest_retry = max(0.0, self._rest_retry_at - mono)
        ws = self.ws.state if self.ws is not None else None
        if not self.client.markets_loaded or (self._offline is not None and (ws is None or ws.state != "connected")):
            return ConnectionState("offline", self._offline or f"could not reach {self.exchange_id}", rest_retry,
                                   None, problems)
        if not self.streaming:
            return ConnectionState("polling", f"{what}; {self.polling_reason}", None, None, problems)
        if ws is None or ws.state in ("idle", "connecting"):
            return ConnectionState("connecting", what, None, None, problems)
        since = int(self._clock() - (mono - ws.since) * 1000)
        if ws.state == "reconnecting":
            retry = max(0.0, (ws.retry_at or mono) - mono)
            return ConnectionState("reconnecting", f"{ws.detail}; candles fetched over REST meanwhile", retry, since,
                                   problems)
        rest = f"; REST: {self._offline}" if self._offline else ""
        return ConnectionState("connected", f"{what} streaming{rest}", None, since, problems)

    def stats(self) -> dict[str, Any]:
        ws = self.ws
        return {**self.counts, **self.book.counts, "reconnects": ws.reconnects if ws else 0,
                "sessions": ws.sessions if ws else 0, "candles_held": self.book.candles_held()}


def streaming_support(exchange_id: str) -> tuple[bool, str]:
    from app.market.exchange_ws import support

    try:
        return support(exchange_id)
    except Exception as exc:  # a ccxt.pro class that cannot even be built: poll
        return False, f"the {exchange_id} stream cannot start ({type(exc).__name__})"
