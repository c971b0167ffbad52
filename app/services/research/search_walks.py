"""The walks of the strategy search: one timeframe's signals scored once (`prepare`), then walked under one stop,
target and hold (`walk`) into decided trades, each beside what a random entry made on its symbol, day and side.

Random entries here are the expectation of a random entry on the same symbol, day and side under the same rules
(the mean result of entering at every candidate candle of that day, subsampled to about 100 a day): every trade is
compared with what chance made on its own day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core import baseline
from app.core.bootstrap import days
from app.core.candles import Candles
from app.core.outcomes import Costs, label
from app.core.signals import EngineConfig, analyse, signals_from_analysis


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
