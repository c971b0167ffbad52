"""`backtest`: signals over history, outcomes decided, compared with random entries, stored, summarised."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, db_path, progress_printer, settings_from
from app.commands.text import backtest_text


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("backtest", help="run the signal engine over history: expectancy after costs against random "
                                        "entries, and the verdict")
    common(p)
    p.add_argument("--data", nargs="+", metavar="FILE", help="feather, CSV, JSON or Binance Vision zip files")
    p.add_argument("--sim", type=int, metavar="N", help="instead of files: N simulated candles per symbol")
    p.add_argument("--timeframe", default=None, help="use only files of this timeframe (finer ones resolve "
                   "ambiguous candles)")
    p.add_argument("--symbol", default=None, help="symbol for files whose name does not say it")
    p.add_argument("--db", default=None, help="database file (default: the user data folder's)")
    p.add_argument("--min-score", type=float, default=None,
                   help="store signals from this score up (default 50, the threshold sweep's floor); the headline "
                        "figures always cover the signals at or above the configured minimum score")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers across symbols (default: chosen by "
                   "what it gains; threads)")
    p.add_argument("--dask-scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run the per-symbol tasks on a Dask cluster")


def text(r: dict[str, Any]) -> str:
    return backtest_text(r)


def run(args: argparse.Namespace) -> Any:
    from app.errors import ScalpDeskError
    from app.session import jobs

    settings = settings_from(args)
    if not args.data and not args.sim:
        raise ScalpDeskError("backtest needs --data FILE... (or --sim N for simulated candles)")
    if args.dask_scheduler:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ScalpDeskError("--dask-scheduler needs dask[distributed], which this build does not include "
                                 "(install ScalpDesk from source with pip install -e '.[dask]')")
    req = jobs.BacktestRequest(files=tuple(args.data or ()), sim_candles=args.sim, timeframe=args.timeframe,
                               symbol=args.symbol, min_score=args.min_score, jobs=args.jobs,
                               dask_scheduler=args.dask_scheduler)
    return jobs.backtest(settings, db_path(args), req, jobs.Control(progress_printer(args)))
