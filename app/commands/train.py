"""`train`: the ML filter from stored backtest signals, judged out of sample."""

from __future__ import annotations

import argparse
from typing import Any

from app.commands.common import Common, db_path, model_path, progress_printer, settings_from


def add_parser(sub: Any, common: Common) -> None:
    p = sub.add_parser("train", help="train the ML signal filter on stored backtest signals")
    common(p)
    p.add_argument("--db", default=None, help="database with backtest results (default: the user data folder's)")
    p.add_argument("--model", default=None, help="where to store the model (default: the user data folder)")
    p.add_argument("--run", type=int, default=None, help="backtest run id (default: the latest)")
    p.add_argument("--folds", type=int, default=5, help="walk-forward folds (default 5)")
    p.add_argument("--force", action="store_true", help="enable the model even if it does not beat the base rate")


def _f(x: Any, fmt: str = ".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def text(r: dict[str, Any]) -> str:
    m = r["metrics"]
    lines = [
        f"Trained on {r['samples']} backtest signals (run {r['data']['run_id']}"
        f"{', SIMULATED market' if r['data'].get('source') == 'SIMULATED' else ''}), {r['folds']} walk-forward folds; "
        f"all figures out of sample ({m['oos_samples']} signals):",
        f"  base win rate {_f(m['base_win_rate'])}   AUC {_f(m['auc'])} (logistic baseline "
        f"{_f(m['baseline_logistic_auc'])})",
        f"  Brier {_f(m['brier'], '.4f')} (base rate {_f(m['brier_base_rate'], '.4f')})   log loss "
        f"{_f(m['log_loss'], '.4f')}",
        f"  at p >= {r['min_probability']:.2f}: precision {_f(m['precision_at_min_probability'])}, coverage "
        f"{_f(m['coverage_at_min_probability'])} ({m['kept_signals']} signals)",
        f"Verdict: {r['verdict']}",
        f"Model stored at {r['model_path']} — filter {'ENABLED' if r['enabled'] else 'NOT enabled'}"
        + (" (forced)" if r.get("forced") else ""),
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.session import jobs

    settings = settings_from(args)
    return jobs.train(settings, db_path(args), model_path(args, settings), force=args.force, run_id=args.run,
                      folds=args.folds, control=jobs.Control(progress_printer(args)))
