"""`track`: the live pipeline on a replay, the simulated market or an exchange."""

from __future__ import annotations

import argparse
import contextlib
import signal as os_signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from app.cli import command
from app.commands.common import db_path, model_path, settings_from
from app.errors import ScalpDeskError


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("track", help="run the live pipeline: record every signal and follow it to its outcome")
    common(p)
    p.add_argument("--source", choices=("replay", "sim", "exchange"), default="replay")
    p.add_argument("--data", nargs="+", metavar="FILE", help="history to replay")
    p.add_argument("--symbol", default=None)
    p.add_argument("--speed", type=float, default=0.0, help="replay speed, N x real time (0 = as fast as possible)")
    p.add_argument("--step", type=int, default=2000, help="candles per cycle at speed 0 (default 2000)")
    p.add_argument("--db", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--exchange", default=None)
    p.add_argument("--symbols", default=None)
    p.add_argument("--timeframe", default=None)
    p.add_argument("--cycles", type=int, default=None, help="stop after N cycles (live sources)")
    p.add_argument("--exchange-url", default=None, help=argparse.SUPPRESS)


def _text(r: dict[str, Any]) -> str:
    wr = "not enough history" if r["win_rate"] is None else (
        f"{r['win_rate']:.1%} ({r['ci_low']:.1%}–{r['ci_high']:.1%}, n={r['closed']})")
    return (f"{r['source']}: {r['cycles']} cycles, {r['candles']} candles. This run opened {r['signals_opened']} "
            f"and closed {r['signals_closed']} signals; {r['open']} open now.\n"
            f"All recorded signals: {r['closed']} closed, win rate {wr}, net P&L after fees "
            f"{r['net_pnl_pct']:.2f}%. ML filter: {r['ml_filter']}")


@command("track", _text)
def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.market import sources
    from app.market.files import load_file
    from app.market.replay import ReplaySource
    from app.ml.filter import load_filter
    from app.services.pipeline import LivePipeline, summary
    from app.services.tracker import LiveSignalTracker
    from app.storage import live
    from app.storage.db import Database

    settings = settings_from(args)
    sc = settings.scanner
    cfg = EngineConfig.from_settings(settings)
    costs = Costs(settings.fees.taker_pct, settings.fees.slippage_pct)
    stop = threading.Event()
    os_signal.signal(os_signal.SIGTERM, lambda *_: stop.set())
    with Database(db_path(args)) as db:
        source: Any
        if args.source == "replay":
            if not args.data:
                raise ScalpDeskError("--source replay needs --data FILE...")
            data = [load_file(f, symbol=args.symbol)[0] for f in args.data]
            if args.timeframe:
                data = [c for c in data if c.timeframe == args.timeframe]
            positions = live.feed_positions(db.conn)
            mine = [positions[(c.symbol, c.timeframe)] for c in data if (c.symbol, c.timeframe) in positions]
            start = min(mine) + data[0].tf_ms if len(mine) == len(data) else None
            source = ReplaySource(data, speed=args.speed, step=args.step, start_ms=start)
            symbols, timeframe = source.symbols(), source.timeframe
            clock: Callable[[], float] = lambda: source.now_ms() / 1000.0  # noqa: E731
            interval = 0.0 if args.speed <= 0 else max(0.05, data[0].tf_ms / 1000.0 / args.speed)
        else:
            timeframe = args.timeframe or sc.timeframe
            symbols = args.symbols.split(",") if args.symbols else list(sc.symbols)
            if args.source == "sim":
                source = sources.SimSource(symbols, timeframe, sc.sim_seed, history=sc.history_candles)
            else:
                source = sources.ExchangeSource(args.exchange or sc.exchange, args.exchange_url, symbols)
            clock, interval = time.time, sc.interval_s
        tracker = LiveSignalTracker(db, costs, cfg.max_hold, cfg.sl_atr, cfg.tp_atr, source=source.label)
        ml = load_filter(model_path(args, settings), settings)
        opened = closed = 0

        def count(ev: Any) -> None:
            nonlocal opened, closed
            opened += ev.kind == "signal_opened"
            closed += ev.kind == "signal_closed"

        tracker.subscribe(count)
        telegram = None
        if args.source != "replay":  # a replay of history would send thousands of stale alerts
            from app.services.accuracy import AccuracyTable
            from app.services.notifier import alert_listener, from_settings

            telegram, _email, problems = from_settings(settings)
            for problem in problems:
                print(f"notifications: {problem}", file=sys.stderr)
            if telegram is not None:
                accuracy = AccuracyTable.from_db(db)
                tracker.subscribe(alert_listener(telegram, settings, accuracy.text))
        pipe = LivePipeline(source, symbols, timeframe, cfg, tracker, ml, settings.ml.min_probability,
                            history=sc.history_candles, max_buffer=None if args.source == "replay" else
                            sc.history_candles * 5, catch_up_all=args.source == "replay", clock=clock)
        candles = 0

        def until() -> bool:
            return bool(getattr(source, "finished", False)) or (args.cycles is not None and pipe.cycles >= args.cycles)

        if args.verbose:
            tracker.subscribe(lambda ev: print(f"{ev.kind}: {ev.data}", file=sys.stderr)
                              if ev.kind in ("signal_opened", "signal_closed", "drift_alert", "source_status")
                              else None)
        with contextlib.suppress(KeyboardInterrupt):
            pipe.run(interval, stop, until)
        if telegram is not None:
            telegram.close(timeout=10.0)  # the alerts still queued go out before the command ends
        candles = sum(len(b) for b in pipe.buffers.values())
        s = summary(tracker)
    return {"source": source.label, "cycles": pipe.cycles, "candles": candles, "signals_opened": opened,
            "signals_closed": closed, "open": s["open"], "recorded": s["recorded"], "closed": s["signals"],
            "wins": s["wins"], "losses": s["losses"], "expired": s["expired"], "win_rate": s["win_rate"],
            "ci_low": s["ci_low"], "ci_high": s["ci_high"], "net_pnl_pct": s["net_pnl_pct"],
            "profit_factor": s["profit_factor"], "ml_filter": ml.status}
