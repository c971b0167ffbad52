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

Random entries here are the expectation of a random entry on the same symbol, day and side under the same rules
(the mean result of entering at every candidate candle of that day, subsampled to about 100 a day): every trade is
compared with what chance made on its own day.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core import baseline, selection
from app.core.bootstrap import days
from app.core.candles import Candles
from app.core.edge import NOT_JUDGED, Daily, edge_report
from app.core.outcomes import Costs, label
from app.core.portfolio import simulate
from app.core.signals import EngineConfig, analyse, signals_from_analysis
from app.errors import CancelledError, ScalpDeskError

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


@dataclass(eq=False)
class Trades:
    """Decided candidate trades of one walk (timeframe, stop, target, hold), all symbols, in time order."""

    symbol: np.ndarray
    time: np.ndarray  # signal candle open, ms
    entry_ms: np.ndarray
    exit_ms: np.ndarray  # the exit candle's close
    side: np.ndarray
    score: np.ndarray
    pnl: np.ndarray
    chance: np.ndarray  # a random entry's expected result on the same symbol, day and side
    stop_pct: np.ndarray
    horizon_ms: int

    def select(self, mask: np.ndarray) -> Trades:
        cols = {f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self) if f.name != "horizon_ms"}
        return Trades(**cols, horizon_ms=self.horizon_ms)


@dataclass
class SearchData:
    """What one timeframe's signals look like before any outcome is decided."""

    timeframe: str
    analyses: list[Any]
    signals: list[Any]  # SignalBatch per symbol (score >= the grid's lowest minimum, both sides)
    candidates: list[np.ndarray]  # per symbol: candles where any entry could be decided (before the cost check)


Progress = Callable[[float, str], None]


def prepare(series: list[Candles], cfg: EngineConfig, floor: float, check: Callable[[], None]) -> SearchData:
    analyses, signals, cands = [], [], []
    free = dataclasses.replace(cfg, target_cost_multiple=None, sides="both", max_hold=1)
    for c in series:
        check()
        an = analyse(c, free)
        batch = signals_from_analysis(an, free, min_score=floor)
        signals.append(batch.select(~batch.provisional))
        analyses.append(an)
        cands.append(baseline.candidates(an, free))
    return SearchData(series[0].timeframe, analyses, signals, cands)


def walk(data: SearchData, cfg: EngineConfig, costs: Costs, cut_ms: int | None = None) -> Trades:
    """Every candidate signal walked with this stop, target and hold; the cost check applied; each trade beside
    what a random entry made on its symbol, day and side. Random entries whose horizon straddles `cut_ms` (the
    holdout's start) are left out, so that what chance made on a training day never reads a holdout candle."""
    parts: list[dict[str, np.ndarray]] = []
    tf = data.analyses[0].candles.tf_ms if data.analyses else 60_000
    for an, b, cand in zip(data.analyses, data.signals, data.candidates, strict=True):
        c = an.candles
        atr = an.indicators["atr"]
        n, h = len(c), cfg.max_hold
        ok = b.index + h < n
        idx, side = b.index[ok], b.side[ok].astype(np.int64)
        pays = cfg.target_pays(atr[idx], c.close[idx])
        idx, side, score = idx[pays], side[pays], b.score[ok][pays]
        entry = c.open[idx + 1]
        stop = entry - side * cfg.sl_atr * atr[idx]
        take = entry + side * cfg.tp_atr * atr[idx]
        lab = label(c, idx, side, entry, stop, take, h, costs)
        d = lab.decided
        cand_ok = cand[cand + h < n]
        cand_ok = cand_ok[cfg.target_pays(atr[cand_ok], c.close[cand_ok])]
        if cut_ms is not None:
            ct = c.time[cand_ok]
            cand_ok = cand_ok[~((ct < cut_ms) & (ct + (h + 1) * tf >= cut_ms))]
        chance = _chance(c, atr, cand_ok, cfg, costs, tf, cut_ms)
        t = c.time[idx[d]]
        parts.append({
            "symbol": np.full(int(d.sum()), c.symbol, dtype=object), "time": t, "entry_ms": t + tf,
            "exit_ms": c.time[lab.exit_index[d]] + tf, "side": side[d], "score": score[d], "pnl": lab.pnl_pct[d],
            "chance": chance(t, side[d]), "stop_pct": 100.0 * cfg.sl_atr * atr[idx[d]] / entry[d],
        })
    keys = ("symbol", "time", "entry_ms", "exit_ms", "side", "score", "pnl", "chance", "stop_pct")
    cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in keys}
    order = np.argsort(cols["time"], kind="stable")
    return Trades(**{k: v[order] for k, v in cols.items()}, horizon_ms=(cfg.max_hold + 1) * tf)


def _chance(c: Candles, atr: np.ndarray, cand: np.ndarray, cfg: EngineConfig, costs: Costs, tf: int,
            cut_ms: int | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Mean result of entering long (and short) at every candidate candle of each day (about 100 a day). A day
    without any uses the mean of its own period (training or holdout), never the other's."""
    stride = max(1, (86_400_000 // tf) // 96)
    sample = cand[::stride]
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    def key(t: np.ndarray) -> np.ndarray:
        """The day, split in two where the holdout starts inside it (its two parts never mix)."""
        later = np.zeros(len(t), dtype=np.int64) if cut_ms is None else (t >= cut_ms).astype(np.int64)
        return days(t) * 2 + later

    for s in (1, -1):
        r = baseline.walk(c, atr, sample, np.full(len(sample), s), cfg, costs)
        keys, pos = np.unique(key(r.time), return_inverse=True)
        mean = np.bincount(pos, weights=r.pnl, minlength=len(keys)) / np.maximum(np.bincount(pos), 1)
        out[s] = (keys, mean)
    def period_mean(keys: np.ndarray, mean: np.ndarray, later: bool) -> float:
        sel = (keys % 2 == 1) == later
        return float(np.mean(mean[sel])) if sel.any() else 0.0

    def lookup(t: np.ndarray, side: np.ndarray) -> np.ndarray:
        res = np.empty(len(t))
        d = key(t)
        later = d % 2 == 1
        for s, (keys, mean) in out.items():
            sel = side == s
            if not len(keys):
                res[sel] = 0.0
                continue
            pos = np.clip(np.searchsorted(keys, d[sel]), 0, len(keys) - 1)
            hit = keys[pos] == d[sel]
            fallback = np.where(later[sel], period_mean(keys, mean, True), period_mean(keys, mean, False))
            res[sel] = np.where(hit, mean[pos], fallback)
        return res

    return lookup


def config_mask(tr: Trades, min_score: float, side: str) -> np.ndarray:
    m = tr.score >= min_score
    if side == "long":
        m &= tr.side > 0
    elif side == "short":
        m &= tr.side < 0
    return np.asarray(m)


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
