"""A fake Binance spot REST API on 127.0.0.1 that the real ccxt client talks to.

Serves recorded exchangeInfo/time/ping from ../shared/data and klines from generated candles. Faults are
queued per request: 'timeout', 'reset', '429', '429-retry-after', '500', '503', 'malformed', 'truncated', and for
klines 'shuffle' (out of order), 'duplicate' and 'drop' (a missing candle).
"""

from __future__ import annotations

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


class FakeBinance:
    def __init__(self, recordings: Path, candles: dict[str, Candles], now_ms: int) -> None:
        self.exchange_info = json.loads((recordings / "http_spot_market_exchange_info.json").read_text())
        self.candles = candles  # by market id, e.g. BTCUSDT
        self.now_ms = now_ms
        self.faults: deque[str] = deque()
        self.requests: list[str] = []
        self.timeout_s = 2.0
        self.lock = threading.Lock()
        self.delisted: set[str] = set()
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

    def klines(self, symbol: str, interval: str, start: int | None, limit: int) -> list[list[Any]]:
        c = self.candles[symbol]
        tf = timeframe_ms(interval)
        visible = c.time <= self.now_ms  # includes the forming candle, as the real API does
        idx = np.flatnonzero(visible)
        idx = idx[c.time[idx] >= start] if start is not None else idx[-limit:]
        idx = idx[:limit]
        rows = []
        for i in idx:
            forming = c.time[i] + tf > self.now_ms
            close = c.open[i] if forming else c.close[i]
            rows.append([int(c.time[i]), f"{c.open[i]:.8f}", f"{c.high[i]:.8f}", f"{c.low[i]:.8f}", f"{close:.8f}",
                         f"{c.volume[i]:.8f}", int(c.time[i] + tf - 1), "0", 1, "0", "0", "0"])
        return rows

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
                    body = json.dumps(info).encode()
                elif path.endswith("/time"):
                    body = json.dumps({"serverTime": fake.now_ms}).encode()
                elif path.endswith("/ping"):
                    body = b"{}"
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
