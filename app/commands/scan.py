"""`scan`: the signals of one scan cycle."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, model_path, settings_from, table


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("scan", help="signals of one scan cycle")
    common(p)
    p.add_argument("--source", choices=("sim", "exchange", "files"), default="sim")
    p.add_argument("--exchange", default=None, help="ccxt exchange id (default from settings)")
    p.add_argument("--symbols", default=None, help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    p.add_argument("--timeframe", default=None)
    p.add_argument("--data", nargs="+", metavar="FILE", help="history files for --source files")
    p.add_argument("--symbol", default=None, help="symbol of --data files whose name does not say it")
    p.add_argument("--lookback", type=int, default=1, help="closed candles to look at per symbol (default 1)")
    p.add_argument("--seed", type=int, default=None, help="simulated market seed")
    p.add_argument("--model", default=None, help="ML model file (default: the data folder's)")
    p.add_argument("--exchange-url", default=None, help=argparse.SUPPRESS)


def text(r: dict[str, Any]) -> str:
    lines = [r["offline"]] if r.get("offline") else []
    lines.append(f"Source: {r['source']}   timeframe {r['timeframe']}   ML filter: {r['ml_filter']['status']}")
    rows = [[s["symbol"], s["side"], f"{s['confluence_score']:.1f}", f"{s['entry']:.6g}", f"{s['stop_loss']:.6g}",
             f"{s['take_profit']:.6g}", ",".join(s["patterns"]) or "-",
             "-" if s["ml_probability"] is None else f"{s['ml_probability']:.2f}"] for s in r["signals"]]
    if rows:
        lines.append(table(rows, ["symbol", "side", "score", "entry", "SL", "TP", "patterns", "ml_p"]))
    elif r.get("offline") or (r["errors"] and not r["last_candle"]):
        lines.append("No symbol got candles, so nothing was scanned.")
    else:
        lines.append("No signal on the last closed candle(s).")
    for sym, err in r["errors"].items():
        lines.append(f"  {sym}: {err}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.signals import EngineConfig
    from app.errors import ScalpDeskError
    from app.market import sources
    from app.ml.filter import load_filter
    from app.services.live.scanner import scan_once

    settings = settings_from(args)
    sc = settings.scanner
    timeframe = args.timeframe or sc.timeframe
    symbols = args.symbols.split(",") if args.symbols else list(sc.symbols)
    source: sources.CandleSource
    if args.source == "sim":
        source = sources.SimSource(symbols, timeframe, sc.sim_seed if args.seed is None else args.seed,
                                   history=sc.history_candles)
    elif args.source == "files":
        if not args.data:
            raise ScalpDeskError("--source files needs --data FILE...")
        fsrc = sources.FileSource(args.data, symbol=args.symbol, timeframe=args.timeframe)
        source = fsrc
        symbols = args.symbols.split(",") if args.symbols else fsrc.symbols()
        timeframe = args.timeframe or fsrc.timeframes()[0]
    if args.lookback < 1:
        raise ScalpDeskError("--lookback must be at least 1")
    offline = None
    if args.source == "exchange":
        exchange = sources.ExchangeSource(args.exchange or sc.exchange, base_url=args.exchange_url, watch=symbols)
        source = exchange
        offline = _connect(exchange, symbols, timeframe)
    ml = load_filter(model_path(args, settings), settings)
    if offline is not None:  # fail fast: one clear line, no per-symbol retries
        result = scan_once(source, [], timeframe, EngineConfig.from_settings(settings), ml=ml)
        out = result.to_dict()
        out["errors"] = {sym: offline for sym in symbols}
    else:
        result = scan_once(source, symbols, timeframe, EngineConfig.from_settings(settings),
                           history=sc.history_candles, lookback=args.lookback, ml=ml)
        out = result.to_dict()
    out["offline"] = offline
    # nothing scanned (offline, or no symbol got candles) is a failure the caller can see
    out["exit_code"] = 1 if not out["last_candle"] else 0
    return out


def _connect(source: Any, symbols: list[str], timeframe: str) -> str | None:
    """Load the markets once and check the request against them: None when the exchange answered, else the
    "could not reach <exchange>" line. A symbol it does not list or a timeframe it does not offer raise."""
    from app.errors import ExchangeError

    client = source.client
    client.check_timeframes([timeframe])
    try:
        client.load_markets()
    except ExchangeError as exc:
        if not exc.retryable:
            raise
        return str(exc)
    client.check_symbols(symbols)
    return None
