"""Strategy search that cannot fool itself.

A grid over the minimum score, stop and target (ATR), max hold, side and timeframe. Signals are scored once per
timeframe (from score 50 up, both sides); stop, target and hold only change the outcome walk, so the grid costs
one walk per (stop, target, hold) and cheap masks for score and side.

Discipline:
- the last 30 % of the data's time span is a locked holdout; choosing reads only trades whose whole horizon ends
  before it (purged) — changing holdout candles cannot change the choice;
- selection by net expectancy per trade on the training period, among settings with enough trades: the setting
  whose expectancy's lower 95 % bound (clustered by day) is highest (what it can be trusted to earn, not its
  luckiest mean: `selection.choose`);
- reported beside it: a purged walk-forward of the same selection inside the training period, the probability of
  backtest overfitting (CSCV), the deflated Sharpe ratio for the number of trials, and the SPA p-value of the best
  setting against random entries (all in app.core.selection);
- the chosen setting is judged once on the holdout: expectancy, edge over random entries, verdict, account.
It passes only when the holdout edge's interval is above 0 and SPA p < 0.05.

Each trade is compared with what a random entry made on its own symbol, day and side (`search_walks`).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import selection
from app.core.bootstrap import days
from app.core.candles import Candles
from app.core.edge import NOT_JUDGED, Daily, edge_report
from app.core.outcomes import Costs
from app.core.portfolio import simulate
from app.core.signals import EngineConfig
from app.errors import CancelledError, ScalpDeskError
from app.services.research.search_walks import Trades, config_mask, prepare, walk

SIDES = ("both", "long", "short")
SEED = 20240805


@dataclass(frozen=True)
class Grid:
    min_score: tuple[float, ...] = (50, 55, 60, 65, 70, 75, 80, 85)
    sl_atr: tuple[float, ...] = (1.0, 1.5, 2.5)
    tp_atr: tuple[float, ...] = (1.5, 2.5, 4.0)
    max_hold: tuple[int, ...] = (12, 24, 48)
    side: tuple[str, ...] = SIDES
    timeframes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return (len(self.min_score) * len(self.sl_atr) * len(self.tp_atr) * len(self.max_hold) * len(self.side)
                * max(1, len(self.timeframes)))

    def axes(self) -> dict[str, list[Any]]:
        return {"timeframe": list(self.timeframes), "min_score": list(self.min_score), "sl_atr": list(self.sl_atr),
                "tp_atr": list(self.tp_atr), "max_hold": list(self.max_hold), "side": list(self.side)}


@dataclass(frozen=True)
class Config:
    timeframe: str
    min_score: float
    sl_atr: float
    tp_atr: float
    max_hold: int
    side: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


Progress = Callable[[float, str], None]


@dataclass
class Matrix:
    """Per candidate (column) and training day (row): net sums, counts and sums of excess over chance."""

    configs: list[Config]
    days: np.ndarray
    sums: np.ndarray  # (D, N)
    counts: np.ndarray
    excess: np.ndarray


@dataclass
class SearchResult:
    trials: int
    grid: Grid
    cells: list[dict[str, Any]]
    selected: Config | None
    train: dict[str, Any]
    holdout: dict[str, Any]
    pbo: float | None
    deflated_sharpe: float | None
    spa_p_value: float | None
    passed: bool
    message: str
    data: list[dict[str, Any]]
    periods: dict[str, Any]
    timings: dict[str, float]
    seed: int
    min_trades: int
    applied: bool = False
    applied_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials, "grid": {"axes": self.grid.axes(), "cells": self.cells},
            "selected": None if self.selected is None else self.selected.to_dict(), "train": self.train,
            "holdout": self.holdout, "pbo": self.pbo, "deflated_sharpe": self.deflated_sharpe,
            "spa_p_value": self.spa_p_value, "passed": self.passed, "applied": self.applied,
            "applied_to": self.applied_to, "message": self.message, "data": self.data, "periods": self.periods,
            "min_trades": self.min_trades, "seed": self.seed, "timings_s": self.timings, **self.extra,
        }


def search(series: dict[str, list[Candles]], cfg: EngineConfig, costs: Costs, grid: Grid, min_trades: int = 300,
           holdout_share: float = 0.3, seed: int = SEED, progress: Progress | None = None,
           cancel: Any = None) -> SearchResult:
    """Run the whole search on `series` (timeframe -> candles of each symbol)."""
    report = progress or (lambda f, m: None)

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("search cancelled")

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    every = [c for cs in series.values() for c in cs if len(c)]
    if not every:
        raise ScalpDeskError("no candles to search on")
    start = min(int(c.time[0]) for c in every)
    end = max(int(c.time[-1]) + c.tf_ms for c in every)
    split = selection.Holdout(start, end, holdout_share)
    grid = dataclasses.replace(grid, timeframes=tuple(series))
    floor = float(min(grid.min_score))
    walks: dict[tuple[str, float, float, int], Trades] = {}
    combos = list(itertools.product(grid.sl_atr, grid.tp_atr, grid.max_hold))
    total = len(series) * (1 + len(combos))
    step = 0
    for tf, cs in series.items():
        report(step / total * 0.6, f"scoring {tf}: {len(cs)} series")
        prepared = prepare(cs, cfg, floor, check)
        step += 1
        for sl, tp, bars in combos:
            check()
            wcfg = dataclasses.replace(cfg, sl_atr=float(sl), tp_atr=float(tp), max_hold=int(bars))
            walks[(tf, float(sl), float(tp), int(bars))] = walk(prepared, wcfg, costs, split.cut_ms)
            step += 1
            report(step / total * 0.6, f"{tf}: stop {sl:g}, target {tp:g}, hold {bars}")
    timings["signals_and_walks"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    configs = [Config(tf, float(m), float(sl), float(tp), int(h), side)
               for (tf, sl, tp, h), m, side in itertools.product(walks, grid.min_score, grid.side)]
    mat = _matrix(configs, walks, split, check)
    timings["matrix"] = time.perf_counter() - t1
    report(0.65, f"{len(configs)} settings evaluated on the training period")

    n_train = mat.counts.sum(0)
    exp_train, trusted = selection.trusted_mean(mat.sums, mat.counts)
    eligible = n_train >= min_trades
    cells = [{**c.to_dict(), "train_n": int(n), "train_expectancy_pct": None if not np.isfinite(e) else float(e),
              "train_lower_pct": None if not np.isfinite(lo) else float(lo), "eligible": bool(ok)}
             for c, n, e, lo, ok in zip(configs, n_train, exp_train, trusted, eligible, strict=True)]
    best = selection.choose(mat.sums, mat.counts, min_trades)

    t2 = time.perf_counter()
    report(0.7, "overfitting statistics (CSCV)")
    blocks = selection.block_of(mat.days * 86_400_000, start, split.cut_ms, 10)
    bs = np.zeros((10, len(configs)))
    bc = np.zeros((10, len(configs)))
    np.add.at(bs, blocks, mat.sums)
    np.add.at(bc, blocks, mat.counts)
    pbo = selection.probability_of_backtest_overfitting(bs, bc, min_count=max(1, min_trades // 10)) \
        if len(mat.days) >= 10 else None
    check()
    report(0.8, "reality check (SPA) against random entries")
    spa = selection.spa_p_value(mat.excess[:, eligible], seed=seed) if eligible.any() and len(mat.days) > 5 else None
    dsr = _deflated(mat, best, eligible)
    timings["statistics"] = time.perf_counter() - t2
    check()

    t3 = time.perf_counter()
    report(0.9, "walk-forward inside the training period")
    wf = _walk_forward(mat, walks, split, start, min_trades)
    if best is None:
        chosen = None
        train: dict[str, Any] = {"expectancy": None, "edge": None, "walk_forward": wf}
        hold: dict[str, Any] = {"expectancy": None, "edge": None, "verdict": None, "portfolio": None}
        passed = False
        message = (f"nothing to choose: none of the {len(configs):,} settings had {min_trades} trades in the "
                   f"training period; give more history or lower --min-trades")
    else:
        chosen = configs[best]
        tr = walks[(chosen.timeframe, chosen.sl_atr, chosen.tp_atr, chosen.max_hold)]
        mask = config_mask(tr, chosen.min_score, chosen.side)
        train = {**_judge(tr.select(mask & split.train(tr.time, tr.horizon_ms)), seed), "walk_forward": wf}
        hold = _judge(tr.select(mask & split.test(tr.time)), seed, with_portfolio=True)
        edge_lo = (hold["edge"] or {}).get("ci_low")
        passed = bool(edge_lo is not None and edge_lo > 0 and spa is not None and spa < 0.05)
        message = _words(len(configs), chosen, train, hold, spa, passed)
    timings["judging"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    report(1.0, "done")
    data = [{"symbol": c.symbol, "timeframe": c.timeframe, "candles": len(c), "first": int(c.time[0]),
             "last": int(c.time[-1])} for c in every]
    periods = {"train": {"from": start, "to": split.cut_ms}, "holdout": {"from": split.cut_ms, "to": end},
               "holdout_share": holdout_share}
    return SearchResult(len(configs), grid, cells, chosen, train, hold, None if pbo is None else pbo.pbo, dsr, spa,
                        passed, message, data, periods, timings, seed, min_trades,
                        extra={"configs_per_s": len(configs) / max(1e-9, timings["total"]),
                               "cscv_splits": None if pbo is None else pbo.splits})


def _matrix(configs: list[Config], walks: dict[tuple[str, float, float, int], Trades], split: selection.Holdout,
            check: Callable[[], None]) -> Matrix:
    train_days = np.unique(np.concatenate([days(t.time[split.train(t.time, t.horizon_ms)]) for t in walks.values()]))
    d = len(train_days)
    sums = np.zeros((d, len(configs)))
    counts = np.zeros((d, len(configs)))
    excess = np.zeros((d, len(configs)))
    cache: dict[tuple[str, float, float, int], tuple[Trades, np.ndarray]] = {}
    for j, c in enumerate(configs):
        if j % 200 == 0:
            check()
        key = (c.timeframe, c.sl_atr, c.tp_atr, c.max_hold)
        if key not in cache:
            tr = walks[key]
            keep = split.train(tr.time, tr.horizon_ms)
            sub = tr.select(keep)
            cache = {key: (sub, np.searchsorted(train_days, days(sub.time)))}
        sub, pos = cache[key]
        m = config_mask(sub, c.min_score, c.side)
        sums[:, j] = np.bincount(pos[m], weights=sub.pnl[m], minlength=d)
        counts[:, j] = np.bincount(pos[m], minlength=d)
        excess[:, j] = np.bincount(pos[m], weights=sub.pnl[m] - sub.chance[m], minlength=d)
    return Matrix(configs, train_days, sums, counts, excess)


def _deflated(mat: Matrix, best: int | None, eligible: np.ndarray) -> float | None:
    """Deflated Sharpe ratio of the chosen setting's daily results (sum of its trades' % per day) for the number of
    settings tried, with the variance of the eligible settings' Sharpe ratios."""
    if best is None or len(mat.days) < 10:
        return None
    sharpe = np.array([selection.sharpe_moments(mat.sums[:, j])[0] for j in np.flatnonzero(eligible)])
    sr, skew, kurt = selection.sharpe_moments(mat.sums[:, best])
    value = selection.deflated_sharpe(sr, len(mat.days), len(mat.configs), float(np.var(sharpe, ddof=1))
                                      if len(sharpe) > 1 else 0.0, skew, kurt)
    return None if not np.isfinite(value) else value


def _walk_forward(mat: Matrix, walks: dict[tuple[str, float, float, int], Trades], split: selection.Holdout,
                  start: int, min_trades: int, folds: int = 4) -> dict[str, Any]:
    """The search's own selection (`selection.choose` on the training days before each fold whose trades all end
    before it: purged) judged on the fold, inside training."""
    edges = selection.PurgedWalkForward(folds).time_edges(start, split.cut_ms)
    horizon = max((t.horizon_ms for t in walks.values()), default=0)
    pnl: list[np.ndarray] = []
    chosen = []
    for k in range(1, folds + 1):
        a, b = int(edges[k]), int(edges[k + 1])
        rows = (mat.days + 1) * 86_400_000 + horizon < a
        j = selection.choose(mat.sums[rows], mat.counts[rows], min_trades * k // (folds + 1))
        if j is None:
            continue
        best = mat.configs[j]
        mean, lower = selection.trusted_mean(mat.sums[rows][:, [j]], mat.counts[rows][:, [j]])
        tr = walks[(best.timeframe, best.sl_atr, best.tp_atr, best.max_hold)]
        m = config_mask(tr, best.min_score, best.side) & (tr.time >= a) & (tr.time + tr.horizon_ms < b)
        pnl.append(tr.pnl[m])
        chosen.append({"fold": k, "chosen": best.to_dict(), "train_expectancy_pct": float(mean[0]),
                       "train_lower_pct": float(lower[0]), "test_n": int(m.sum()),
                       "test_expectancy_pct": float(tr.pnl[m].mean()) if m.any() else None})
    all_pnl = np.concatenate(pnl) if pnl else np.empty(0)
    return {"folds": chosen, "n": len(all_pnl),
            "expectancy_pct": float(all_pnl.mean()) if len(all_pnl) else None}


def _judge(tr: Trades, seed: int, with_portfolio: bool = False) -> dict[str, Any]:
    """Expectancy, edge over chance (same symbol, day and side) and verdict of a set of trades."""
    if len(tr.pnl) == 0:
        return {"n": 0, "expectancy": None, "edge": None, "verdict": None, "verdict_text": None, "portfolio": None}
    rep = edge_report(Daily.of(tr.pnl, tr.time), Daily.of(tr.chance, tr.time), draws=0, seed=seed)
    out: dict[str, Any] = {"n": len(tr.pnl), "expectancy": rep.expectancy.to_dict(),
                           "edge": {"pct": rep.edge.estimate, "ci_low": rep.edge.low, "ci_high": rep.edge.high,
                                    "p_value": rep.p_value},
                           "chance_expectancy_pct": rep.baseline.estimate,
                           "verdict": None if rep.verdict is None else str(rep.verdict),
                           "verdict_text": NOT_JUDGED if rep.verdict is None else rep.verdict.text,
                           "profitable_share": float(np.mean(tr.pnl > 0)), "from": int(tr.time[0]),
                           "to": int(tr.time[-1])}
    if with_portfolio:
        out["portfolio"] = simulate(tr.symbol, tr.entry_ms, tr.exit_ms, tr.pnl, tr.stop_pct).to_dict(curve_points=200)
    return out


def _words(trials: int, chosen: Config, train: dict[str, Any], hold: dict[str, Any], spa: float | None,
           passed: bool) -> str:
    te = (train.get("expectancy") or {}).get("pct")
    he = (hold.get("expectancy") or {}).get("pct")
    what = (f"{chosen.side} {chosen.timeframe}, score >= {chosen.min_score:g}, stop {chosen.sl_atr:g} ATR, target "
            f"{chosen.tp_atr:g} ATR, hold {chosen.max_hold}")
    figures = (f"{'n/a' if te is None else f'{te:+.2f}%'} per trade in training and "
               f"{'n/a' if he is None else f'{he:+.2f}%'} on the holdout")
    if passed:
        tail = "" if hold.get("verdict") == "PROFITABLE" else \
            f"; but on the holdout {hold.get('verdict')}: {hold.get('verdict_text')}"
        return f"passed: the best of {trials:,} settings ({what}) earned {figures}, beating chance{tail}"
    why = []
    edge = hold.get("edge") or {}
    if edge.get("ci_low") is None or edge["ci_low"] <= 0:
        why.append("its holdout edge over random entries is not above 0")
    if spa is None or spa >= 0.05:
        why.append(f"the reality check finds no setting better than chance (SPA p = "
                   f"{'n/a' if spa is None else f'{spa:.2f}'})")
    return f"nothing passed: the best of {trials:,} settings ({what}) earned {figures}; " + " and ".join(why)
