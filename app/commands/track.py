"""`track`: the live pipeline on a replay, the simulated market or an exchange (a LiveSession)."""

from __future__ import annotations

import argparse
import contextlib
import signal as os_signal
import sys
import threading
from typing import Any

from app.commands.common import Common, db_path, model_path, settings_from


def add_parser(sub: Any, common: Common) -> None:
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
    p.add_argument("--exchange-ws-url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--poll", action="store_true", help=argparse.SUPPRESS)  # the REST loop, for comparisons


def text(r: dict[str, Any]) -> str:
    """The run in one line, then the recorded history as every result leads: net expectancy with its interval,
    the account, the win rate beside its break-even; never a sum of returns."""
    from app.services.reporting import headline as words

    conn = r.get("connection")
    head = f"Connection: {conn['text']}\n" if conn and conn["state"] not in ("replay", "simulated") else ""
    lines = [f"{r['source']}: {r['cycles']} cycles, {r['candles']} candles. This run opened {r['signals_opened']} and "
             f"closed {r['signals_closed']} signals; {r['open']} open now.",
             f"All recorded {r['source']} signals, {r['closed']} closed:"]
    lines += [f"  {x}" for x in words.headline({**r, "signals": r["closed"]})]
    if r["closed"] < 30:
        lines.append(f"  {r['closed']} closed signals: {words.NOT_ENOUGH} to judge (30 needed)")
    bt = r.get("backtest_verdict")
    backtest = "none yet" if bt is None else f"run {bt['run_id']}, {bt['verdict']}"
    lines.append(f"Backtest of these settings: {backtest}. ML filter: {r['ml_filter']}")
    return head + "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.errors import ScalpDeskError
    from app.session.live import LiveSession, SourceSpec

    settings = settings_from(args)
    if args.source == "replay" and not args.data:
        raise ScalpDeskError("--source replay needs --data FILE...")
    spec = SourceSpec(kind=args.source, exchange=args.exchange, exchange_url=args.exchange_url,
                      files=tuple(args.data or ()), symbol=args.symbol, timeframe=args.timeframe,
                      symbols=tuple(args.symbols.split(",")) if args.symbols else (), speed=args.speed,
                      step=args.step, exchange_ws_url=args.exchange_ws_url, polling=args.poll)
    stop = threading.Event()
    os_signal.signal(os_signal.SIGTERM, lambda *_: stop.set())
    opened = closed = 0

    def count(ev: Any) -> None:
        nonlocal opened, closed
        opened += ev.kind == "signal_opened"
        closed += ev.kind == "signal_closed"
        if ev.kind == "connection":  # always said: offline, reconnecting, a refused symbol...
            print(f"connection: {ev.data['text']}", file=sys.stderr, flush=True)
            for feed, problem in ev.data.get("problems", {}).items():
                print(f"  {feed}: {problem}", file=sys.stderr, flush=True)

    with LiveSession(settings, db_path(args), model_path(args, settings), spec, alerts=True,
                     watch_file=False) as session:
        for problem in session.notify_problems:
            print(f"notifications: {problem}", file=sys.stderr)
        session.subscribe(count)
        session.check_connection()
        if args.verbose:
            session.subscribe(lambda ev: print(f"{ev.kind}: {ev.data}", file=sys.stderr)
                              if ev.kind in ("signal_opened", "signal_closed", "drift_alert", "source_status")
                              else None)
        with contextlib.suppress(KeyboardInterrupt):
            session.run(stop, until=lambda: args.cycles is not None and session.pipeline.cycles >= args.cycles)
        candles = sum(len(b) for b in session.pipeline.buffers.values())
        s = session.summary()
        session.history.sync()
        figures = session.history.headline()
        label, cycles, ml = session.source.label, session.pipeline.cycles, session.ml.status
        conn = session.connection()
        live = args.source == "exchange"
        marks = session.marks
        backtest = session.accuracy.verdict()
        fees = session.costs.round_trip_pct
    connection = {**conn.to_dict(), "text": conn.text()} if hasattr(conn, "to_dict") else None
    return {"source": label, "cycles": cycles, "candles": candles, "signals_opened": opened,
            "signals_closed": closed, "open": s["open"], "recorded": s["recorded"], "closed": s["signals"],
            "wins": s["wins"], "losses": s["losses"], "expired": s["expired"], "win_rate": s["win_rate"],
            "ci_low": s["ci_low"], "ci_high": s["ci_high"], "break_even_win_rate": s["break_even_win_rate"],
            "expectancy_pct": s["expectancy_pct"], "expectancy": figures["expectancy"],
            "portfolio": figures["portfolio"], "fees_round_trip_pct": fees, "profit_factor": s["profit_factor"],
            "backtest_verdict": backtest, "ml_filter": ml, "connection": connection, "marks": marks,
            # an exchange that delivered no candle at all (offline, or every symbol refused): not a success
            "exit_code": 1 if live and candles == 0 else 0}
