"""`optimize thresholds|patterns`: walk-forward sweeps of the stored backtest signals."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, db_path, progress_printer, settings_from, table


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("optimize", help="tune the minimum score or the pattern points, validated out of sample")
    common(p)
    p.add_argument("what", choices=("thresholds", "patterns"))
    p.add_argument("--db", default=None, help="database with backtest results (default: the user data folder's)")
    p.add_argument("--run", type=int, default=None, help="backtest run id (default: the latest)")
    p.add_argument("--objective", choices=("seed", "expectancy", "profit_factor"), default=None,
                   help="seed (default) = win_rate x 0.7 + profit_factor x 0.3, with the win rate as a fraction "
                        "(0..1) and the profit factor as a ratio (capped at 10)")
    p.add_argument("--apply", action="store_true", help="write the result into the user configuration "
                   "(the previous file is kept as config.json.bak)")


def _f(x: Any, fmt: str = ".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def text(r: dict[str, Any]) -> str:
    lines = []
    if r["what"] == "thresholds":
        rows = [[row["threshold"], row["in_sample"]["signals"], _f(row["in_sample"]["win_rate"]),
                 _f(row["in_sample"]["profit_factor"], ".2f"), _f(row["in_sample"]["objective"]),
                 row["out_of_sample"]["signals"], _f(row["out_of_sample"]["win_rate"]),
                 _f(row["out_of_sample"]["profit_factor"], ".2f"), _f(row["out_of_sample"]["objective"])]
                for row in r["rows"]]
        lines.append(table(rows, ["min score", "IS n", "IS win", "IS PF", "IS obj", "OOS n", "OOS win", "OOS PF",
                                  "OOS obj"]))
        lines.append(f"Objective: {r['objective_help']}")
        wf = r["walk_forward_result"]
        lines.append(f"Walk-forward (each fold's in-sample choice on the next block): {wf['signals']} signals, "
                     f"win rate {_f(wf['win_rate'])}, expectancy {_f(wf['expectancy_pct'])}%")
        lines.append(f"Chosen threshold: {r['chosen_threshold'] if r['chosen_threshold'] is not None else 'none'}")
    else:
        rows = [[p["pattern"], p["count"], _f(p["win_rate"]), _f(p["shrunk_win_rate"]), _f(p["current_points"], ".0f"),
                 _f(p["points"], ".0f")] for p in r["patterns"]]
        lines.append(table(rows, ["pattern", "n", "win rate", "shrunk", "points now", "new points"]))
        chk = r["out_of_sample_check"]
        lines.append(f"Out of sample: current objective {_f(chk['current']['objective'])} on "
                     f"{chk['current']['signals']} signals, new {_f(chk['new']['objective'])} on "
                     f"{chk['new']['signals']} signals")
    if r.get("note"):
        lines.append(f"Note: {r['note']}")
    if r.get("message"):
        lines.append(r["message"])
    lines.append(f"Applied to {r['applied_to']}" if r.get("applied_to") else "Nothing written (use --apply).")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.services.research.optimizers import public
    from app.session import jobs

    settings = settings_from(args)
    result = jobs.optimise(args.what, settings, db_path(args), args.objective, args.run, apply=args.apply,
                           config_path=settings.source_path if args.config else None,
                           control=jobs.Control(progress_printer(args)))
    return public(result)
