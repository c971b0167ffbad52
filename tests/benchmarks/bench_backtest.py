"""Issue 3: the whole pipeline (indicators, patterns, scores, signals, outcomes, statistics) on 1,000,000 1m
candles of one symbol. Target: at least 2,000,000 candles per second on one core.
Also times vectorbt and backtesting.py on a comparable simple strategy when they are installed.

Run: .venv/bin/python tests/benchmarks/bench_backtest.py
"""

from __future__ import annotations

import time

from common import measure, report  # type: ignore[import-not-found]

from app.core import stats
from app.core.outcomes import OUTCOME_WORDS, Costs, label
from app.core.signals import EngineConfig, analyse, signals_from_analysis
from app.market.simulated import generate
from app.settings import load

N = 1_000_000


def pipeline(c, cfg, costs, with_features=False):
    an = analyse(c, cfg)
    b = signals_from_analysis(an, cfg, min_score=50.0)
    lab = label(c, b.index, b.side, b.entry, b.stop_loss, b.take_profit, cfg.max_hold, costs)
    done = lab.decided
    outcome = OUTCOME_WORDS[lab.outcome[done]]
    s = stats.summary(outcome, lab.pnl_pct[done], lab.bars_held[done])
    s["by_score"] = stats.by_score(b.score[done], outcome)
    if with_features:
        from app.ml.features import MLFeatureExtractor

        bd = b.select(done)
        MLFeatureExtractor().extract(an, bd.index, bd.side, bd.score, bd.components, bd.patterns)
    return s


def main() -> None:
    cfg = EngineConfig.from_settings(load())
    costs = Costs()
    c = generate(["BTC/USDT"], "1m", N, seed=3)["BTC/USDT"]
    med, times = measure(lambda: pipeline(c, cfg, costs), repeat=5)
    s = pipeline(c, cfg, costs)
    report("ScalpDesk pipeline, 1,000,000 x 1m", med, times,
           f"-> {N / med / 1e6:.2f} M candles/s ({s['signals']} signals labelled)")
    medf, tf = measure(lambda: pipeline(c, cfg, costs, with_features=True), repeat=3)
    report("  ... plus ML features", medf, tf, f"-> {N / medf / 1e6:.2f} M candles/s")
    an = analyse(c, cfg)
    b = signals_from_analysis(an, cfg, min_score=50.0)
    m = min(100_000, len(b))
    sel = slice(0, m)
    ml, lt = measure(lambda: label(c, b.index[sel], b.side[sel], b.entry[sel], b.stop_loss[sel], b.take_profit[sel],
                                   cfg.max_hold, costs), repeat=7)
    report(f"barrier labelling of {m} signals (numpy)", ml, lt)
    _compare_others(c, med)


def _compare_others(c, ours: float) -> None:
    import pandas as pd

    frame = pd.DataFrame({"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close, "Volume": c.volume},
                         index=pd.to_datetime(c.time, unit="ms"))
    try:
        import vectorbt as vbt  # type: ignore[import-not-found]

        t0 = time.perf_counter()
        fast = vbt.MA.run(frame["Close"], 9)
        slow = vbt.MA.run(frame["Close"], 21)
        pf = vbt.Portfolio.from_signals(frame["Close"], fast.ma_crossed_above(slow), fast.ma_crossed_below(slow),
                                        fees=0.001)
        pf.stats()
        dt = time.perf_counter() - t0
        print(f"vectorbt MA-cross: {dt * 1000:.0f} ms -> ours is {dt / ours:.2f}x its speed")
    except ImportError:
        print("vectorbt not installed (pip install vectorbt): not compared")
    try:
        from backtesting import Backtest, Strategy  # type: ignore[import-not-found]
        from backtesting.lib import crossover  # type: ignore[import-not-found]
        from backtesting.test import SMA  # type: ignore[import-not-found]

        class Cross(Strategy):
            def init(self):
                self.a = self.I(SMA, self.data.Close, 9)
                self.b = self.I(SMA, self.data.Close, 21)

            def next(self):
                if crossover(self.a, self.b):
                    self.buy()
                elif crossover(self.b, self.a):
                    self.position.close()

        part = frame.iloc[:100_000]
        t0 = time.perf_counter()
        Backtest(part, Cross, commission=0.001, cash=10_000_000).run()
        dt = (time.perf_counter() - t0) * (len(frame) / len(part))
        print(f"backtesting.py SMA-cross (100k candles, scaled to 1M): {dt * 1000:.0f} ms -> ours is "
              f"{dt / ours:.1f}x its speed")
    except ImportError:
        print("backtesting.py not installed (pip install backtesting): not compared")


if __name__ == "__main__":
    main()
