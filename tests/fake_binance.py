"""A fake Binance spot REST API on 127.0.0.1 that the real ccxt client talks to.

Serves exchangeInfo/time/ping, klines, 24 h tickers and book tickers from generated candles. The market list
comes from the recordings in ../shared/data when they are there (an extra: the real 2021 schema) and is generated
from the candles otherwise, so every exchange test runs on a fresh clone. Faults are queued per request:
'timeout', 'reset', '429', '429-retry-after', '500', '503', 'malformed', 'truncated', and for klines 'shuffle'
(out of order), 'duplicate' and 'drop' (a missing candle). `down = True` answers every request with 503 (an outage).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from app.core.candles import Candles, timeframe_ms

# One symbol of Binance's exchangeInfo (current schema), the template of every generated market.
_TEMPLATE: dict[str, Any] = {
    "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8, "quoteAsset": "USDT",
    "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True, "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False,
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1000000.00000000",
         "tickSize": "0.00000001"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000000.00000000", "stepSize": "0.00001000"},
        {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000", "applyToMarket": True, "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ],
    "permissions": ["SPOT"],
}
_QUOTES = ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB")


def market_entry(market_id: str, base: str, quote: str) -> dict[str, Any]:
    entry = copy.deepcopy(_TEMPLATE)
    entry.update(symbol=market_id, baseAsset=base, quoteAsset=quote)
    return entry


def split_id(market_id: str) -> tuple[str, str]:
    for q in _QUOTES:
        if market_id.endswith(q) and len(market_id) > len(q):
            return market_id[: -len(q)], q
    raise ValueError(f"cannot split market id {market_id}")


def generated_exchange_info(candles: dict[str, Candles], extra: dict[str, dict[str, Any]] | None = None
                            ) -> dict[str, Any]:
    """exchangeInfo for the markets of `candles` (by market id) and `extra` ({id: {base, quote}})."""
    symbols = []
    for mid, c in candles.items():
        base, quote = c.symbol.split("/") if "/" in c.symbol else split_id(mid)
        symbols.append(market_entry(mid, base, quote))
    for mid, m in (extra or {}).items():
        symbols.append(market_entry(mid, m["base"], m["quote"]))
    return {"timezone": "UTC", "serverTime": 0, "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
        "exchangeFilters": [], "symbols": symbols}


def canonical(candles: Candles) -> Candles:
    """The candles as the exchange's decimal strings carry them ('%.8f'): what a client parses back is exactly
    these floats, so a replay or a backtest of them sees the same numbers as the streamed session."""
    def f(a: np.ndarray) -> np.ndarray:
        return np.array([float(f"{x:.8f}") for x in a], dtype=np.float64)

    return Candles.from_arrays(candles.symbol, candles.timeframe, candles.time, f(candles.open), f(candles.high),
                               f(candles.low), f(candles.close), f(candles.volume))


def resample(c: Candles, timeframe: str) -> Candles:
    """Candles of a longer timeframe from shorter ones (open first, high max, low min, close last, volume sum);
    only whole periods."""
    tf = timeframe_ms(timeframe)
    if tf % c.tf_ms:
        raise ValueError(f"cannot build {timeframe} candles from {c.timeframe}")
    start = c.time - c.time % tf
    first = np.flatnonzero(np.r_[True, np.diff(start) != 0])
    if not len(first):
        return Candles.from_arrays(c.symbol, timeframe, c.time, c.open, c.high, c.low, c.close, c.volume)
    last = np.r_[first[1:], len(c)] - 1
    whole = last - first + 1 == tf // c.tf_ms  # a period whose every candle is there
    high, low = np.maximum.reduceat(c.high, first), np.minimum.reduceat(c.low, first)
    volume = np.add.reduceat(c.volume, first)
    return Candles.from_arrays(c.symbol, timeframe, start[first][whole], c.open[first][whole], high[whole],
                               low[whole], c.close[last][whole], volume[whole])


class FakeBinance:
    def __init__(self, recordings: Path | None, candles: dict[str, Candles], now_ms: int,
                 extra_markets: dict[str, dict[str, Any]] | None = None) -> None:
        info = generated_exchange_info(candles, extra_markets)
        self.generated_markets = True
        recorded = recordings / "http_spot_market_exchange_info.json" if recordings is not None else None
        if recorded is not None and recorded.is_file():
            real = json.loads(recorded.read_text())
            known = {s["symbol"]: s for s in real["symbols"]}
            info = {**real, "symbols": [known.get(s["symbol"], s) for s in info["symbols"]]}
            self.generated_markets = False
        self.exchange_info = info
        self.extra_markets = dict(extra_markets or {})
        self.candles = candles  # by market id, e.g. BTCUSDT
        self._resampled: dict[tuple[str, str], Candles] = {}
        self.now_ms = now_ms
        self.faults: deque[str] = deque()
        self.requests: list[str] = []
        self.timeout_s = 2.0
        self.lock = threading.Lock()
        self.delisted: set[str] = set()
        self.down = False
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeBinance:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def series(self, symbol: str, interval: str) -> Candles:
        """The candles of a market at an interval: the given ones, or built from them for a longer interval."""
        c = self.candles[symbol]
        if interval == c.timeframe:
            return c
        key = (symbol, interval)
        if key not in self._resampled:
            self._resampled[key] = resample(c, interval)
        return self._resampled[key]

    def klines(self, symbol: str, interval: str, start: int | None, limit: int) -> list[list[Any]]:
        c = self.series(symbol, interval)
        tf = timeframe_ms(interval)
        now = self.now_ms
        stop = int(np.searchsorted(c.time, now, side="right"))  # includes the forming candle, as the real API does
        if start is not None:
            first = int(np.searchsorted(c.time, start, side="left"))
            idx = range(first, min(stop, first + limit))
        else:
            idx = range(max(0, stop - limit), stop)
        rows = []
        for i in idx:
            forming = c.time[i] + tf > now
            close = c.open[i] if forming else c.close[i]
            rows.append([int(c.time[i]), f"{c.open[i]:.8f}", f"{c.high[i]:.8f}", f"{c.low[i]:.8f}", f"{close:.8f}",
                         f"{c.volume[i]:.8f}", int(c.time[i] + tf - 1), "0", 1, "0", "0", "0"])
        return rows

    def ticker_24h(self, mid: str) -> dict[str, Any]:
        """A 24 h ticker built from the candles closed in the last day (or the extra market's volume)."""
        if mid in self.candles:
            c = self.candles[mid]
            stop = int(np.searchsorted(c.time, self.now_ms - c.tf_ms, side="right"))
            start = int(np.searchsorted(c.time, self.now_ms - 86_400_000, side="left"))
            sl = slice(start, max(start, stop))
            vol = float(np.sum(c.volume[sl]))
            qvol = float(np.sum(c.volume[sl] * c.close[sl]))
            last = float(c.close[stop - 1]) if stop else 0.0
            first = float(c.open[start]) if stop > start else last
        else:
            m = self.extra_markets[mid]
            last, first = float(m.get("last", 1.0)), float(m.get("last", 1.0))
            qvol = float(m.get("quote_volume", 0.0))
            vol = qvol / last if last else 0.0
        return {"symbol": mid, "priceChange": f"{last - first:.8f}", "priceChangePercent": "0.0",
                "weightedAvgPrice": f"{last:.8f}", "prevClosePrice": f"{first:.8f}", "lastPrice": f"{last:.8f}",
                "lastQty": "0", "bidPrice": f"{last:.8f}", "bidQty": "1", "askPrice": f"{last:.8f}", "askQty": "1",
                "openPrice": f"{first:.8f}", "highPrice": f"{last:.8f}", "lowPrice": f"{last:.8f}",
                "volume": f"{vol:.8f}", "quoteVolume": f"{qvol:.8f}", "openTime": self.now_ms - 86_400_000,
                "closeTime": self.now_ms, "firstId": 0, "lastId": 0, "count": 0}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with fake.lock:
                    fake.requests.append(parts.path)
                    fault = fake.faults.popleft() if fake.faults else None
                if fake.down:
                    self._send(503, b"<html>Service Unavailable</html>")
                    return
                if fault == "timeout":
                    time.sleep(fake.timeout_s)
                    return
                if fault == "reset":
                    self.connection.shutdown(2)
                    return
                if fault == "429":
                    self._send(429, b'{"code":-1003,"msg":"Too many requests."}')
                    return
                if fault == "429-retry-after":
                    self._send(429, b'{"code":-1003,"msg":"Too many requests."}', {"Retry-After": "0"})
                    return
                if fault in ("500", "503"):
                    self._send(int(fault), b"<html>Service Unavailable</html>")
                    return
                if fault == "malformed":
                    self._send(200, b"{not json")
                    return
                path = parts.path
                if path.endswith("/exchangeInfo"):
                    info = dict(fake.exchange_info)
                    info["symbols"] = [s for s in info["symbols"] if s["symbol"] not in fake.delisted]
                    info["serverTime"] = fake.now_ms
                    body = json.dumps(info).encode()
                elif path.endswith("/time"):
                    body = json.dumps({"serverTime": fake.now_ms}).encode()
                elif path.endswith("/ping"):
                    body = b"{}"
                elif path.endswith("/ticker/24hr"):
                    ids = [q["symbol"]] if "symbol" in q else [*fake.candles, *fake.extra_markets]
                    rows = [fake.ticker_24h(m) for m in ids if m not in fake.delisted]
                    body = json.dumps(rows[0] if "symbol" in q else rows).encode()
                elif path.endswith("/ticker/bookTicker"):
                    rows = []
                    for mid in ([q["symbol"]] if "symbol" in q else list(fake.candles)):
                        last = float(fake.ticker_24h(mid)["lastPrice"])
                        rows.append({"symbol": mid, "bidPrice": f"{last * 0.9999:.8f}", "bidQty": "1",
                                     "askPrice": f"{last * 1.0001:.8f}", "askQty": "1"})
                    body = json.dumps(rows[0] if "symbol" in q else rows).encode()
                elif path.endswith("/klines"):
                    sym = q.get("symbol", "")
                    if sym not in fake.candles or sym in fake.delisted:
                        self._send(400, b'{"code":-1121,"msg":"Invalid symbol."}')
                        return
                    start = int(q["startTime"]) if "startTime" in q else None
                    rows = fake.klines(sym, q.get("interval", "1m"), start, int(q.get("limit", 500)))
                    if fault == "shuffle":
                        rows = rows[::-1]
                    elif fault == "duplicate":
                        rows = rows + rows[: len(rows) // 2]
                    elif fault == "drop" and len(rows) > 2:
                        del rows[len(rows) // 2]
                    body = json.dumps(rows).encode()
                else:
                    self._send(404, b'{"code":-1,"msg":"not found"}')
                    return
                if fault == "truncated":
                    body = body[: max(1, len(body) // 2)]
                self._send(200, body)

        return Handler
