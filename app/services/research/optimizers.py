"""Optimisers of the confluence threshold and the pattern points, validated out of sample.

Signals are split into folds+1 blocks in time order. Fold k trains on blocks 0..k-1 (signals whose label
window ends before block k starts) and tests on block k. A choice made for fold k reads only its training
window, so the walk-forward result (each fold's in-sample choice judged on the next block) is an honest
estimate of what the optimiser delivers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import timeframe_ms
from app.errors import ScalpDeskError
from app.settings import Settings, update_user_config
from app.storage import backtests as repo
from app.storage.db import Database

THRESHOLDS = tuple(range(50, 90, 5))  # 50..85
PF_CAP = 10.0  # a profit factor with (almost) no losses would dominate the seed objective; cap it
PRIOR_STRENGTH = 20.0  # Beta prior: a pattern seen n times is pulled towards the overall rate by 20 pseudo-signals


@dataclass(frozen=True, eq=False)
class StoredSignals:
    time: np.ndarray
    score: np.ndarray
    win: np.ndarray  # bool
    pnl: np.ndarray
    patterns: list[list[str]]
    pattern_component: np.ndarray
    horizon_ms: int

    @staticmethod
    def from_columns(cols: dict[str, Any], horizon_ms: int) -> StoredSignals:
        order = np.argsort(cols["signal_time"], kind="stable")
        comp = np.array([c.get("pattern", 0.0) for c in cols["components"]], dtype=np.float64)
        return StoredSignals(cols["signal_time"][order], cols["score"][order], (cols["outcome"] == "WIN")[order],
                             cols["pnl_pct"][order], [cols["patterns"][i] for i in order], comp[order], horizon_ms)


def figures(n: int, wins: int, pnl_sum: float, win_pnl_sum: float, gross_win: float,
            gross_loss: float) -> dict[str, Any]:
    """A set of signals' figures from its sums; every rate (win rate with its interval, its break-even, expectancy,
    profit factor) None under stats.MIN_SAMPLES ("not enough history")."""
    rate = stats.rate_entry(wins, n)
    enough = n >= stats.MIN_SAMPLES
    return {"signals": n, "wins": wins, "win_rate": rate["win_rate"], "ci_low": rate["ci_low"],
            "ci_high": rate["ci_high"],
            "break_even_win_rate": stats.break_even(wins, n, win_pnl_sum, pnl_sum) if enough else None,
            "profit_factor": gross_win / gross_loss if enough and gross_loss > 0 else None,
            "expectancy_pct": pnl_sum / n if enough else None}


def metrics(win: np.ndarray, pnl: np.ndarray) -> dict[str, Any]:
    return figures(len(pnl), int(win.sum()), float(pnl.sum()), float(pnl[win].sum()), float(pnl[pnl > 0].sum()),
                   float(-pnl[pnl < 0].sum()))


class _Sweep:
    """Metrics of 'score >= T' for every threshold T of a subset at once (bincount by threshold level)."""

    def __init__(self, s: StoredSignals, thresholds: list[int]) -> None:
        self.thresholds = thresholds
        self.level = np.searchsorted(np.asarray(thresholds, dtype=np.float64), s.score, side="right")
        self.win = s.win.astype(np.float64)
        self.pnl = s.pnl
        self.gw = np.maximum(s.pnl, 0.0)
        self.gl = np.maximum(-s.pnl, 0.0)
        self.win_pnl = np.where(s.win, s.pnl, 0.0)

    def __call__(self, idx: np.ndarray | slice) -> list[tuple[int, dict[str, Any]]]:
        lv = self.level[idx]
        m = len(self.thresholds) + 1

        def tail_sums(weights: np.ndarray | None) -> np.ndarray:
            b = np.bincount(lv, weights=weights, minlength=m)
            return np.cumsum(b[::-1])[::-1][1:]  # entry j: signals with level > j, i.e. score >= thresholds[j]

        n, w = tail_sums(None), tail_sums(self.win[idx])
        ps, gw, gl = tail_sums(self.pnl[idx]), tail_sums(self.gw[idx]), tail_sums(self.gl[idx])
        wp = tail_sums(self.win_pnl[idx])
        return [(t, figures(int(n[j]), round(float(w[j])), float(ps[j]), float(wp[j]), float(gw[j]), float(gl[j])))
                for j, t in enumerate(self.thresholds)]


def objective(m: dict[str, Any], kind: str) -> float | None:
    """None when the figures it reads are not there (under stats.MIN_SAMPLES signals)."""
    if not m["signals"] or m["win_rate"] is None or m["expectancy_pct"] is None:
        return None
    pf = m["profit_factor"]
    pf_capped = PF_CAP if pf is None else min(pf, PF_CAP)
    if kind == "seed":
        return float(m["win_rate"] * 0.7 + pf_capped * 0.3)
    if kind == "expectancy":
        return float(m["expectancy_pct"])
    if kind == "profit_factor":
        return float(pf_capped)
    raise ScalpDeskError(f"unknown objective '{kind}'; expected seed, expectancy or profit_factor")


def folds_of(times: np.ndarray, horizon_ms: int, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from app.core.selection import PurgedWalkForward

    return list(PurgedWalkForward(folds).split(times, horizon_ms))


def _best(rows: list[tuple[int, dict[str, Any]]], kind: str, min_signals: int) -> tuple[int | None, float | None]:
    best_t, best_v = None, None
    for t, m in rows:
        v = objective(m, kind)
        if m["signals"] >= min_signals and v is not None and (best_v is None or v > best_v):
            best_t, best_v = t, v
    return best_t, best_v


HOLDOUT_SHARE = 0.3


def holdout_split(s: StoredSignals, share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray, int]:
    """(training mask, holdout mask, cut time): the last `share` of the signals' time span is the holdout;
    a training signal's label window must end before it (purged)."""
    from app.core.selection import Holdout

    split = Holdout(int(s.time.min()), int(s.time.max()) + s.horizon_ms, share)
    return split.train(s.time, s.horizon_ms), split.test(s.time), split.cut_ms


def optimise_thresholds(s: StoredSignals, kind: str = "expectancy", folds: int = 4, min_signals: int = 30,
                        run_min_score: float = 50.0, holdout_share: float = HOLDOUT_SHARE) -> dict[str, Any]:
    """Choose the minimum score on the training part only; report the untouched holdout beside it.

    The rows keep their names: `in_sample` is the training part (where the choice is made), `out_of_sample` the
    holdout (never read while choosing). A purged walk-forward inside the training part shows how the same choice
    fared on blocks it had not seen. Applying is offered only when the chosen threshold made money after costs on
    the holdout (its net expectancy's interval, clustered by day, above 0)."""
    from app.core.bootstrap import mean_interval

    if len(s.time) == 0:
        raise ScalpDeskError("the backtest run has no decided signals; nothing to optimise")
    train_mask, test_mask, cut = holdout_split(s, holdout_share)
    thresholds = [t for t in THRESHOLDS if t >= run_min_score]
    if len(thresholds) < len(THRESHOLDS):
        missing = [t for t in THRESHOLDS if t < run_min_score]
        note = (f"thresholds {missing} are below the run's stored minimum score {run_min_score:g}: re-run the backtest "
                f"with --min-score 50 to sweep them")
    else:
        note = ""
    sweep = _Sweep(s, thresholds)
    ins_all, oos_all = sweep(np.flatnonzero(train_mask)), sweep(np.flatnonzero(test_mask))
    rows = []
    for (t, ins), (_, oos) in zip(ins_all, oos_all, strict=True):
        rows.append({"threshold": t, "in_sample": ins | {"objective": objective(ins, kind)},
                     "out_of_sample": oos | {"objective": objective(oos, kind)},
                     "eligible": ins["signals"] >= min_signals})
    train_idx = np.flatnonzero(train_mask)
    splits = folds_of(s.time[train_idx], s.horizon_ms, folds)
    walk = []
    wf_sel = np.zeros(len(s.time), dtype=bool)
    for k, (tr, te) in enumerate(splits):
        tr, te = train_idx[tr], train_idx[te]
        chosen_k, value = _best(sweep(tr), kind, min_signals)
        entry: dict[str, Any] = {"fold": k + 1, "train_signals": len(tr), "test_signals": len(te),
                                 "train_to": int(s.time[tr].max()), "test_from": int(s.time[te].min()),
                                 "chosen_in_sample": chosen_k, "in_sample_objective": value}
        if chosen_k is not None:
            entry["out_of_sample"] = dict(sweep(te))[chosen_k]
            wf_sel[te] = s.score[te] >= chosen_k
        walk.append(entry)
    chosen, best = _best([(r["threshold"], r["in_sample"]) for r in rows], kind, min_signals)
    result: dict[str, Any] = {
        "objective": kind, "objective_help": OBJECTIVE_HELP, "folds": len(splits), "min_signals": min_signals,
        "trials": len(thresholds), "holdout_from": cut, "rows": rows, "walk_forward": walk,
        "walk_forward_result": metrics(s.win[wf_sel], s.pnl[wf_sel]), "chosen_threshold": chosen,
        "chosen_objective": best, "note": note, "applicable": False,
    }
    if chosen is None:
        result["message"] = (f"too few signals: no threshold has {min_signals} training signals; nothing to apply. "
                             f"Run a longer backtest or lower optimization.min_signals")
        return result
    sel = test_mask & (s.score >= chosen)
    iv = mean_interval(s.pnl[sel], s.time[sel])
    result["holdout"] = {"threshold": chosen, "expectancy": iv.to_dict(),
                         **metrics(s.win[sel], s.pnl[sel])}
    result["applicable"] = iv.above_zero
    if not iv.above_zero:
        e = "n/a" if iv.estimate is None else f"{iv.estimate:+.3f}%"
        result["message"] = (f"nothing to apply: the threshold chosen on the training part ({chosen}) made {e} per "
                             f"trade on the holdout ({iv.n} signals), which is not above 0 after costs")
    return result


OBJECTIVE_HELP = (f"expectancy = net result per signal after costs (default); seed = win_rate x 0.7 + profit_factor "
                  f"x 0.3 (win rate as a fraction, profit factor as a ratio capped at {PF_CAP:g}); profit_factor")


def optimise_patterns(s: StoredSignals, current_points: dict[str, float], pattern_weight: float, scale: float,
                      min_score: float, kind: str = "expectancy", holdout_share: float = HOLDOUT_SHARE,
                      min_signals: int = 30) -> dict[str, Any]:
    """Points = shrunk win rate x 25 from the training part; checked on the untouched holdout against the current
    points (applied only when not worse there)."""
    n = len(s.time)
    if n == 0:
        raise ScalpDeskError("the backtest run has no decided signals; nothing to optimise")
    train, test, _cut = holdout_split(s, holdout_share)
    names = sorted({p for ps in s.patterns for p in ps} | set(current_points))
    col = {name: j for j, name in enumerate(names)}
    has = np.zeros((n, len(names)), dtype=bool)
    for i, ps in enumerate(s.patterns):
        for p in ps:
            has[i, col[p]] = True
    base_rate = float(s.win[train].mean()) if train.any() else float(s.win.mean())
    alpha, beta = PRIOR_STRENGTH * base_rate, PRIOR_STRENGTH * (1 - base_rate)
    rows, new_points = [], {}
    for name in names:
        m = has[:, col[name]]
        cnt = int((m & train).sum())
        wins = int((m & train & s.win).sum())
        shrunk = (wins + alpha) / (cnt + alpha + beta)
        seen = cnt >= stats.MIN_SAMPLES  # too few training signals: the current points stay, nothing is invented
        pts = float(round(shrunk * 25)) if seen else float(current_points.get(name, 0.0))
        new_points[name] = pts
        rows.append({"pattern": name, "count": cnt, **{k: v for k, v in stats.rate_entry(wins, cnt).items()
                                                      if k in ("wins", "win_rate", "ci_low", "ci_high")},
                     "break_even_win_rate": stats.break_even(wins, cnt, float(s.pnl[m & train & s.win].sum()),
                                                             float(s.pnl[m & train].sum())) if seen else None,
                     "shrunk_win_rate": shrunk if seen else None, "points": pts,
                     "current_points": current_points.get(name), "changed": seen})

    def rescored(points: dict[str, float]) -> np.ndarray:
        vec = np.array([points.get(name, 0.0) for name in names])
        pat = np.minimum(has @ vec, pattern_weight) * scale
        return np.asarray(s.score - s.pattern_component + pat)

    old_score, new_score = rescored(current_points), rescored(new_points)
    old_m = metrics(s.win[test & (old_score >= min_score)], s.pnl[test & (old_score >= min_score)])
    new_m = metrics(s.win[test & (new_score >= min_score)], s.pnl[test & (new_score >= min_score)])
    old_v, new_v = objective(old_m, kind), objective(new_m, kind)
    enough = new_m["signals"] >= min_signals and old_m["signals"] >= min_signals
    not_worse = enough and old_v is not None and new_v is not None and new_v >= old_v
    from app.core.bootstrap import mean_interval

    sel = test & (new_score >= min_score)
    holdout = mean_interval(s.pnl[sel], s.time[sel])
    pays = holdout.above_zero
    return {
        "objective": kind, "trials": 2,  # the current points and the new ones, compared once on the holdout
        "train_signals": int(train.sum()), "test_signals": int(test.sum()),
        "base_win_rate": base_rate, "prior_strength": PRIOR_STRENGTH, "patterns": rows,
        "out_of_sample_check": {"current": old_m | {"objective": old_v}, "new": new_m | {"objective": new_v},
                                "not_worse": bool(not_worse), "min_score": min_score,
                                "new_expectancy": holdout.to_dict()},
        "note": "signals under the backtest's minimum score were not stored, so a signal that the new points would "
                "lift over the threshold cannot be judged; patterns with fewer than 30 training signals keep their "
                "points",
        "message": None if not_worse and pays else ("new points not applied: " + (
            f"too few holdout signals (need {min_signals})" if not enough else
            "they make the holdout objective worse than the current points" if not not_worse else
            "with them the signals did not make money after costs on the holdout")),
    }


def provenance(run: dict[str, Any], kind: str, samples: int, extra: dict[str, Any]) -> dict[str, Any]:
    first = min((d.get("first") or 0) for d in run["data"]) if run.get("data") else None
    last = max((d.get("last") or 0) for d in run["data"]) if run.get("data") else None
    return {"run_id": run["id"], "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "data_from": first, "data_to": last, "samples": samples, "objective": kind, **extra}


# ------------------------------------------------------------------ on a stored backtest run
def load_run(db_path: Path, run_id: int | None) -> tuple[dict[str, Any], StoredSignals]:
    with Database(db_path) as db:
        run_info = repo.resolve_run(db, run_id)
        cols = repo.load_signals(db, run_info["id"])
    tfs = {str(t) for t in cols["timeframe"]} or {"1m"}
    horizon = int(run_info["max_hold"]) * max(timeframe_ms(t) for t in tfs)
    return run_info, StoredSignals.from_columns(cols, horizon)


def thresholds(db_path: Path, settings: Settings, kind: str, run_id: int | None = None) -> dict[str, Any]:
    run_info, stored = load_run(db_path, run_id)
    o = settings.optimization
    result = optimise_thresholds(stored, kind, o.folds, o.min_signals, float(run_info["min_score"]))
    result.update({"what": "thresholds", "run_id": run_info["id"], "source": repo.run_source(run_info),
                   "_run": run_info, "_samples": len(stored.time)})
    return result


def patterns(db_path: Path, settings: Settings, kind: str, run_id: int | None = None) -> dict[str, Any]:
    run_info, stored = load_run(db_path, run_id)
    run_settings = run_info["settings"] or settings.to_dict()
    weights = run_settings.get("confluence", {}).get("weights") or settings.to_dict()["confluence"]["weights"]
    total = sum(weights.values())
    stored_points = run_settings.get("pattern_scores", {}).get("patterns") or {}
    points_now = {k: float(v["points"]) for k, v in stored_points.items()} or settings.get_pattern_points()
    result = optimise_patterns(stored, points_now, float(weights["pattern"]),
                                         100.0 / total if total else 0.0, settings.confluence.min_score, kind,
                                         min_signals=settings.optimization.min_signals)
    result.update({"what": "patterns", "run_id": run_info["id"], "source": repo.run_source(run_info),
                   "_run": run_info, "_samples": len(stored.time)})
    return result


def apply(result: dict[str, Any], config_path: str | Path | None = None) -> Settings:
    """Write an optimisation result into the user configuration with its provenance (old file kept as .bak)."""
    run_info, kind, n = result["_run"], result["objective"], result["_samples"]
    if result["what"] == "thresholds":
        if result["chosen_threshold"] is None or not result.get("applicable"):
            raise ScalpDeskError(result["message"])
        chosen = next(r for r in result["rows"] if r["threshold"] == result["chosen_threshold"])
        prov = provenance(run_info, kind, n, {"holdout": result["holdout"], "training": chosen["in_sample"],
                                              "trials": result["trials"],
                                              "walk_forward_result": result["walk_forward_result"]})
        return update_user_config({"confluence.min_score": float(result["chosen_threshold"]),
                                   "confluence.provenance": prov}, config_path)
    if result["message"]:
        raise ScalpDeskError(result["message"])
    changes: dict[str, Any] = {f"pattern_scores.patterns.{p['pattern']}": {
        "points": p["points"], "win_rate": p["win_rate"], "count": p["count"]} for p in result["patterns"]}
    changes["pattern_scores.provenance"] = provenance(run_info, kind, n, {
        "out_of_sample_check": result["out_of_sample_check"], "prior_strength": PRIOR_STRENGTH})
    return update_user_config(changes, config_path)


def public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}
