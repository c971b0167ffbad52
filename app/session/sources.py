"""Where a live session's candles come from: the spec of a source (the settings', the simulated market, an exchange,
a replay of files) and `open_source`, the only place a source is chosen and built, with what to watch on it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from app.errors import ConfigError, DataError, ScalpDeskError
from app.market.sources import CandleSource
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSpec:
    """Where candles come from. `kind` "settings" means: what the settings' scanner.source says."""

    kind: str = "settings"  # settings / sim / exchange / replay
    exchange: str | None = None
    exchange_url: str | None = None  # tests: a fake exchange on 127.0.0.1 (REST)
    files: tuple[str, ...] = ()
    symbol: str | None = None
    timeframe: str | None = None
    symbols: tuple[str, ...] = ()
    speed: float = 0.0
    step: int = 2000
    seed: int | None = None
    exchange_ws_url: str | None = None  # tests: the fake exchange's websocket endpoint
    polling: bool = False  # exchange: the REST loop that asks every symbol each cycle instead of the stream
    clock_ms: Callable[[], int] | None = field(default=None, compare=False)  # tests: the fake exchange's clock

    def resolved(self, settings: Settings) -> SourceSpec:
        if self.kind != "settings":
            return self
        return replace(self, kind=settings.scanner.source)

    @property
    def is_replay(self) -> bool:
        return self.kind == "replay"


@dataclass
class Watch:
    """What the pipeline watches, derived from settings and the source."""

    symbols: list[str]
    timeframes: list[str]
    interval_s: float
    history: int
    max_buffer: int | None
    catch_up_all: bool
    clock: Callable[[], float] = field(default=time.time)


def timeframes_of(settings: Settings, override: str | None = None) -> list[str]:
    if override:
        return [override]
    return list(dict.fromkeys([settings.scanner.timeframe, *settings.scanner.extra_timeframes]))



def open_source(spec: SourceSpec, settings: Settings, positions: dict[tuple[str, str], int] | None = None,
                also: Sequence[str] = ()) -> tuple[CandleSource, Watch]:
    """The candle source of a spec and what to watch on it. A replay whose every series has a stored position
    (`positions`, of source REPLAY) continues after it. An exchange streams (app.market.exchange_stream): its
    markets are loaded here (failing fast when offline, which is a state, not an error); a symbol it does not list,
    a timeframe it does not offer or an unknown exchange id raise ScalpDeskError before anything starts. The
    simulated market also makes the pairs in `also` (those of its open signals, watched or not)."""
    from app.market import sources

    sc = settings.scanner
    symbols = list(spec.symbols) or list(sc.symbols)
    tfs = timeframes_of(settings, spec.timeframe)
    if spec.kind == "replay":
        from app.market.files import load_file
        from app.market.replay import ReplaySource

        if not spec.files:
            raise ScalpDeskError("a replay needs history files (--data FILE...)")
        data = [load_file(f, symbol=spec.symbol)[0] for f in spec.files]
        if spec.timeframe:
            data = [c for c in data if c.timeframe == spec.timeframe]
            if not data:
                raise DataError(f"none of the files holds {spec.timeframe} candles")
        known = positions or {}
        mine = [known[(c.symbol, c.timeframe)] for c in data if (c.symbol, c.timeframe) in known]
        start = min(mine) + data[0].tf_ms if data and len(mine) == len(data) else None
        replay = ReplaySource(data, speed=spec.speed, step=spec.step, start_ms=start)
        interval = 0.0 if spec.speed <= 0 else max(0.05, data[0].tf_ms / 1000.0 / spec.speed)
        return replay, Watch(replay.symbols(), [replay.timeframe], interval, sc.history_candles, None, True,
                             lambda: replay.now_ms() / 1000.0)
    if spec.kind == "sim":
        if len(tfs) > 1:
            log.info("the simulated market runs one timeframe: %s (extra timeframes ignored)", tfs[0])
        made = symbols + [x for x in also if x not in symbols]
        sim = sources.SimSource(made, tfs[0], sc.sim_seed if spec.seed is None else spec.seed,
                                history=sc.history_candles)
        return sim, Watch(symbols, tfs[:1], sc.interval_s, sc.history_candles, sc.history_candles * 5, False)
    if spec.kind == "exchange":
        exchange = spec.exchange or sc.exchange
        if spec.polling:
            from app.market.exchange import ExchangeClient

            client = ExchangeClient(exchange, base_url=spec.exchange_url, clock_ms=spec.clock_ms)
            ex = sources.ExchangeSource(exchange, spec.exchange_url, symbols, client=client)
            return ex, Watch(symbols, tfs, sc.interval_s, sc.history_candles, sc.history_candles * 5, False)
        from app.market.exchange_stream import ExchangeStream

        stream = ExchangeStream(exchange, symbols, tfs, universe="list" if spec.symbols else sc.universe,
                                top_n=sc.top_n, quote=sc.quote, history=sc.history_candles,
                                base_url=spec.exchange_url, ws_url=spec.exchange_ws_url, clock_ms=spec.clock_ms)
        return stream, Watch(stream.symbols(), tfs, sc.interval_s, sc.history_candles, sc.history_candles * 5,
                             False)
    raise ConfigError(f"unknown source '{spec.kind}'; expected sim, exchange or replay")
