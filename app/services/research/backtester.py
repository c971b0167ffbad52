"""The backtester: signals over history, every outcome decided by app.core.outcomes, compared with random entries
under the same rules, run through an account, stored and summarised.

Per-symbol work is independent: one worker by default (what measured fastest here, see `default_jobs`), threads
on request, or a Dask cluster for the per-symbol tasks.
Progress goes through a callback; cancellation through a threading.Event checked between and inside tasks.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from app.core import baseline, stats
from app.core.candles import Candles, gaps, timeframe_ms
from app.core.edge import COST_TO_STOP_WARNING, Daily, EdgeReport, break_even_win_rate, cost_to_stop, edge_report
from app.core.outcomes import OUTCOME_WORDS, Costs, label
from app.core.portfolio import Portfolio, simulate
from app.core.signals import EngineConfig, analyse, signals_from_analysis
from app.errors import CancelledError, ScalpDeskError
from app.ml.features import FEATURE_NAMES, MLFeatureExtractor
from app.storage import backtests as repo
from app.storage.db import Database

Progress = Callable[[float, str], None]
DRAWS = 100  # random-entry sets per symbol
SEED = 20240805  # every random draw of a backtest comes from this seed (and the symbol's name)
_CHUNK_ENTRIES = 1_000_000  # random entries walked at a time (bounds memory on 1M-candle histories)


@dataclass(frozen=True, eq=False)
class SymbolResult:
    symbol: str
    timeframe: str
    description: dict[str, Any]
    columns: dict[str, Any]  # decided signals only (score >= the storage floor)
    undecided: int
    skipped_for_costs: int  # setups at or above the live minimum whose target did not pay its costs
    random: Daily  # pooled random entries, weighted 1 / draws
    always_long: Daily
    always_short: Daily
    draws: int


def describe(c: Candles) -> dict[str, Any]:
    g = gaps(c.time, c.tf_ms)
    return {"symbol": c.symbol, "timeframe": c.timeframe, "candles": len(c),
            "first": int(c.time[0]) if len(c) else None, "last": int(c.time[-1]) if len(c) else None,
            "gaps": len(g), "gap_list": [[a, b] for a, b in g[:50]], "import_notes": list(c.notes)}


def symbol_seed(symbol: str, timeframe: str, seed: int) -> np.random.Generator:
    """A generator per series: the draws do not depend on the order or the parallelism of the tasks."""
    return np.random.default_rng([seed, zlib.crc32(f"{symbol} {timeframe}".encode())])


def _stop(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("backtest cancelled")


def backtest_symbol(candles: Candles, cfg: EngineConfig, costs: Costs, min_score: float,
                    fine: Candles | None = None, draws: int = DRAWS, seed: int = SEED,
                    cancel: threading.Event | None = None) -> SymbolResult:
    """Signals, outcomes, features and the random-entry baseline of one symbol (a pure function: safe in a thread
    or another process). A cancel is seen between its stages (the longest, analysing, takes about 0.2 s per
    100k candles)."""
    an = analyse(candles, cfg)
    _stop(cancel)
    every = signals_from_analysis(an, cfg, min_score=min_score)
    batch = every.select(~every.provisional)  # the last candle's signal has no next open yet
    _stop(cancel)
    lab = label(candles, batch.index, batch.side, batch.entry, batch.stop_loss, batch.take_profit,
                cfg.max_hold, costs, fine=fine)
    done = lab.decided
    b = batch.select(done)
    _stop(cancel)
    feats = MLFeatureExtractor().extract(an, b.index, b.side, b.score, b.components, b.patterns)
    _stop(cancel)
    cols = {
        "signal_time": b.time, "side": b.side, "entry": b.entry, "stop_loss": b.stop_loss,
        "take_profit": b.take_profit, "score": b.score, "components": b.components,
        "patterns": b.patterns, "pattern_names": b.pattern_names, "outcome": lab.outcome[done],
        "ambiguous": lab.ambiguous[done], "exit_time": candles.time[lab.exit_index[done]],
        "exit_price": lab.exit_price[done], "pnl_pct": lab.pnl_pct[done], "bars_held": lab.bars_held[done],
        "atr": b.atr, "features": feats,
    }
    headline = b.score >= cfg.min_score
    best = np.maximum(an.long.score, an.short.score)
    skipped = int(np.sum(best[every.cost_skipped - an.offset] >= cfg.min_score))
    cand = baseline.candidates(an, cfg)
    _stop(cancel)
    rng = symbol_seed(candles.symbol, candles.timeframe, seed)
    sides = b.side[headline]
    parts = []
    per_chunk = max(1, _CHUNK_ENTRIES // max(1, len(sides)))
    for start in range(0, draws, per_chunk):
        _stop(cancel)
        r = baseline.random_entries(an, cand, sides, min(per_chunk, draws - start), rng, cfg, costs, fine)
        parts.append(Daily.of(r.pnl, r.time, 1.0 / draws))
    _stop(cancel)
    along = baseline.always(an, cand, 1, cfg, costs, fine)
    ashort = baseline.always(an, cand, -1, cfg, costs, fine)
    return SymbolResult(candles.symbol, candles.timeframe, describe(candles), cols, int((~done).sum()), skipped,
                        Daily.merge(parts), Daily.of(along.pnl, along.time), Daily.of(ashort.pnl, ashort.time), draws)


def default_jobs() -> int:
    """One worker: measured on this 2-core machine, 10 pairs of 72k 5m candles took 3.5 s with one worker and
    5.2 s with two threads (TA-Lib holds the GIL; the compiled kernels are too short to gain), and processes were
    1.3-2x slower than one worker for 2-10 pairs (start-up and copying). `--jobs N` still asks for threads."""
    return 1


class Task(NamedTuple):
    candles: Candles
    cfg: EngineConfig
    costs: Costs
    min_score: float
    fine: Candles | None
    draws: int
    seed: int


def _run_tasks(tasks: list[Task], progress: Progress, cancel: threading.Event | None,
               n_jobs: int, dask_scheduler: str | None) -> list[SymbolResult]:
    results: list[SymbolResult] = []
    total = len(tasks)
    if dask_scheduler:
        import dask.distributed as dd

        client_cls, as_completed = getattr(dd, "Client"), getattr(dd, "as_completed")  # noqa: B009 (untyped)
        with client_cls(dask_scheduler) as client:
            futures = [client.submit(backtest_symbol, *t, pure=False) for t in tasks]
            for fut in as_completed(futures):
                if cancel is not None and cancel.is_set():
                    client.cancel(futures)
                    raise CancelledError("backtest cancelled")
                results.append(fut.result())
                progress(len(results) / total, f"{results[-1].symbol} done")
        return results
    if n_jobs <= 1 or total == 1:
        for t in tasks:
            if cancel is not None and cancel.is_set():
                raise CancelledError("backtest cancelled")
            results.append(backtest_symbol(**t._asdict(), cancel=cancel))
            progress(len(results) / total, f"{results[-1].symbol} done")
        return results
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="backtest")
    pending = {pool.submit(backtest_symbol, **t._asdict(), cancel=cancel) for t in tasks}
    try:
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            _stop(cancel)
            for fut in done:
                results.append(fut.result())
                progress(len(results) / total, f"{results[-1].symbol} done")
    finally:
        # after a cancel, do not wait for running tasks: they stop at their own next stage
        pool.shutdown(wait=cancel is None or not cancel.is_set(), cancel_futures=True)
    return results


# ---------------------------------------------------------------- rows for storage, built column-wise
def _components_json(comps: np.ndarray) -> list[str]:
    from app.core.confluence import COMPONENTS

    fmt = "{" + ", ".join(f'"{name}": %.6g' for name in COMPONENTS) + "}"
    return [fmt % tuple(row) for row in np.round(comps, 6).tolist()]


def _patterns_json(patterns: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Each row's seen patterns as a JSON list; a history holds few distinct combinations, each encoded once."""
    if patterns.shape[1] == 0:
        return ["[]"] * len(patterns)
    weights = (1 << np.arange(patterns.shape[1], dtype=np.int64))
    codes = patterns.astype(np.int64) @ weights
    cache: dict[int, str] = {}
    out = []
    for code in codes.tolist():
        text = cache.get(code)
        if text is None:
            text = "[" + ", ".join(f'"{names[j]}"' for j in range(len(names)) if code >> j & 1) + "]"
            cache[code] = text
        out.append(text)
    return out


def _rows(run_id: int, r: SymbolResult) -> list[tuple[Any, ...]]:
    c = r.columns
    n = len(c["signal_time"])
    if n == 0:
        return []
    names = OUTCOME_WORDS
    cols = [
        [run_id] * n, [r.symbol] * n, [r.timeframe] * n, c["signal_time"].tolist(),
        np.where(c["side"] > 0, "LONG", "SHORT").tolist(), c["entry"].tolist(), c["stop_loss"].tolist(),
        c["take_profit"].tolist(), c["score"].tolist(), _components_json(c["components"]),
        _patterns_json(c["patterns"], c["pattern_names"]), names[c["outcome"]].tolist(),
        c["ambiguous"].astype(int).tolist(), c["exit_time"].tolist(), c["exit_price"].tolist(), c["pnl_pct"].tolist(),
        c["bars_held"].tolist(), c["atr"].tolist(), [row.tobytes() for row in c["features"]],
    ]
    return list(zip(*cols, strict=True))


# ---------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a backtest reports; `to_dict()` is the command line's JSON (the contract in DESIGN.md)."""

    run_id: int
    source: str
    candles: int
    min_score: float  # the live minimum: the headline population
    store_floor: float  # signals from this score up are stored (the by-score table)
    max_hold: int
    fees_round_trip_pct: float
    summary: stats.Summary  # of the headline population
    edge: EdgeReport
    portfolio: Portfolio
    break_even_win_rate: float | None
    cost_to_stop: float | None
    skipped_for_costs: int
    by_score: list[stats.Band]
    tables: dict[str, list[stats.Row]]
    halves: dict[str, Any]
    data: list[dict[str, Any]]
    undecided: int
    ambiguous: int
    stored: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str | None:
        return None if self.edge.verdict is None else str(self.edge.verdict)

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        out: dict[str, Any] = {
            "run_id": self.run_id, "source": self.source, "candles": self.candles,
            "signals": s["signals"], "wins": s["wins"], "losses": s["losses"], "expired": s["expired"],
            "win_rate": s["win_rate"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "enough_history": s["enough_history"], "profit_factor": s["profit_factor"],
            "expectancy_pct": s["expectancy_pct"], "profitable_share": s.get("profitable_share"),
            "avg_bars_held": s["avg_bars_held"],
            **self.edge.to_dict(),
            "break_even_win_rate": self.break_even_win_rate, "cost_to_stop": self.cost_to_stop,
            "cost_to_stop_warning": self.cost_to_stop is not None and self.cost_to_stop > COST_TO_STOP_WARNING,
            "skipped_for_costs": self.skipped_for_costs,
            "portfolio": self.portfolio.to_dict(curve_points=400),
            "max_drawdown_pct": self.portfolio.max_drawdown_pct,
            "by_score": self.by_score, **self.tables, **self.halves,
            "min_score": self.min_score, "store_floor": self.store_floor, "stored_signals": self.stored,
            "max_hold": self.max_hold, "fees_round_trip_pct": self.fees_round_trip_pct,
            "undecided": self.undecided, "ambiguous": self.ambiguous, "data": self.data, **self.extra,
        }
        return out


def run_backtest(datasets: list[Candles], settings_dict: dict[str, Any], cfg: EngineConfig, costs: Costs,
                 db: Database, min_score: float | None = None, fine: dict[str, Candles] | None = None,
                 progress: Progress | None = None, cancel: threading.Event | None = None, n_jobs: int | None = None,
                 dask_scheduler: str | None = None, risk_per_trade_pct: float = 1.0, source: str = "FILES",
                 draws: int = DRAWS, seed: int = SEED) -> BacktestResult:
    """Backtest `datasets`, store every decided signal from `min_score` up (default: the live minimum) and
    report the signals at or above the live minimum (`cfg.min_score`)."""
    if not datasets:
        raise ScalpDeskError("no candles to backtest")
    report = progress or (lambda f, m: None)
    floor = cfg.min_score if min_score is None else min(float(min_score), cfg.min_score)
    tasks = [Task(c, cfg, costs, floor, (fine or {}).get(c.symbol), draws, seed) for c in datasets]
    report(0.0, f"analysing {len(tasks)} series")
    jobs = default_jobs() if n_jobs is None else max(1, n_jobs)
    results = _run_tasks(tasks, lambda f, m: report(0.8 * f, m), cancel, jobs, dask_scheduler)
    results.sort(key=lambda r: (r.symbol, r.timeframe))
    if cancel is not None and cancel.is_set():
        raise CancelledError("backtest cancelled")
    report(0.8, "statistics")
    run_id = repo.create_run(db, settings_dict, [r.description for r in results], floor, cfg.max_hold,
                             list(FEATURE_NAMES))
    try:  # statistics before storing: a cancel then has only the run's row to remove, not its signals
        result = summarise(results, cfg, costs, floor, risk_per_trade_pct, source, run_id, draws, seed,
                           check=lambda: _stop(cancel))
        report(0.9, "storing signals")
        rows: list[tuple[Any, ...]] = []
        for r in results:
            _stop(cancel)
            rows += _rows(run_id, r)
        repo.insert_signals(db, rows, cancel=cancel)  # one transaction, rolled back on a cancel
    except CancelledError:
        repo.delete_run(db, run_id)  # a cancelled backtest leaves nothing behind
        raise
    except BaseException:
        repo.finish_run(db, run_id, {}, status="failed")
        raise
    repo.finish_run(db, run_id, {"candles": result.candles, "signals": result.summary["signals"],
                                 "stored": result.stored, "verdict": result.verdict,
                                 "expectancy_pct": result.summary["expectancy_pct"],
                                 "undecided": result.undecided, "source": source}, summary=result.to_dict())
    report(1.0, "done")
    return result


def merge_columns(results: list[SymbolResult]) -> dict[str, np.ndarray]:
    """Every stored signal of every series, in time order."""
    parts = [r.columns for r in results]
    keys = ("signal_time", "side", "entry", "stop_loss", "score", "outcome", "ambiguous", "exit_time", "pnl_pct",
            "bars_held")
    if not parts:
        return {k: np.empty(0) for k in (*keys, "symbol", "tf_ms")}
    merged = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    merged["symbol"] = np.concatenate([np.full(len(p["signal_time"]), r.symbol, dtype=object)
                                       for p, r in zip(parts, results, strict=True)])
    merged["tf_ms"] = np.concatenate([np.full(len(p["signal_time"]), timeframe_ms(r.timeframe), dtype=np.int64)
                                      for p, r in zip(parts, results, strict=True)])
    order = np.argsort(merged["signal_time"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def summarise(results: list[SymbolResult], cfg: EngineConfig, costs: Costs, floor: float, risk_pct: float,
              source: str, run_id: int, draws: int = DRAWS, seed: int = SEED,
              check: Callable[[], None] = lambda: None) -> BacktestResult:
    """The statistics of the stored signals; `check` runs between its steps (each well under a second)."""
    m = merge_columns(results)
    head = m["score"] >= cfg.min_score
    h = {k: v[head] for k, v in m.items()}
    names = OUTCOME_WORDS[h["outcome"].astype(np.int64)] if len(h["outcome"]) else np.empty(0, dtype=object)
    win = h["outcome"] == 0
    summary = stats.summary(names, h["pnl_pct"], h["bars_held"])
    summary["profitable_share"] = float(np.mean(h["pnl_pct"] > 0)) if len(h["pnl_pct"]) else None
    summary["wins_losing_after_costs"] = int(np.sum(win & (h["pnl_pct"] <= 0)))
    check()
    edge = edge_report(Daily.of(h["pnl_pct"], h["signal_time"]), Daily.merge([r.random for r in results]), draws,
                       Daily.merge([r.always_long for r in results]), Daily.merge([r.always_short for r in results]),
                       seed=seed)
    check()
    entry_ms = h["signal_time"] + h["tf_ms"]
    stop_pct = 100.0 * np.abs(h["entry"] - h["stop_loss"]) / h["entry"]
    port = simulate(h["symbol"], entry_ms, h["exit_time"] + h["tf_ms"], h["pnl_pct"], stop_pct, risk_pct)
    cts = cost_to_stop(costs.round_trip_pct, h["entry"], h["stop_loss"])
    check()
    groups_all = stats.Groups(m["outcome"] == 0, m["pnl_pct"], m["signal_time"], seed=seed)
    groups = stats.Groups(win, h["pnl_pct"], h["signal_time"], seed=seed)
    by_score = stats.score_bands(groups_all, m["score"], floor)
    check()
    tables = stats.breakdowns(groups, h["symbol"], h["side"], h["signal_time"])
    check()
    halves = _halves(results, h, win, seed)
    check()
    by_pattern = _by_pattern(results, cfg.min_score)
    data = [{k: v for k, v in r.description.items() if k != "gap_list"} for r in results]
    return BacktestResult(
        run_id=run_id, source=source, candles=int(sum(d["candles"] for d in data)), min_score=cfg.min_score,
        store_floor=floor, max_hold=cfg.max_hold, fees_round_trip_pct=costs.round_trip_pct, summary=summary,
        edge=edge, portfolio=port, break_even_win_rate=break_even_win_rate(h["pnl_pct"], win),
        cost_to_stop=float(np.mean(cts)) if len(cts) else None,
        skipped_for_costs=int(sum(r.skipped_for_costs for r in results)),
        by_score=by_score, tables=tables, halves=halves, data=data,
        undecided=int(sum(r.undecided for r in results)), ambiguous=int(np.sum(h["ambiguous"])),
        stored=len(m["score"]),
        extra={"by_pattern": by_pattern, "per_symbol_series": len(results),
               "simulated": source == "SIMULATED"})


def _halves(results: list[SymbolResult], h: dict[str, np.ndarray], win: np.ndarray, seed: int) -> dict[str, Any]:
    """The two halves of the data's time span: nothing was fitted, so neither is 'out of sample'."""
    from app.core.bootstrap import mean_interval

    first = min((r.description["first"] for r in results if r.description["first"] is not None), default=None)
    last = max((r.description["last"] for r in results if r.description["last"] is not None), default=None)
    if first is None or last is None:
        return {"first_half": None, "second_half": None}
    cut = (first + last) // 2
    out: dict[str, Any] = {}
    for name, mask, a, b in (("first_half", h["signal_time"] <= cut, first, cut),
                             ("second_half", h["signal_time"] > cut, cut, last)):
        iv = mean_interval(h["pnl_pct"][mask], h["signal_time"][mask], reps=1000, seed=seed)
        entry = stats.rate_entry(int(win[mask].sum()), int(mask.sum()))
        out[name] = {"from": int(a), "to": int(b), "signals": entry["n"], **entry,
                     "expectancy": iv.to_dict(), "expectancy_pct": iv.estimate}
    return out


def _by_pattern(results: list[SymbolResult], min_score: float) -> dict[str, Any]:
    win, pnl, pats = [], [], []
    for r in results:
        c = r.columns
        head = c["score"] >= min_score
        win.append(c["outcome"][head] == 0)
        pnl.append(c["pnl_pct"][head])
        names = c["pattern_names"]
        pats += [[names[j] for j in np.flatnonzero(row)] for row in c["patterns"][head]]
    if not pats:
        return {}
    outcome = np.where(np.concatenate(win), "WIN", "OTHER")
    return stats.by_pattern(pats, outcome, np.concatenate(pnl))
