"""A streamed live session against the fake Binance (REST + websocket) on 127.0.0.1, and the replay and backtest
of the same candles it is compared with. Shared by the stream tests and tests/benchmarks/bench_stream.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.candles import Candles
from app.market.simulated import generate
from tests.fake_binance import FakeBinance, canonical
from tests.fake_binance_ws import FakeBinanceStream

TF = 60_000
START = 1_700_000_000_000 - (1_700_000_000_000 % TF)
ROWS = ("symbol", "timeframe", "side", "signal_time", "status", "entry", "stop_loss", "take_profit", "exit_price",
        "pnl_pct", "closed_at", "confluence_score")


def market(n_symbols: int, candles: int, seed: int = 5, start_ms: int = START) -> dict[str, Candles]:
    """Simulated 1m candles as the exchange's 8-decimal strings carry them, by unified symbol."""
    names = ["BTC", "ETH", "SOL", "XRP", "DOGE", "AVAX", "LINK", "LTC", "PEPE", "WIF"]
    symbols = [f"{names[i]}/USDT" if i < len(names) else f"C{i:03d}/USDT" for i in range(n_symbols)]
    return {s: canonical(c) for s, c in generate(symbols, "1m", candles, seed=seed, start_ms=start_ms).items()}


def by_id(data: dict[str, Candles]) -> dict[str, Candles]:
    return {s.replace("/", ""): c for s, c in data.items()}


class Exchange:
    """The fake exchange (REST + websocket) serving `data` from market time `now_ms`."""

    def __init__(self, data: dict[str, Candles], now_ms: int, recordings: Path | None = None, seed: int = 0,
                 extra_markets: dict[str, dict[str, Any]] | None = None) -> None:
        self.data = data
        self.rest = FakeBinance(recordings, by_id(data), now_ms, extra_markets=extra_markets)
        self.ws = FakeBinanceStream(self.rest, seed=seed)

    def __enter__(self) -> Exchange:
        self.rest.__enter__()
        self.ws.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.__exit__(*exc)
        self.rest.__exit__(*exc)

    @property
    def now_ms(self) -> int:
        return self.rest.now_ms

    def clock(self) -> int:
        return self.rest.now_ms

    def spec_kwargs(self) -> dict[str, Any]:
        return {"kind": "exchange", "exchange": "binance", "exchange_url": self.rest.url,
                "exchange_ws_url": self.ws.url, "clock_ms": self.clock}

    def drive(self, to_ms: int, step_ms: int = 5_000, pause_s: float = 0.01,
              at: dict[int, Callable[[], None]] | None = None) -> None:
        """Advance market time to `to_ms` in steps, pausing between them; `at` runs actions at market times."""
        actions = dict(sorted((at or {}).items()))
        while self.rest.now_ms < to_ms:
            nxt = min(to_ms, self.rest.now_ms + step_ms)
            for when in [w for w in actions if w <= nxt]:
                self.ws.advance(when)
                actions.pop(when)()
            self.ws.advance(nxt)
            time.sleep(pause_s)


@dataclass
class Running:
    """A LiveSession on its own thread (its database belongs to that thread)."""

    session: Any = None
    error: BaseException | None = None
    events: list[Any] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    started: threading.Event = field(default_factory=threading.Event)

    def positions(self) -> dict[tuple[str, str], int]:
        s = self.session
        return dict(s.pipeline.positions) if s is not None else {}

    def buffers(self) -> int:
        s = self.session
        return len(s.pipeline.buffers) if s is not None else 0

    def wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.error is not None:
                raise AssertionError(f"the session failed: {self.error!r}")
            if cond():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(60)


def start_session(settings: Any, db_path: Path, spec: Any, listener: Callable[[Any], None] | None = None,
                  model_path: Path | None = None, keep_events: bool = True) -> Running:
    from app.session.live import LiveSession

    run = Running()

    def main() -> None:
        try:
            session = LiveSession(settings, db_path, model_path or db_path.with_suffix(".model"), spec,
                                  alerts=False, watch_file=False)
        except BaseException as exc:
            run.error = exc
            run.started.set()
            return
        try:
            run.session = session
            if keep_events:  # a benchmark keeps none: an hour's events would be its own memory growth
                session.subscribe(run.events.append)
            if listener is not None:
                session.subscribe(listener)
            run.started.set()
            session.run(run.stop)
        except BaseException as exc:
            run.error = exc
        finally:
            session.close()

    run.thread = threading.Thread(target=main, name="session", daemon=True)
    run.thread.start()
    run.started.wait(60)
    if run.error is not None:
        raise run.error
    return run


def live_rows(db_path: Path, since_ms: int, source: str = "LIVE binance") -> list[tuple[Any, ...]]:
    from app.storage.db import Database

    with Database(db_path) as db:
        rows = db.query(f"SELECT {', '.join(ROWS)} FROM live_view WHERE source = ? AND signal_time >= ?",
                        (source, since_ms))
    return sorted(tuple(r[c] for c in ROWS) for r in rows)


def cut(data: dict[str, Candles], first_ms: int, last_ms: int) -> list[Candles]:
    """The candles a session saw: open times first_ms..last_ms."""
    out = []
    for c in data.values():
        a = int(np.searchsorted(c.time, first_ms, side="left"))
        b = int(np.searchsorted(c.time, last_ms, side="right"))
        out.append(c.slice(a, b))
    return out


def replay_rows(data: list[Candles], settings: Any, db_path: Path, since_ms: int) -> list[tuple[Any, ...]]:
    """The same candles through the live pipeline by replay (as `track --source replay` runs it)."""
    from app.market.replay import ReplaySource
    from app.services.live.pipeline import LivePipeline
    from app.services.live.tracker import LiveSignalTracker
    from app.session.live import costs_of, engine_config
    from app.storage.db import Database

    cfg = engine_config(settings)
    with Database(db_path) as db:
        src = ReplaySource(data, speed=0, step=500)
        tracker = LiveSignalTracker(db, costs_of(settings), cfg.max_hold, cfg.sl_atr, cfg.tp_atr, source="REPLAY")
        pipe = LivePipeline(src, src.symbols(), src.timeframe, cfg, tracker, catch_up_all=True,
                            history=settings.scanner.history_candles, clock=lambda: src.now_ms() / 1000)
        while True:
            pipe.cycle()
            if src.finished:
                break
            src.advance()
    return live_rows(db_path, since_ms, source="REPLAY")


def backtest_mismatches(data: list[Candles], settings: Any, db_path: Path, live: list[tuple[Any, ...]],
                        since_ms: int) -> list[str]:
    """Every decided backtest signal from `since_ms` must be a closed live row with the same outcome; a live row the
    backtest lacks may only be one whose horizon runs past the data's end. Returns what differs."""
    from app.services.research.backtester import run_backtest
    from app.session.live import costs_of, engine_config
    from app.storage.db import Database

    cfg = engine_config(settings)
    closed = {(r[0], r[2], r[3]): r for r in live if r[4] != "OPEN"}
    bad = []
    with Database(db_path) as db:
        res = run_backtest(data, {}, cfg, costs_of(settings), db, n_jobs=1, draws=5)
        bt = db.query("SELECT * FROM backtest_signals WHERE run_id = ? AND signal_time >= ?", (res.run_id, since_ms))
    for b in bt:
        r = closed.pop((b["symbol"], b["side"], b["signal_time"]), None)
        want = (b["outcome"], b["entry"], b["stop_loss"], b["take_profit"], b["exit_price"], b["pnl_pct"],
                b["exit_time"], b["confluence_score"])
        if r is None or (r[4], *r[5:]) != want:
            bad.append(f"backtest {b['symbol']} {b['side']} {b['signal_time']}: {want} vs live {r}")
    ends = {c.symbol: int(c.time[-1]) for c in data}
    for (sym, _side, t), r in closed.items():
        if t + cfg.max_hold * TF <= ends[sym]:
            bad.append(f"live only: {r}")
    return bad
