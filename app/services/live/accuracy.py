"""What history says about a live signal: looked up in the latest finished backtest with the same timeframe and the
same risk settings (stop, target, hold, fees, cost check), for the same symbol, or for all symbols when that one
has too few signals in the score band. Every answer names its scope and run, leads with the expectancy after costs
and its interval, and carries the run's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core import stats
from app.storage import backtests as repo
from app.storage.db import Database

BAND = stats.BAND_WIDTH
RISK_KEYS = (("risk", "sl_atr"), ("risk", "tp_atr"), ("risk", "max_hold_bars"), ("risk", "target_cost_multiple"),
             ("fees", "slippage_pct"))


@dataclass(frozen=True)
class RunTable:
    run_id: int
    verdict: str | None
    by_symbol: dict[tuple[str, float], dict[str, Any]]
    overall: dict[float, dict[str, Any]]


def _risk(settings: dict[str, Any]) -> tuple[Any, ...]:
    """The settings that decide a backtest's outcomes: stop, target, hold, cost check, fee and slippage."""
    from app.settings import FEE_PRESETS

    out = []
    for group, key in RISK_KEYS:
        value = (settings.get(group) or {}).get(key)
        out.append(None if value is None else float(value))
    fees = settings.get("fees") or {}
    fee = FEE_PRESETS.get(fees.get("preset", "custom"), fees.get("taker_pct"))
    out.append(None if fee is None else float(fee))
    return tuple(out)


class AccuracyTable:
    """Per timeframe: the run it comes from, and per (symbol, band) and per band its figures (stats.Groups)."""

    def __init__(self, tables: dict[str, RunTable] | None = None, risk: tuple[Any, ...] | None = None) -> None:
        self.tables = tables or {}
        self.risk = risk

    @property
    def run_id(self) -> int | None:
        """The newest run used (None: no matching backtest at all)."""
        return max((t.run_id for t in self.tables.values()), default=None)

    @property
    def buckets(self) -> list[dict[str, Any]]:
        """Bands of the newest run over all symbols (the drift monitor's and the charts' expectation)."""
        t = next((t for t in self.tables.values() if t.run_id == self.run_id), None)
        return [] if t is None else [t.overall[b] for b in sorted(t.overall)]

    def verdict(self) -> dict[str, Any] | None:
        """The newest matching run's verdict: {run_id, verdict, text}; None without a backtest."""
        t = next((t for t in self.tables.values() if t.run_id == self.run_id), None)
        if t is None or t.verdict is None:
            return None
        from app.core.edge import Verdict

        return {"run_id": t.run_id, "verdict": t.verdict, "text": Verdict(t.verdict).text}

    @classmethod
    def from_db(cls, db: Database, settings: Any = None, live_source: str | None = None) -> AccuracyTable:
        """Per timeframe, the finished run with the most stored signals (the newest of equals) among those whose
        risk settings equal `settings`' (any run when None): a quick one-week explorer run does not replace the
        history a large backtest measured. A simulated market's runs speak only for the simulated market, and only
        they do: real signals never show simulated history (`live_source` None: real)."""
        want = _risk(settings.to_dict()) if settings is not None else None
        simulated = live_source == "SIMULATED"
        best: dict[str, tuple[int, dict[str, Any]]] = {}
        for run in repo.finished_runs(db):  # newest first: a later equal-sized run does not displace it
            if want is not None and _risk(run["settings"] or {}) != want:
                continue
            if (repo.run_source(run) == "SIMULATED") != simulated:
                continue
            counts = run.get("counts") or {}
            size = int(counts.get("stored", counts.get("signals", 0)) or 0)
            for tf in {d.get("timeframe") for d in run["data"] or []} - {None}:
                if str(tf) not in best or size > best[str(tf)][0]:
                    best[str(tf)] = (size, run)
        return cls({tf: _table(db, run, tf) for tf, (_, run) in best.items()}, want)

    def lookup(self, score: float, symbol: str | None = None, timeframe: str | None = None) -> dict[str, Any]:
        """The band of `score`: the symbol's own figures when it has enough signals there, else all symbols'.
        win_rate and expectancy are None ("not enough history") under 30 samples or with no matching run."""
        b = stats.band_of(score)
        empty = {"lo": b, "hi": b + BAND, "n": 0, "wins": 0, "win_rate": None, "ci_low": None, "ci_high": None,
                 "expectancy_pct": None, "exp_ci_low": None, "exp_ci_high": None, "break_even_win_rate": None,
                 "scope": None, "run_id": None,
                 "verdict": None}
        t = self.tables.get(timeframe) if timeframe else next(iter(self.tables.values()), None)
        if t is None:
            return empty
        own = t.by_symbol.get((symbol, b)) if symbol else None
        if own is not None and own["n"] >= stats.MIN_SAMPLES:
            return {**empty, **own, "scope": f"{symbol} {timeframe or ''}".strip(), "run_id": t.run_id,
                    "verdict": t.verdict}
        entry = t.overall.get(b)
        if entry is None:
            return {**empty, "run_id": t.run_id, "verdict": t.verdict}
        return {**empty, **entry, "scope": f"all symbols {timeframe or ''}".strip(), "run_id": t.run_id,
                "verdict": t.verdict}

    def text(self, score: float, symbol: str | None = None, timeframe: str | None = None) -> str:
        return accuracy_text(self.lookup(score, symbol, timeframe))


def accuracy_text(e: dict[str, Any]) -> str:
    """'-0.21% per trade (-0.33 to -0.09), win 39% of 519 · BTC/USDT 5m, run 3: NO_EDGE' or
    'not enough history (n=12)'."""
    if e.get("run_id") is None:
        return "not enough history (no backtest with these risk settings)"
    if e.get("expectancy_pct") is None:
        return f"not enough history (n={e.get('n', 0)}) · run {e['run_id']}"
    ci = "" if e.get("exp_ci_low") is None else f" ({e['exp_ci_low']:+.2f} to {e['exp_ci_high']:+.2f})"
    be = e.get("break_even_win_rate")
    return (f"{e['expectancy_pct']:+.2f}% per trade{ci}, win {e['win_rate']:.0%} of {e['n']} (break-even "
            f"{'n/a' if be is None else f'{be:.0%}'}) · {e['scope']}, run {e['run_id']}: "
            f"{e['verdict'] or 'no verdict'}")


def _table(db: Database, run: dict[str, Any], timeframe: str) -> RunTable:
    cols = repo.load_outcomes(db, int(run["id"]), timeframe)
    groups = stats.Groups(cols["outcome"] == "WIN", cols["pnl_pct"], cols["signal_time"], reps=500)
    band = stats.band_of(cols["score"]) if len(cols["score"]) else np.empty(0)
    overall = {float(b): {"lo": float(b), "hi": float(b) + BAND, **groups.entry(band == b)} for b in np.unique(band)}
    by_symbol: dict[tuple[str, float], dict[str, Any]] = {}
    for sym in np.unique(cols["symbol"]):
        is_sym = cols["symbol"] == sym
        for b in np.unique(band[is_sym]):
            by_symbol[(str(sym), float(b))] = {"lo": float(b), "hi": float(b) + BAND,
                                               **groups.entry(is_sym & (band == b))}
    verdict = (run.get("counts") or {}).get("verdict")
    return RunTable(int(run["id"]), verdict, by_symbol, overall)
