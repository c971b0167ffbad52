"""Optimisation jobs on a database (shared by the command line and the GUI): load the run, sweep, apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.candles import timeframe_ms
from app.errors import ScalpDeskError
from app.services import optimizer
from app.settings import Settings, update_user_config
from app.storage import backtests as repo
from app.storage.db import Database


def load_run(db_path: Path, run_id: int | None) -> tuple[dict[str, Any], optimizer.StoredSignals]:
    with Database(db_path) as db:
        run_info = repo.resolve_run(db, run_id)
        cols = repo.load_signals(db, run_info["id"])
    tfs = {str(t) for t in cols["timeframe"]} or {"1m"}
    horizon = int(run_info["max_hold"]) * max(timeframe_ms(t) for t in tfs)
    return run_info, optimizer.StoredSignals.from_columns(cols, horizon)


def thresholds(db_path: Path, settings: Settings, kind: str, run_id: int | None = None) -> dict[str, Any]:
    run_info, stored = load_run(db_path, run_id)
    o = settings.optimization
    result = optimizer.optimise_thresholds(stored, kind, o.folds, o.min_signals, float(run_info["min_score"]))
    result.update({"what": "thresholds", "run_id": run_info["id"], "_run": run_info, "_samples": len(stored.time)})
    return result


def patterns(db_path: Path, settings: Settings, kind: str, run_id: int | None = None) -> dict[str, Any]:
    run_info, stored = load_run(db_path, run_id)
    run_settings = run_info["settings"] or settings.to_dict()
    weights = run_settings.get("confluence", {}).get("weights") or settings.to_dict()["confluence"]["weights"]
    total = sum(weights.values())
    stored_points = run_settings.get("pattern_scores", {}).get("patterns") or {}
    points_now = {k: float(v["points"]) for k, v in stored_points.items()} or settings.get_pattern_points()
    result = optimizer.optimise_patterns(stored, points_now, float(weights["pattern"]),
                                         100.0 / total if total else 0.0, settings.confluence.min_score, kind,
                                         min_signals=settings.optimization.min_signals)
    result.update({"what": "patterns", "run_id": run_info["id"], "_run": run_info, "_samples": len(stored.time)})
    return result


def apply(result: dict[str, Any], config_path: str | Path | None = None) -> Settings:
    """Write an optimisation result into the user configuration with its provenance (old file kept as .bak)."""
    run_info, kind, n = result["_run"], result["objective"], result["_samples"]
    if result["what"] == "thresholds":
        if result["chosen_threshold"] is None:
            raise ScalpDeskError(result["message"])
        chosen = next(r for r in result["rows"] if r["threshold"] == result["chosen_threshold"])
        prov = optimizer.provenance(run_info, kind, n, {"out_of_sample": chosen["out_of_sample"],
                                                        "in_sample": chosen["in_sample"],
                                                        "walk_forward_result": result["walk_forward_result"]})
        return update_user_config({"confluence.min_score": float(result["chosen_threshold"]),
                                   "confluence.provenance": prov}, config_path)
    if result["message"]:
        raise ScalpDeskError(result["message"])
    changes: dict[str, Any] = {f"pattern_scores.patterns.{p['pattern']}": {
        "points": p["points"], "win_rate": p["win_rate"], "count": p["count"]} for p in result["patterns"]}
    changes["pattern_scores.provenance"] = optimizer.provenance(run_info, kind, n, {
        "out_of_sample_check": result["out_of_sample_check"], "prior_strength": optimizer.PRIOR_STRENGTH})
    return update_user_config(changes, config_path)


def public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}
