"""The only module that imports ccxt: public candles with rate limiting, paging, closed candles only,
retries with backoff, and ccxt's errors turned into ExchangeError with a message a trader understands.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt
import numpy as np

from app.core.candles import Candles, timeframe_ms
from app.errors import ExchangeError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE = (ccxt.NetworkError,)  # timeouts, 429 (RateLimitExceeded/DDoSProtection), 5xx, bad bodies


def _rewrite(urls: Any, base: str) -> Any:
    """Point every API URL at `base` (scheme://host:port), keeping each path: for local fake servers."""
    if isinstance(urls, dict):
        return {k: _rewrite(v, base) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        parts = urlsplit(urls)
        return base.rstrip("/") + parts.path
    return urls


class ExchangeClient:
    def __init__(self, exchange_id: str = "binance", base_url: str | None = None, timeout_ms: int = 10_000,
                 retries: int = 4, backoff_s: float = 0.5, max_backoff_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, clock_ms: Callable[[], int] | None = None,
                 connect_retries: int = 1, monotonic: Callable[[], float] = time.monotonic) -> None:
        cls = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
        if cls is None:
            raise ExchangeError(f"unknown exchange '{exchange_id}'; expected a ccxt id such as binance")
        options: dict[str, Any] = {"defaultType": "spot"}
        if exchange_id == "binance":
            options["fetchMarkets"] = {"types": ["spot"]}
            options["fetchCurrencies"] = False
        self.exchange: Any = cls({"enableRateLimit": True, "timeout": timeout_ms, "options": options,
                                    "enableLastJsonResponse": True, "enableLastResponseHeaders": True})
        if base_url:
            self.exchange.urls["api"] = _rewrite(self.exchange.urls["api"], base_url)
        self.exchange_id = exchange_id
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._clock_ms = clock_ms
        self.retry_count = 0
        self.connect_retries = connect_retries
        self._mono = monotonic
        self._markets_loaded = False
        self._markets_error: ExchangeError | None = None  # the last failure to load markets, kept for a while
        self._markets_retry_at = 0.0
        self._markets_failures = 0
        self._clock_offset_ms = 0

    # ------------------------------------------------------------ plumbing
    def _call(self, what: str, fn: Callable[[], T], valid: Callable[[Any], bool] = lambda r: True,
              retries: int | None = None, level: int = logging.WARNING) -> T:
        delay = self.backoff_s
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                result = fn()
                if not valid(result):
                    raise ValueError(f"unexpected answer {str(result)[:80]!r}")
                return result
            except ccxt.BadSymbol as exc:
                raise ExchangeError(f"{self.exchange_id}: {what}: the symbol is not listed ({exc})") from None
            except RETRYABLE as exc:
                retry_after = _retry_after(self.exchange)
                if attempt >= retries:
                    raise ExchangeError(
                        f"{self.exchange_id}: {what} failed after {attempt + 1} tries: {_plain(exc)}. "
                        f"Check the connection; the scanner keeps trying.", retryable=True) from None
                self.retry_count += 1
                wait = min(self.max_backoff_s, retry_after if retry_after is not None else delay)
                log.log(level, "%s: %s: %s; retry %d in %.1fs", self.exchange_id, what, _plain(exc), attempt + 1, wait)
                self._sleep(wait)
                delay = min(self.max_backoff_s, delay * 2)
            except ccxt.AuthenticationError:
                raise ExchangeError(f"{self.exchange_id}: {what}: the exchange refused access; ScalpDesk only "
                                    f"uses public data, so the endpoint may be restricted in your region") from None
            except ccxt.BaseError as exc:
                raise ExchangeError(f"{self.exchange_id}: {what}: {_plain(exc)}") from None
            except (ValueError, TypeError, KeyError) as exc:  # a body ccxt could not parse
                if attempt >= retries:
                    raise ExchangeError(f"{self.exchange_id}: {what}: malformed answer ({exc})",
                                        retryable=True) from None
                self.retry_count += 1
                self._sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
        raise AssertionError("unreachable")  # pragma: no cover

    def _parsed_list(self, result: Any) -> bool:
        """ccxt hands an unparsable body on as text and then parses it as no candles: tell the two apart."""
        raw = getattr(self.exchange, "last_json_response", None)
        return isinstance(result, list) and isinstance(raw, list)

    def load_markets(self) -> list[str]:
        """The exchange's markets, loaded once. A failure is kept and raised again at once until its backoff ends
        (1 s doubling to 60 s), so an offline scan of many symbols fails in about a second, not once per symbol."""
        if self._markets_error is not None and self._mono() < self._markets_retry_at:
            raise self._markets_error
        try:
            markets = self._call("loading markets", lambda: self.exchange.load_markets(reload=True),
                                 lambda r: isinstance(r, dict) and len(r) > 0, retries=self.connect_retries,
                                 level=logging.INFO)
        except ExchangeError as exc:
            self._markets_failures += 1
            wait = min(60.0, 2.0 ** (self._markets_failures - 1))
            self._markets_retry_at = self._mono() + wait
            m = re.search(r"failed after \d+ tries: (.*?)\. Check", str(exc))
            reason = m.group(1) if m else str(exc).removeprefix(f"{self.exchange_id}: loading markets: ")
            self._markets_error = ExchangeError(
                f"could not reach {self.exchange_id}: {reason}" if exc.retryable
                else str(exc), retryable=exc.retryable)
            raise self._markets_error from None
        self._markets_loaded = True
        self._markets_error = None
        self._markets_failures = 0
        try:
            server = int(self._call("reading the server time", lambda: self.exchange.fetch_time(),
                                    lambda r: isinstance(r, int | float) and r > 0))
            self._clock_offset_ms = server - int(time.time() * 1000)
        except ExchangeError:
            self._clock_offset_ms = 0  # local clock; the candle grid still tells closed from forming
        return sorted(markets)

    @property
    def markets_loaded(self) -> bool:
        return self._markets_loaded

    @property
    def markets(self) -> dict[str, Any]:
        return dict(self.exchange.markets or {})

    def timeframes(self) -> list[str]:
        return list((getattr(self.exchange, "timeframes", None) or {}).keys())

    def check_timeframes(self, timeframes: list[str]) -> None:
        """Timeframes the exchange and ScalpDesk both know, else an error naming the others (no network)."""
        from app.core.candles import TIMEFRAME_MS

        offered = self.timeframes()
        for tf in timeframes:
            if tf not in TIMEFRAME_MS:
                raise ExchangeError(f"timeframe '{tf}' is not supported; expected one of {', '.join(TIMEFRAME_MS)}")
            if offered and tf not in offered:
                raise ExchangeError(f"{self.exchange_id} does not offer {tf} candles; it offers {', '.join(offered)}")

    def check_symbols(self, symbols: list[str]) -> None:
        """Every symbol must be listed (markets must be loaded), else an error naming the ones that are not."""
        listed = self.exchange.markets or {}
        missing = [s for s in symbols if s not in listed]
        if missing:
            raise ExchangeError(f"{self.exchange_id} does not list {', '.join(missing)} (delisted or misspelt; "
                                f"symbols look like BTC/USDT)")

    def fetch_tickers(self) -> dict[str, Any]:
        """24 h tickers of every market (for the top-volume universe)."""
        if not self._markets_loaded:
            self.load_markets()
        result: dict[str, Any] = self._call("24 h tickers", lambda: self.exchange.fetch_tickers(),
                                            lambda r: isinstance(r, dict))
        return result

    def server_time_ms(self) -> int:
        """The exchange's clock, from the local one and the offset measured when markets were loaded."""
        if self._clock_ms is not None:
            return self._clock_ms()
        return int(time.time() * 1000) + self._clock_offset_ms

    # ------------------------------------------------------------ candles
    def fetch_candles(self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000,
                      now_ms: int | None = None, page: int = 1000,
                      on_page: Callable[[int, int], None] | None = None) -> Candles:
        """Closed candles from `since_ms` (or the last `limit`), paging as needed; the forming one dropped.
        `on_page(page_start_ms, last_closed_open_ms)` runs before each page is requested (progress; it may raise to
        stop a long download)."""
        tf = timeframe_ms(timeframe)
        if not self._markets_loaded:
            self.load_markets()
        if symbol not in self.exchange.markets:
            raise ExchangeError(f"{self.exchange_id}: {symbol} is not listed (delisted or misspelt)")
        now = now_ms if now_ms is not None else self.server_time_ms()
        last_closed_open = (now // tf) * tf - tf
        start = since_ms if since_ms is not None else last_closed_open - (limit - 1) * tf
        rows: dict[int, list[float]] = {}
        cursor = start
        while cursor <= last_closed_open:
            if on_page is not None:
                on_page(cursor, last_closed_open)
            since = cursor
            batch: list[Any] = self._call(
                f"candles of {symbol} {timeframe}",
                lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since=since, limit=page),  # noqa: B023
                self._parsed_list)
            if not batch:
                break
            newest = cursor
            for row in batch:
                if not isinstance(row, list | tuple) or len(row) < 6 or any(x is None for x in row[:6]):
                    continue
                ts = int(row[0])
                if ts < start or ts > last_closed_open or ts % tf:
                    continue  # the forming candle and anything off the grid are not closed candles
                rows[ts] = [float(x) for x in row[1:6]]
                newest = max(newest, ts)
            if newest < cursor or len(batch) < page:
                break
            cursor = newest + tf
        ts_sorted = sorted(rows)
        if since_ms is None:
            ts_sorted = ts_sorted[-limit:]
        arr = np.array([rows[t] for t in ts_sorted], dtype=np.float64).reshape(-1, 5)
        return Candles.from_arrays(symbol, timeframe, np.array(ts_sorted, dtype=np.int64), arr[:, 0], arr[:, 1],
                                   arr[:, 2], arr[:, 3], arr[:, 4])


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def _plain(exc: BaseException) -> str:
    kinds = [
        (ccxt.RequestTimeout, "the exchange did not answer in time"),
        (ccxt.RateLimitExceeded, "rate limited by the exchange (HTTP 429)"),
        (ccxt.DDoSProtection, "rate limited by the exchange"),
        (ccxt.ExchangeNotAvailable, "the exchange is unavailable (server error)"),
        (ccxt.BadResponse, "the exchange sent a malformed answer"),
        (ccxt.NetworkError, "network error"),
    ]
    for cls, text in kinds:
        if isinstance(exc, cls):
            return text
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:200]
