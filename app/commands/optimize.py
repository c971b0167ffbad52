"""`optimize thresholds|patterns`: walk-forward sweeps of the stored backtest signals."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.cli import command
from app.commands.common import db_path, settings_from, table


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
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


def _text(r: dict[str, Any]) -> str:
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


@command("optimize", _text)
def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.candles import timeframe_ms
    from app.errors import ScalpDeskError
    from app.services import optimizer
    from app.settings import update_user_config
    from app.storage import backtests as repo
    from app.storage.db import Database

    settings = settings_from(args)
    kind = args.objective or settings.optimization.objective
    with Database(db_path(args)) as db:
        rid = args.run if args.run is not None else repo.latest_run_id(db)
        if rid is None:
            raise ScalpDeskError(f"{db.path}: no finished backtest; run `python -m app backtest` first")
        run_info = repo.get_run(db, rid)
        if run_info is None:
            raise ScalpDeskError(f"{db.path}: no backtest run {rid}")
        cols = repo.load_signals(db, rid)
    tfs = {str(t) for t in cols["timeframe"]} or {"1m"}
    horizon = int(run_info["max_hold"]) * max(timeframe_ms(t) for t in tfs)
    stored = optimizer.StoredSignals.from_columns(cols, horizon)
    config_file = settings.source_path if args.config else None
    if args.what == "thresholds":
        result = optimizer.optimise_thresholds(stored, kind, settings.optimization.folds,
                                               settings.optimization.min_signals, float(run_info["min_score"]))
        if args.apply:
            if result["chosen_threshold"] is None:
                raise ScalpDeskError(result["message"])
            chosen = next(r for r in result["rows"] if r["threshold"] == result["chosen_threshold"])
            prov = optimizer.provenance(run_info, kind, len(stored.time), {
                "out_of_sample": chosen["out_of_sample"], "in_sample": chosen["in_sample"],
                "walk_forward_result": result["walk_forward_result"]})
            new = update_user_config({"confluence.min_score": float(result["chosen_threshold"]),
                                      "confluence.provenance": prov}, config_file)
            result["applied_to"] = new.source_path
    else:
        run_settings = run_info["settings"] or settings.to_dict()
        weights = run_settings.get("confluence", {}).get("weights") or settings.to_dict()["confluence"]["weights"]
        total = sum(weights.values())
        points_now = {k: float(v["points"]) for k, v in
                      (run_settings.get("pattern_scores", {}).get("patterns") or {}).items()} or \
            settings.get_pattern_points()
        result = optimizer.optimise_patterns(stored, points_now, float(weights["pattern"]),
                                             100.0 / total if total else 0.0, settings.confluence.min_score, kind,
                                             min_signals=settings.optimization.min_signals)
        if args.apply:
            if result["message"]:
                raise ScalpDeskError(result["message"])
            changes: dict[str, Any] = {}
            for p in result["patterns"]:
                changes[f"pattern_scores.patterns.{p['pattern']}"] = {
                    "points": p["points"], "win_rate": p["win_rate"], "count": p["count"]}
            changes["pattern_scores.provenance"] = optimizer.provenance(run_info, kind, len(stored.time), {
                "out_of_sample_check": result["out_of_sample_check"], "prior_strength": optimizer.PRIOR_STRENGTH})
            new = update_user_config(changes, config_file)
            result["applied_to"] = new.source_path
    result["what"] = args.what
    result["run_id"] = rid
    return result
