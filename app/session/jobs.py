"""Research jobs, each assembled in exactly one place: backtest, training, the optimisers, the strategy search and
the PDF report. The command line and the window's job dialogs call these with a `Control` (progress and cancel);
neither builds a job's parts itself.

Every job checks `control.check()` between its stages and inside long loops, so Cancel stops it within a second
in every stage (loading candles, analysing, storing, training, searching).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.errors import CancelledError, ScalpDeskError
from app.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
T = TypeVar("T")


@dataclass
class Control:
    """Progress reporting and cancellation of one job (thread-safe: set `cancel` from any thread)."""

    progress_fn: ProgressFn = field(default=lambda f, m: None)
    cancel: threading.Event = field(default_factory=threading.Event)

    def progress(self, fraction: float, message: str) -> None:
        self.check()
        self.progress_fn(max(0.0, min(1.0, fraction)), message)

    def check(self) -> None:
        if self.cancel.is_set():
            raise CancelledError("cancelled")

    def part(self, lo: float, hi: float) -> Control:
        """A control whose 0..1 maps onto lo..hi of this one (a stage of a longer job)."""
        return Control(lambda f, m: self.progress_fn(lo + (hi - lo) * max(0.0, min(1.0, f)), m), self.cancel)

    def call(self, fn: Callable[[], T], grace_s: float = 0.5, poll_s: float = 0.05) -> T:
        """`fn()` in a helper thread, so that Cancel ends the job within `poll_s + grace_s` even while `fn` is in a
        step it cannot leave (a first import, numba loading its cache, one long library call). `fn` checks this
        control itself and stops at its next check; whatever it would return after a cancel is dropped, and it
        stores nothing after one (every store is behind a check). If it ends within the grace, its own outcome
        (a result, or the CancelledError it raised) is what the job reports."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=target, name="job-step", daemon=True).start()
        try:
            while not done.wait(poll_s):
                if self.cancel.is_set():
                    if done.wait(grace_s):
                        break
                    raise CancelledError("cancelled")
        except KeyboardInterrupt:  # Ctrl+C on the command line: the step stops at its next check too
            self.cancel.set()
            done.wait(grace_s)
            raise
        if "error" in box:
            raise box["error"]
        value: T = box["value"]
        return value


# ------------------------------------------------------------------------------------------------ backtest
@dataclass(frozen=True)
class BacktestRequest:
    files: tuple[str, ...] = ()
    sim_candles: int | None = None  # instead of files: simulated candles per symbol (labelled SIMULATED)
    timeframe: str | None = None
    symbol: str | None = None
    symbols: tuple[str, ...] = ()  # only these symbols of the files (empty: all)
    min_score: float | None = None  # store signals from this score up (default: the sweep's floor, 50)
    start_ms: int | None = None  # only candles from here on (the explorer's period)
    end_ms: int | None = None
    jobs: int | None = None  # parallel workers across symbols (None: chosen by what it gains)
    dask_scheduler: str | None = None

    @property
    def simulated(self) -> bool:
        return not self.files


STORE_FLOOR = 50.0  # a default backtest stores every band the threshold sweep reads, whatever the live minimum


def backtest(settings: Settings, db_path: Path, req: BacktestRequest, control: Control | None = None) -> Any:
    """Load candles, run the backtest, store it; the result leads with expectancy, edge over random entries and
    the verdict (see app.services.research.backtester)."""
    ctl = control or Control()
    return ctl.call(lambda: run_loaded(settings, db_path, req, load_candles(settings, req, ctl), ctl))


def load_candles(settings: Settings, req: BacktestRequest, ctl: Control) -> tuple[list[Any], dict[str, Any]]:
    """The request's series (pairs and period applied) and finer series for ambiguous candles."""
    from app.services.research.datasets import load_datasets

    ctl.progress(0.0, "loading candles")
    datasets, fine = load_datasets(list(req.files) or None, req.sim_candles if req.simulated else None,
                                   req.timeframe, req.symbol, settings, check=ctl.check)
    if req.symbols:
        datasets = [c for c in datasets if c.symbol in req.symbols]
        if not datasets:
            raise ScalpDeskError(f"none of the files holds {', '.join(req.symbols)}")
    if req.start_ms is not None or req.end_ms is not None:
        datasets = [_period(c, req.start_ms, req.end_ms) for c in datasets]
        datasets = [c for c in datasets if len(c)]
        if not datasets:
            raise ScalpDeskError("no candles in the chosen period")
    ctl.check()
    return datasets, fine


def run_loaded(settings: Settings, db_path: Path, req: BacktestRequest, loaded: tuple[list[Any], dict[str, Any]],
               ctl: Control) -> Any:
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.services.research.backtester import run_backtest
    from app.storage.db import Database

    datasets, fine = loaded
    source = "SIMULATED" if req.simulated else "FILES"
    cfg = EngineConfig.from_settings(settings)
    costs = Costs.from_settings(settings)
    floor = STORE_FLOOR if req.min_score is None else float(req.min_score)
    described = {**settings.to_dict(), "data_source": source, "data_files": list(req.files),
                 "period": [req.start_ms, req.end_ms]}
    with Database(db_path) as db:
        result = run_backtest(datasets, described, cfg, costs, db,
                              min_score=floor, fine=fine, progress=ctl.part(0.02, 1.0).progress, cancel=ctl.cancel,
                              n_jobs=req.jobs, dask_scheduler=req.dask_scheduler,
                              risk_per_trade_pct=settings.risk.risk_per_trade_pct, source=source)
    return result


def _period(c: Any, start_ms: int | None, end_ms: int | None) -> Any:
    import numpy as np

    a = 0 if start_ms is None else int(np.searchsorted(c.time, start_ms, side="left"))
    b = len(c) if end_ms is None else int(np.searchsorted(c.time, end_ms, side="left"))
    return c.slice(a, b)


# ------------------------------------------------------------------------------------------------ training
def train(settings: Settings, db_path: Path, model_path: Path, force: bool = False, run_id: int | None = None,
          folds: int = 5, control: Control | None = None) -> dict[str, Any]:
    from app.services.research.training import train_and_store
    from app.storage.db import Database

    ctl = control or Control()
    with Database(db_path) as db:
        return train_and_store(db, model_path, settings.ml.min_probability, folds=folds, force=force, run_id=run_id,
                               progress=ctl.progress, cancel=ctl.cancel)


# ------------------------------------------------------------------------------------------------ optimisers
def optimise(what: str, settings: Settings, db_path: Path, objective: str | None = None, run_id: int | None = None,
             apply: bool = False, config_path: str | Path | None = None,
             control: Control | None = None) -> dict[str, Any]:
    """`thresholds` or `patterns` on a stored backtest run; with `apply`, written to the settings with provenance
    (only what the optimiser says may be applied)."""
    from app.services.research import optimizers as opt

    ctl = control or Control()
    ctl.progress(0.05, "loading stored signals")
    kind = objective or settings.optimization.objective
    result = opt.thresholds(db_path, settings, kind, run_id) if what == "thresholds" else \
        opt.patterns(db_path, settings, kind, run_id)
    ctl.progress(0.95, "done")
    if apply:
        new = opt.apply(result, config_path)
        result["applied_to"] = new.source_path
    return result


def apply_optimisation(result: dict[str, Any], config_path: str | Path | None = None) -> Settings:
    from app.services.research import optimizers as opt

    return opt.apply(result, config_path)


# ------------------------------------------------------------------------------------------------ reports
@dataclass(frozen=True)
class ReportRequest:
    out: Path
    period: str = "daily"  # daily / weekly / custom
    start: str | None = None
    end: str | None = None
    run_id: int | None = None  # a backtest run instead of the live signals
    source: str | None = None  # the live source reported (None: the one with the most signals in the period)


def report(settings: Settings, db_path: Path, req: ReportRequest, control: Control | None = None) -> dict[str, Any]:
    ctl = control or Control()
    return ctl.call(lambda: _report(settings, db_path, req, ctl))


def _report(settings: Settings, db_path: Path, req: ReportRequest, ctl: Control) -> dict[str, Any]:
    from app.services.reporting.pdf import gather, period_of, render
    from app.storage.db import Database

    ctl.progress(0.05, "reading signals")
    period = period_of(req.period, req.end, req.start)
    with Database(db_path) as db:
        data = gather(db, period, run_id=req.run_id, settings=settings, source=req.source)
    ctl.progress(0.4, "drawing the report")
    out = render(data, period, req.out)
    from pypdf import PdfReader

    pages = len(PdfReader(str(out)).pages)
    ctl.progress(1.0, "done")
    return {"out": str(out), "period": req.period, "from": period.start.isoformat(), "to": period.end.isoformat(),
            "signals": data["summary"]["signals"], "pages": pages, "verdict": data.get("verdict"),
            "run_id": req.run_id, "sources": data["sources"], "other_sources": data.get("other_sources", {})}


# ------------------------------------------------------------------------------------------------ CSV export
@dataclass(frozen=True)
class ExportRequest:
    out: Path
    run_id: int | None = None  # a backtest run's signals instead of the live ones


def export_csv(settings: Settings, db_path: Path, req: ExportRequest, control: Control | None = None
               ) -> dict[str, Any]:
    """Live signals, or one backtest run's signals, as CSV with ISO-8601 times (UTC, zone written out)."""
    from app.services.reporting.export import export_csv as write

    ctl = control or Control()
    ctl.progress(0.1, "reading signals")
    rows = ctl.call(lambda: write(db_path, req.out, run_id=req.run_id, check=ctl.check))
    ctl.progress(1.0, "done")
    return {"out": str(req.out), "rows": rows, "run_id": req.run_id}


# ------------------------------------------------------------------------------------------------ strategy search
@dataclass(frozen=True)
class SearchRequest:
    files: tuple[str, ...]
    timeframes: tuple[str, ...] = ()  # empty: every timeframe the files hold
    symbol: str | None = None
    min_score: tuple[float, ...] = ()  # empty: the grid's defaults
    sl_atr: tuple[float, ...] = ()
    tp_atr: tuple[float, ...] = ()
    max_hold: tuple[int, ...] = ()
    sides: tuple[str, ...] = ()
    min_trades: int = 300
    holdout_share: float = 0.3
    apply: bool = False
    config_path: str | None = None


def strategy_search(settings: Settings, req: SearchRequest, control: Control | None = None) -> Any:
    """Load the files by timeframe, search the grid (app.services.research.search), and with `apply` write the
    chosen setting to the settings with its provenance — only when it passed."""
    from app.core.candles import timeframe_ms
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.errors import DataError
    from app.market.files import load_file
    from app.services.research import search as engine

    ctl = control or Control()
    if not req.files:
        raise ScalpDeskError("optimize strategy needs --data FILE... (history of one or more pairs)")
    ctl.progress(0.0, "loading candles")
    by_tf: dict[str, list[Any]] = {}
    for f in req.files:
        ctl.check()
        c = load_file(f, symbol=req.symbol)[0]
        by_tf.setdefault(c.timeframe, []).append(c)
    tfs = list(req.timeframes) or sorted(by_tf, key=timeframe_ms)
    missing = [tf for tf in tfs if tf not in by_tf]
    if missing:
        raise DataError(f"no file holds {', '.join(missing)} candles (the files hold {', '.join(sorted(by_tf))})")
    for tf in tfs:
        seen: set[str] = set()
        for c in by_tf[tf]:
            if c.symbol in seen:
                raise DataError(f"two files hold {c.symbol} {tf}; give one")
            seen.add(c.symbol)
    g = engine.Grid()
    grid = engine.Grid(req.min_score or g.min_score, req.sl_atr or g.sl_atr, req.tp_atr or g.tp_atr,
                       req.max_hold or g.max_hold, req.sides or g.side)
    bad = [s for s in grid.side if s not in engine.SIDES]
    if bad:
        raise ScalpDeskError(f"unknown side '{bad[0]}'; expected both, long or short")
    cfg = EngineConfig.from_settings(settings)
    costs = Costs.from_settings(settings)
    result = engine.search({tf: by_tf[tf] for tf in tfs}, cfg, costs, grid, min_trades=req.min_trades,
                           holdout_share=req.holdout_share, progress=ctl.part(0.02, 0.98).progress, cancel=ctl.cancel)
    if req.apply:
        if result.passed and result.selected is not None:
            new = apply_search(result, req, settings)
            result.applied, result.applied_to = True, new.source_path
        else:
            result.message += ". Nothing was changed."
    return result


def apply_search(result: Any, req: SearchRequest, settings: Settings) -> Settings:
    """Write the chosen setting with where it came from (data, dates, trials, holdout figures)."""
    import datetime as dt

    from app.settings import update_user_config

    s = result.selected
    prov = {"kind": "strategy search", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "data": [f"{d['symbol']} {d['timeframe']}" for d in result.data], "files": list(req.files),
            "periods": result.periods, "trials": result.trials, "selected": s.to_dict(),
            "holdout": {k: result.holdout.get(k) for k in ("n", "expectancy", "edge", "verdict")},
            "pbo": result.pbo, "deflated_sharpe": result.deflated_sharpe, "spa_p_value": result.spa_p_value,
            "seed": result.seed}
    return update_user_config({"confluence.min_score": float(s.min_score), "risk.sl_atr": float(s.sl_atr),
                               "risk.tp_atr": float(s.tp_atr), "risk.max_hold_bars": int(s.max_hold),
                               "scanner.sides": s.side, "scanner.timeframe": s.timeframe,
                               "confluence.provenance": prov}, req.config_path)
