"""The backtester: signals over history, every outcome decided by app.core.outcomes, stored and summarised.

Per-symbol work is independent, so it runs in parallel (joblib on this machine, or a Dask cluster).
Progress goes through a callback; cancellation through a threading.Event checked between symbols.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core import stats
from app.core.candles import Candles, gaps
from app.core.confluence import COMPONENTS
from app.core.outcomes import OUTCOME_NAMES, Costs, label
from app.core.signals import EngineConfig, analyse, signals_from_analysis
from app.errors import CancelledError, ScalpDeskError
from app.ml.features import FEATURE_NAMES, MLFeatureExtractor
from app.storage import backtests as repo
from app.storage.db import Database

Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class SymbolResult:
    symbol: str
    timeframe: str
    description: dict[str, Any]
    columns: dict[str, Any]  # decided signals only
    undecided: int


def describe(c: Candles) -> dict[str, Any]:
    g = gaps(c.time, c.tf_ms)
    return {"symbol": c.symbol, "timeframe": c.timeframe, "candles": len(c),
            "first": int(c.time[0]) if len(c) else None, "last": int(c.time[-1]) if len(c) else None,
            "gaps": len(g), "gap_list": [[a, b] for a, b in g[:50]]}


def backtest_symbol(candles: Candles, cfg: EngineConfig, costs: Costs, min_score: float,
                    fine: Candles | None = None) -> SymbolResult:
    """Signals, outcomes and features of one symbol (a pure function: safe in another process)."""
    an = analyse(candles, cfg)
    batch = signals_from_analysis(an, cfg, min_score=min_score)
    batch = batch.select(~batch.provisional)  # the last candle's signal has no next open yet
    lab = label(candles, batch.index, batch.side, batch.entry, batch.stop_loss, batch.take_profit,
                cfg.max_hold, costs, fine=fine)
    done = lab.decided
    b = batch.select(done)
    feats = MLFeatureExtractor().extract(an, b.index, b.side, b.score, b.components, b.patterns)
    cols = {
        "signal_time": b.time, "side": b.side, "entry": b.entry, "stop_loss": b.stop_loss,
        "take_profit": b.take_profit, "score": b.score, "components": b.components,
        "patterns": b.pattern_lists(), "outcome": lab.outcome[done], "ambiguous": lab.ambiguous[done],
        "exit_time": candles.time[lab.exit_index[done]], "exit_price": lab.exit_price[done],
        "pnl_pct": lab.pnl_pct[done], "bars_held": lab.bars_held[done], "atr": b.atr, "features": feats,
    }
    return SymbolResult(candles.symbol, candles.timeframe, describe(candles), cols, int((~done).sum()))


def _run_tasks(tasks: list[tuple[Any, ...]], progress: Progress, cancel: threading.Event | None,
               n_jobs: int, dask_scheduler: str | None) -> list[SymbolResult]:
    results: list[SymbolResult] = []
    total = len(tasks)
    if dask_scheduler:
        from dask.distributed import Client, as_completed

        with Client(dask_scheduler) as client:
            futures = [client.submit(backtest_symbol, *t, pure=False) for t in tasks]
            for fut in as_completed(futures):
                if cancel is not None and cancel.is_set():
                    client.cancel(futures)
                    raise CancelledError("backtest cancelled")
                results.append(fut.result())
                progress(len(results) / total, f"{results[-1].symbol} done")
        return results
    if n_jobs == 1 or total == 1:
        for t in tasks:
            if cancel is not None and cancel.is_set():
                raise CancelledError("backtest cancelled")
            results.append(backtest_symbol(*t))
            progress(len(results) / total, f"{results[-1].symbol} done")
        return results
    from joblib import Parallel, delayed

    gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(backtest_symbol)(*t) for t in tasks)
    for res in gen:
        if cancel is not None and cancel.is_set():
            raise CancelledError("backtest cancelled")
        results.append(res)
        progress(len(results) / total, f"{res.symbol} done")
    return results


def _rows(run_id: int, r: SymbolResult) -> list[tuple[Any, ...]]:
    c = r.columns
    out = []
    for i in range(len(c["signal_time"])):
        comps = {name: round(float(c["components"][i, j]), 6) for j, name in enumerate(COMPONENTS)}
        out.append((run_id, r.symbol, r.timeframe, int(c["signal_time"][i]), "LONG" if c["side"][i] > 0 else "SHORT",
                    float(c["entry"][i]), float(c["stop_loss"][i]), float(c["take_profit"][i]),
                    float(c["score"][i]), json.dumps(comps), json.dumps(c["patterns"][i]),
                    OUTCOME_NAMES[int(c["outcome"][i])], int(c["ambiguous"][i]), int(c["exit_time"][i]),
                    float(c["exit_price"][i]), float(c["pnl_pct"][i]), int(c["bars_held"][i]), float(c["atr"][i]),
                    c["features"][i].tobytes()))
    return out


def summarise(cols: dict[str, Any]) -> dict[str, Any]:
    """The figures printed by `backtest`, from columns as stored (also used to re-check them)."""
    outcome = np.asarray(cols["outcome"])
    pnl = np.asarray(cols["pnl_pct"], dtype=np.float64)
    bars = np.asarray(cols["bars_held"])
    out = stats.summary(outcome, pnl, bars)
    out["by_score"] = stats.by_score(cols["score"], outcome)
    t = np.asarray(cols["signal_time"])
    if len(t):
        cut = (int(t.min()) + int(t.max())) // 2
        halves = {"in_sample": t <= cut, "out_of_sample": t > cut}
        for name, mask in halves.items():
            part = stats.summary(outcome[mask], pnl[mask], bars[mask])
            part["from"] = int(t[mask].min()) if mask.any() else None
            part["to"] = int(t[mask].max()) if mask.any() else None
            out[name] = part
    else:
        out["in_sample"] = out["out_of_sample"] = None
    return out


def run_backtest(datasets: list[Candles], settings_dict: dict[str, Any], cfg: EngineConfig, costs: Costs,
                 db: Database, min_score: float | None = None, fine: dict[str, Candles] | None = None,
                 progress: Progress | None = None, cancel: threading.Event | None = None, n_jobs: int = 2,
                 dask_scheduler: str | None = None) -> dict[str, Any]:
    if not datasets:
        raise ScalpDeskError("no candles to backtest")
    report = progress or (lambda f, m: None)
    threshold = cfg.min_score if min_score is None else float(min_score)
    tasks = [(c, cfg, costs, threshold, (fine or {}).get(c.symbol)) for c in datasets]
    report(0.0, f"analysing {len(tasks)} series")
    results = _run_tasks(tasks, report, cancel, n_jobs, dask_scheduler)
    results.sort(key=lambda r: (r.symbol, r.timeframe))
    run_id = repo.create_run(db, settings_dict, [r.description for r in results], threshold, cfg.max_hold,
                             list(FEATURE_NAMES))
    rows = [row for r in results for row in _rows(run_id, r)]
    try:
        repo.insert_signals(db, rows)
    except ScalpDeskError:
        repo.finish_run(db, run_id, {}, status="failed")
        raise
    merged = _merge([r.columns for r in results], [r.symbol for r in results])
    out = summarise(merged)
    per_symbol = {}
    for r in results:
        s = stats.summary(np.array([OUTCOME_NAMES[int(o)] for o in r.columns["outcome"]], dtype=object),
                          r.columns["pnl_pct"], r.columns["bars_held"])
        per_symbol[f"{r.symbol} {r.timeframe}"] = s
    counts = {"candles": int(sum(len(c) for c in datasets)), "signals": out["signals"], "wins": out["wins"],
              "losses": out["losses"], "expired": out["expired"],
              "undecided": int(sum(r.undecided for r in results))}
    repo.finish_run(db, run_id, counts)
    report(1.0, "done")
    result = {"run_id": run_id, "candles": counts["candles"], **out, "undecided": counts["undecided"],
              "ambiguous": int(np.sum(merged["ambiguous"])), "min_score": threshold, "max_hold": cfg.max_hold,
              "fees_round_trip_pct": costs.round_trip_pct, "data": [r.description for r in results],
              "per_symbol": per_symbol,
              "by_hour": stats.by_key(((np.asarray(merged["signal_time"]) // 3_600_000) % 24).tolist(),
                                      merged["outcome"], merged["pnl_pct"]),
              "by_pattern": stats.by_pattern(merged["patterns"], merged["outcome"], merged["pnl_pct"])}
    for d in result["data"]:
        d.pop("gap_list", None)
    return result


def _merge(parts: list[dict[str, Any]], symbols: list[str]) -> dict[str, Any]:
    if not parts:
        return {k: np.array([]) for k in ("signal_time", "outcome", "pnl_pct", "bars_held", "score", "ambiguous")} | {
            "patterns": []}
    order_keys = np.concatenate([p["signal_time"] for p in parts])
    order = np.argsort(order_keys, kind="stable")
    merged: dict[str, Any] = {}
    for key in ("signal_time", "pnl_pct", "bars_held", "score", "ambiguous", "side"):
        merged[key] = np.concatenate([p[key] for p in parts])[order]
    merged["outcome"] = np.array([OUTCOME_NAMES[int(o)] for o in np.concatenate([p["outcome"] for p in parts])],
                                 dtype=object)[order]
    pats = [pp for p in parts for pp in p["patterns"]]
    merged["patterns"] = [pats[i] for i in order]
    merged["symbol"] = np.concatenate([[s] * len(p["signal_time"]) for p, s in zip(parts, symbols, strict=True)])[order]
    return merged
