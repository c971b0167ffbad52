"""`optimize thresholds|patterns|strategy`: choose on training data, judge on an untouched holdout, count trials.

thresholds and patterns work on a stored backtest run; strategy searches stop, target, hold, score, side and
timeframe on history files (app.services.research.search)."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, db_path, progress_printer, settings_from, table


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("optimize", help="tune the minimum score, the pattern points, or search a whole strategy; "
                                        "chosen on training data, judged on an untouched holdout")
    common(p)
    p.add_argument("what", choices=("thresholds", "patterns", "strategy"))
    p.add_argument("--data", nargs="+", metavar="FILE", help="strategy: history files (feather, CSV, JSON, zip)")
    p.add_argument("--timeframes", default=None, help="strategy: e.g. 1m,5m (default: every timeframe in the files)")
    p.add_argument("--symbol", default=None, help="strategy: symbol of files whose name does not say it")
    p.add_argument("--min-scores", default=None, help="strategy: grid of minimum scores (default 50,55,...,85)")
    p.add_argument("--sl", default=None, help="strategy: stops in ATR (default 1,1.5,2.5)")
    p.add_argument("--tp", default=None, help="strategy: targets in ATR (default 1.5,2.5,4)")
    p.add_argument("--hold", default=None, help="strategy: max holds in candles (default 12,24,48)")
    p.add_argument("--sides", default=None, help="strategy: both,long,short (default all three)")
    p.add_argument("--min-trades", type=int, default=300, help="strategy: fewest training trades a setting needs "
                   "to be chosen (default 300)")
    p.add_argument("--db", default=None, help="database with backtest results (default: the user data folder's)")
    p.add_argument("--run", type=int, default=None, help="backtest run id (default: the latest)")
    p.add_argument("--objective", choices=("seed", "expectancy", "profit_factor"), default=None,
                   help="expectancy (default) = net result per signal after costs; seed = win_rate x 0.7 + "
                        "profit_factor x 0.3 (win rate as a fraction, profit factor capped at 10)")
    p.add_argument("--apply", action="store_true", help="write the result into the user configuration "
                   "(the previous file is kept as config.json.bak)")


def _f(x: Any, fmt: str = ".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _floats(text: str | None) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",")) if text else ()


def strategy_text(r: dict[str, Any]) -> str:
    from app.services.reporting.headline import pct

    lines = [r["message"].rstrip(".") + "."]
    sel = r.get("selected")
    if sel:
        tr, ho = r["train"], r["holdout"]
        lines.append(f"Chosen on training data ({tr['n']:,} trades): {sel['side']} {sel['timeframe']}, score >= "
                     f"{sel['min_score']:g}, stop {sel['sl_atr']:g} ATR, target {sel['tp_atr']:g} ATR, hold "
                     f"{sel['max_hold']}")
        for name, part in (("Training", tr), ("Holdout", ho)):
            e, g = part.get("expectancy") or {}, part.get("edge") or {}
            lines.append(f"{name}: net expectancy {pct(e.get('pct'))} per trade (95%: {pct(e.get('ci_low'))} to "
                         f"{pct(e.get('ci_high'))}), edge over chance {pct(g.get('pct'))} (95%: "
                         f"{pct(g.get('ci_low'))} to {pct(g.get('ci_high'))})"
                         + (f", {part['verdict']}" if part.get("verdict") else ""))
        wf = tr.get("walk_forward") or {}
        lines.append(f"Walk-forward inside training: {wf.get('n', 0):,} trades, {pct(wf.get('expectancy_pct'))} "
                     f"per trade")
        port = ho.get("portfolio") or {}
        if port:
            lines.append(f"Holdout account: {port['return_pct']:+.1f}% return, max drawdown "
                         f"{port['max_drawdown_pct']:.1f}% ({port['trades']} trades)")

    def num(x: Any, fmt: str) -> str:
        return "n/a" if x is None else format(x, fmt)

    lines.append(f"Trials {r['trials']:,}; probability of backtest overfitting {num(r['pbo'], '.2f')}; deflated "
                 f"Sharpe {num(r['deflated_sharpe'], '.2f')}; SPA p-value {num(r['spa_p_value'], '.3f')}")
    lines.append(f"Passed: {'yes' if r['passed'] else 'no'}; "
                 + (f"applied to {r['applied_to']}" if r["applied"] else "settings unchanged"))
    return "\n".join(lines)


def text(r: dict[str, Any]) -> str:
    if "trials" in r and "grid" in r:
        return strategy_text(r)
    lines = [f"SIMULATED market: backtest run {r['run_id']} is simulated, not real trading."] \
        if r.get("source") == "SIMULATED" else []
    if r["what"] == "thresholds":
        rows = [[row["threshold"], *(cell for part in ("in_sample", "out_of_sample") for cell in (
                    row[part]["signals"], _f(row[part]["expectancy_pct"], "+.3f"), _f(row[part]["win_rate"]),
                    _f(row[part]["break_even_win_rate"]), _f(row[part]["profit_factor"], ".2f")))]
                for row in r["rows"]]
        lines.append(table(rows, ["min score", "train n", "train exp%", "train win", "train BE win", "train PF",
                                  "holdout n", "holdout exp%", "holdout win", "holdout BE win", "holdout PF"]))
        lines.append("BE win = the win rate at which these trades' average win and loss break even after costs.")
        lines.append(f"Chosen on the training part only ({r['trials']} thresholds tried), objective {r['objective']}; "
                     f"the holdout columns were not read while choosing.")
        wf = r["walk_forward_result"]
        lines.append(f"Walk-forward inside the training part: {wf['signals']} signals, expectancy "
                     f"{_f(wf['expectancy_pct'], '+.3f')}%")
        ho = r.get("holdout")
        if ho:
            e = ho["expectancy"]
            lines.append(f"Chosen threshold {r['chosen_threshold']}: on the holdout {e['n']} signals, net expectancy "
                         f"{_f(e['pct'], '+.3f')}% (95%: {_f(e['ci_low'], '+.3f')} to {_f(e['ci_high'], '+.3f')})")
        else:
            lines.append("Chosen threshold: none")
    else:
        rows = [[p["pattern"], p["count"], _f(p["win_rate"]), _f(p["break_even_win_rate"]), _f(p["shrunk_win_rate"]),
                 _f(p["current_points"], ".0f"), _f(p["points"], ".0f")] for p in r["patterns"]]
        lines.append(table(rows, ["pattern", "n", "win rate", "BE win", "shrunk", "points now", "new points"]))
        chk = r["out_of_sample_check"]
        lines.append(f"On the holdout: current objective {_f(chk['current']['objective'])} on "
                     f"{chk['current']['signals']} signals, new {_f(chk['new']['objective'])} on "
                     f"{chk['new']['signals']} signals")
    if r.get("note"):
        lines.append(f"Note: {r['note']}")
    if r.get("message"):
        lines.append(r["message"])
    lines.append(f"Applied to {r['applied_to']}" if r.get("applied_to") else "Nothing written (use --apply).")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> Any:
    from app.services.research.optimizers import public
    from app.session import jobs

    settings = settings_from(args)
    config_path = settings.source_path if args.config else None
    if args.what == "strategy":
        req = jobs.SearchRequest(
            files=tuple(args.data or ()), timeframes=tuple(t for t in (args.timeframes or "").split(",") if t),
            symbol=args.symbol, min_score=_floats(args.min_scores), sl_atr=_floats(args.sl), tp_atr=_floats(args.tp),
            max_hold=tuple(int(x) for x in _floats(args.hold)),
            sides=tuple(x for x in (args.sides or "").split(",") if x), min_trades=args.min_trades,
            apply=args.apply, config_path=config_path)
        return jobs.strategy_search(settings, req, jobs.Control(progress_printer(args)))
    result = jobs.optimise(args.what, settings, db_path(args), args.objective, args.run, apply=args.apply,
                           config_path=config_path, control=jobs.Control(progress_printer(args)))
    return public(result)
