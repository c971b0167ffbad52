"""Binance spot's websocket market streams on 127.0.0.1 (aiohttp), driven by the candles and the clock of a
FakeBinance REST server: the real ccxt.pro client connects to it through a URL rewrite.

Protocol: the raw-stream endpoint `/ws/<n>`; a client sends {"method": "SUBSCRIBE", "params": [...], "id": n} and
gets {"result": null, "id": n} (or {"error": {"code": 2, "msg": ...}, "id": n} when refused); streams are
`<id>@kline_<interval>` (kline events, "x" true on the closing message) and `<id>@bookTicker` (best bid/ask).

Market time moves only when the driver calls `advance(to_ms)`: every update of the forming candles, every closing
message and every book ticker due in between is sent, in time order. Faults: `disconnect()` (mid-candle when
called mid-candle), `stall()` (connections open but silent), `outage(True/False)` (connections dropped, new ones
refused with 503, REST down too), and per closing message the seeded probabilities `duplicate_p`, `reorder_p`
(held back until the stream's next close: out of order), `late_update_p` (an unclosed update of a candle already
closed, with wrong prices), `drop_p` (never sent), `malformed_p` (a malformed frame before it); `refuse` holds
market ids whose subscriptions are refused.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from app.core.candles import timeframe_ms
from tests.fake_binance import FakeBinance

MALFORMED = ["{not json", '{"e":"kline","E":1,"s":"BTCUSDT","k":{"t":"x"}}', "[1, 2", '{"e":"kline"}',
             '{"u":1,"s":"NOPE","b":"x","a":null}']


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    streams: set[str] = field(default_factory=set)
    muted: bool = False


class FakeBinanceStream:
    def __init__(self, rest: FakeBinance, updates_per_candle: int = 3, quotes_per_candle: int = 4,
                 seed: int = 0) -> None:
        self.rest = rest
        self.updates_per_candle = updates_per_candle
        self.quotes_per_candle = quotes_per_candle
        self.rng = random.Random(seed)
        self.duplicate_p = self.reorder_p = self.late_update_p = self.drop_p = self.malformed_p = 0.0
        self.refuse: set[str] = set()
        self.conns: set[_Conn] = set()
        self.refusing_connections = False
        self.close_sent: dict[tuple[str, str, int], float] = {}  # (id, interval, t) -> wall time of its first send
        self.counts: dict[str, int] = defaultdict(int)
        self._held: dict[tuple[str, str], list[tuple[tuple[str, str, int] | None, str]]] = defaultdict(list)
        self._update_id = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True, name="fake-binance-ws")
        self.port = 0

    # ------------------------------------------------------------------ server
    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/ws/{tail:.*}", self._ws)
        self._runner = web.AppRunner(app)
        self.loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> FakeBinanceStream:
        self.thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for c in list(self.conns):
                await c.ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self.refusing_connections:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = _Conn(ws)
        self.conns.add(conn)
        self.counts["connections"] += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    continue
                await self._request(conn, req)
        finally:
            self.conns.discard(conn)
        return ws

    async def _request(self, conn: _Conn, req: dict[str, Any]) -> None:
        method, params, rid = req.get("method"), list(req.get("params") or []), req.get("id")
        if method == "SUBSCRIBE":
            refused = [s for s in params if s.split("@")[0].upper() in self.refuse]
            if refused:
                self.counts["refused"] += 1
                await conn.ws.send_str(json.dumps({"error": {"code": 2, "msg": f"Invalid request: stream "
                                                             f"{refused[0]} is not available"}, "id": rid}))
                return
            conn.streams.update(params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
        if not conn.muted:
            await conn.ws.send_str(json.dumps({"result": None, "id": rid}))

    # ------------------------------------------------------------------ driving
    def _run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def advance(self, to_ms: int) -> int:
        """Move market time to `to_ms`, sending everything due on the way; returns the messages sent."""
        return int(self._run(self._advance(to_ms)))

    def disconnect(self) -> None:
        self.counts["disconnects"] += 1
        self._run(self._close_all())

    def stall(self) -> None:
        """Every open connection goes silent (stays open, sends nothing); new connections work."""
        self.counts["stalls"] += 1
        for c in list(self.conns):
            c.muted = True

    def unstall(self) -> None:
        """The silent connections speak again (a stall shorter than the client's patience)."""
        for c in list(self.conns):
            c.muted = False

    def outage(self, on: bool) -> None:
        """The exchange is down: websockets dropped and refused, REST answers 503."""
        self.refusing_connections = on
        self.rest.down = on
        if on:
            self.counts["outages"] += 1
            self._run(self._close_all())

    async def _close_all(self) -> None:
        for c in list(self.conns):
            await c.ws.close()

    def subscribed(self) -> set[str]:
        return set().union(*(c.streams for c in self.conns)) if self.conns else set()

    async def _advance(self, to_ms: int) -> int:
        start = self.rest.now_ms
        if to_ms <= start:
            return 0
        events: list[tuple[int, int, str, str]] = []  # (time, order, stream, text)
        for stream in sorted(self.subscribed()):
            mid, kind = stream.split("@", 1)
            mid = mid.upper()
            c = self.rest.candles.get(mid)
            if c is None:
                continue
            if kind.startswith("kline_"):
                events.extend(self._kline_events(mid, kind[6:], self.rest.series(mid, kind[6:]), start, to_ms, stream))
            elif kind == "bookTicker":
                events.extend(self._quote_events(mid, c, start, to_ms, stream))
        events.sort(key=lambda e: (e[0], e[1]))
        sent = 0
        for when, _, stream, text in events:
            self.rest.now_ms = max(self.rest.now_ms, when)
            sent += await self._send(stream, text)
        self.rest.now_ms = to_ms
        return sent

    def _kline_events(self, mid: str, interval: str, c: Any, start: int, end: int, stream: str
                      ) -> list[tuple[int, int, str, str]]:
        tf = timeframe_ms(interval)
        out = []
        first = int(np.searchsorted(c.time, start - tf, side="left"))
        last = int(np.searchsorted(c.time, end, side="right"))
        k = self.updates_per_candle
        for i in range(first, last):
            t = int(c.time[i])
            for j in range(1, k + 1):
                when = t + tf * j // (k + 1)
                if start < when <= end:
                    out.append((when, 1, stream, self._kline(mid, interval, c, i, j / (k + 1), False, when)))
            close_at = t + tf
            if start < close_at <= end:
                out.append((close_at, 0, stream, "CLOSE:" + self._kline(mid, interval, c, i, 1.0, True, close_at)))
        return out

    def _quote_events(self, mid: str, c: Any, start: int, end: int, stream: str) -> list[tuple[int, int, str, str]]:
        tf = c.tf_ms
        out = []
        first = int(np.searchsorted(c.time, start - tf, side="left"))
        last = int(np.searchsorted(c.time, end, side="right"))
        k = self.quotes_per_candle
        for i in range(first, last):
            t = int(c.time[i])
            for j in range(1, k + 1):
                when = t + tf * j // (k + 1)
                if start < when <= end:
                    _, _, _, price, _ = _partial(c, i, j / (k + 1))
                    self._update_id += 1
                    out.append((when, 2, stream, json.dumps({
                        "u": self._update_id, "s": mid, "b": f"{price * 0.9999:.8f}", "B": "1.00000000",
                        "a": f"{price * 1.0001:.8f}", "A": "1.00000000"})))
        return out

    def _kline(self, mid: str, interval: str, c: Any, i: int, frac: float, closed: bool, when: int) -> str:
        tf = timeframe_ms(interval)
        o, h, lo, cl, v = _partial(c, i, frac)
        t = int(c.time[i])
        return json.dumps({"e": "kline", "E": when, "s": mid, "k": {
            "t": t, "T": t + tf - 1, "s": mid, "i": interval, "f": 0, "L": 0, "o": f"{o:.8f}", "c": f"{cl:.8f}",
            "h": f"{h:.8f}", "l": f"{lo:.8f}", "v": f"{v:.8f}", "n": 1, "x": closed, "q": "0", "V": "0", "Q": "0",
            "B": "0"}})

    async def _send(self, stream: str, text: str) -> int:
        closing = text.startswith("CLOSE:")
        frames: list[tuple[tuple[str, str, int] | None, str]] = [(None, text.removeprefix("CLOSE:"))]
        key = (stream.split("@", 1)[0], stream.split("@", 1)[1])
        if closing:
            rng = self.rng
            body = json.loads(frames[0][1])["k"]
            ident = (key[0].upper(), str(body["i"]), int(body["t"]))
            frames = [(ident, frames[0][1])]
            if rng.random() < self.drop_p:
                self.counts["dropped"] += 1
                frames = []
            else:
                if rng.random() < self.malformed_p:
                    self.counts["malformed"] += 1
                    frames.insert(0, (None, rng.choice(MALFORMED)))
                if rng.random() < self.duplicate_p:
                    self.counts["duplicated"] += 1
                    frames.append(frames[-1])
                if rng.random() < self.late_update_p:
                    self.counts["late_updates"] += 1
                    late = json.loads(frames[-1][1])
                    late["k"]["x"] = False
                    late["k"]["c"] = f"{float(late['k']['c']) * 1.05:.8f}"
                    late["k"]["h"] = f"{float(late['k']['h']) * 1.05:.8f}"
                    frames.append((None, json.dumps(late)))
            held, self._held[key] = self._held[key], []
            if frames and rng.random() < self.reorder_p:
                self.counts["reordered"] += 1
                self._held[key] = frames  # sent after the stream's next close: out of order
                frames = []
            frames.extend(held)
        sent = 0
        for ident, frame in frames:
            when = time.time()
            for conn in list(self.conns):
                if conn.muted or stream not in conn.streams or conn.ws.closed:
                    continue
                try:
                    await conn.ws.send_str(frame)
                    sent += 1
                except (ConnectionError, RuntimeError):
                    continue
                if ident is not None:
                    self.close_sent.setdefault(ident, when)  # the first time a client was sent this close
        return sent


def _partial(c: Any, i: int, frac: float) -> tuple[float, float, float, float, float]:
    """The forming candle `frac` of the way through: it ends exactly at the candle's values."""
    o, h, lo, cl, v = float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i]), float(c.volume[i])
    if frac >= 1.0:
        return o, h, lo, cl, v
    close = o + (cl - o) * frac
    high = max(o, close) + (h - max(o, cl)) * frac
    low = min(o, close) - (min(o, cl) - lo) * frac
    return o, max(high, o, close), min(low, o, close), close, v * frac
