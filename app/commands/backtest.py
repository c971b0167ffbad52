"""`backtest`: signals over history, outcomes decided, stored, summarised."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from app.cli import command
from app.commands.common import db_path, settings_from, table
from app.core.stats import accuracy_text


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("backtest", help="run the signal engine over history and decide every outcome")
    common(p)
    p.add_argument("--data", nargs="+", metavar="FILE", help="feather, CSV, JSON or Binance Vision zip files")
    p.add_argument("--sim", type=int, metavar="N", help="instead of files: N simulated candles per symbol")
    p.add_argument("--timeframe", default=None, help="use only files of this timeframe (finer ones resolve "
                   "ambiguous candles)")
    p.add_argument("--symbol", default=None, help="symbol for files whose name does not say it")
    p.add_argument("--db", default=None, help="database file (default: the user data folder's)")
    p.add_argument("--min-score", type=float, default=None,
                   help="store signals from this score up (default: the configured minimum; use 50 before "
                        "optimising the threshold)")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes across symbols (default 2)")
    p.add_argument("--dask-scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the per-symbol tasks on a Dask cluster")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def _text(r: dict[str, Any]) -> str:
    pf = "n/a" if r["profit_factor"] is None else f"{r['profit_factor']:.2f}"
    exp = "n/a" if r["expectancy_pct"] is None else f"{r['expectancy_pct']:.3f}%"
    wr = accuracy_text({"n": r["signals"], "win_rate": r["win_rate"], "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"]})
    lines = [
        *(["SIMULATED market: these numbers are not from real trading."] if r.get("source") == "SIMULATED" else []),
        f"Backtest run {r['run_id']}: {r['candles']} candles, {r['signals']} decided signals "
        f"({r['undecided']} undecided at the end of data or across gaps, not counted)",
        f"Wins {r['wins']}  losses {r['losses']} (ambiguous {r['ambiguous']})  expired {r['expired']}",
        f"Win rate {wr}   profit factor {pf}   expectancy {exp} per signal after "
        f"{r['fees_round_trip_pct']:.2f}% round-trip costs   max drawdown {r['max_drawdown_pct']:.2f}%",
    ]
    for name in ("in_sample", "out_of_sample"):
        h = r.get(name)
        if h:
            exp_h = "n/a" if h["expectancy_pct"] is None else f"{h['expectancy_pct']:.3f}%"
            lines.append(f"{name.replace('_', ' ')}: {h['signals']} signals, win rate "
                         f"{accuracy_text({'n': h['signals'], **h})}, expectancy {exp_h}")
    rows = [[f"{b['lo']:.0f}-{b['hi']:.0f}", b["n"], accuracy_text(b)] for b in r["by_score"]]
    if rows:
        lines += ["", table(rows, ["score", "n", "win rate (95% CI)"])]
    return "\n".join(lines)


@command("backtest", _text)
def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.errors import ScalpDeskError
    from app.services.backtester import run_backtest
    from app.services.datasets import load_datasets
    from app.storage.db import Database

    settings = settings_from(args)
    if not args.data and not args.sim:
        raise ScalpDeskError("backtest needs --data FILE... (or --sim N for simulated candles)")
    datasets, fine = load_datasets(args.data, args.sim, args.timeframe, args.symbol, settings)
    cfg = EngineConfig.from_settings(settings)
    costs = Costs(settings.fees.taker_pct, settings.fees.slippage_pct)

    def progress(frac: float, msg: str) -> None:
        if args.verbose:
            print(f"[{frac * 100:5.1f}%] {msg}", file=sys.stderr)

    source = "SIMULATED" if args.sim else "FILES"
    with Database(db_path(args)) as db:
        result = run_backtest(datasets, {**settings.to_dict(), "data_source": source}, cfg, costs, db,
                              min_score=args.min_score, fine=fine, progress=progress, n_jobs=max(1, args.jobs),
                              dask_scheduler=args.dask_scheduler)
    result["source"] = source
    return result
