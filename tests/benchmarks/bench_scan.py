"""Issue 2: one scan of 200 symbols x 1,000 candles (indicators + patterns + score + signals, no network).
Target: at most 100 ms on one core; TA-Lib's indicators alone are the floor.

Run: .venv/bin/python tests/benchmarks/bench_scan.py
"""

from __future__ import annotations

from common import measure, report  # type: ignore[import-not-found]

from app.core import indicators
from app.core.signals import EngineConfig, analyse_many, signals_from_analysis
from app.core.talib_raw import ta
from app.market.simulated import generate
from app.settings import load


def main() -> None:
    cfg = EngineConfig.from_settings(load())
    symbols = [f"S{i:03d}/USDT" for i in range(200)]
    data = list(generate(symbols, "5m", 1000, seed=1).values())

    def scan() -> int:
        return sum(len(signals_from_analysis(an, cfg)) for an in analyse_many(data, cfg, tail=1))

    def talib_only() -> None:
        for c in data:
            h, lo, cl = c.high, c.low, c.close
            ta.RSI(cl, 14)
            ta.MACD(cl, 12, 26, 9)
            for p in (9, 21, 50, 200):
                ta.EMA(cl, p)
            ta.BBANDS(cl, 20, 2.0, 2.0, 0)
            ta.ATR(h, lo, cl, 14)
            ta.STOCH(h, lo, cl, 14, 3, 0, 3, 0)
            ta.ADX(h, lo, cl, 14)

    def indicators_only() -> None:
        for c in data:
            indicators.compute(c.time, c.open, c.high, c.low, c.close, c.volume)

    floor, ft = measure(talib_only)
    report("TA-Lib calls alone (the floor), 200 x 1000", floor, ft)
    ind, it = measure(indicators_only)
    report("our indicators (TA-Lib + VWAP, volume z, widths)", ind, it)
    full, t = measure(scan)
    report("full scan, 200 symbols x 1000 candles", full, t, f"-> {'within' if full <= 0.1 else 'OVER'} 100 ms")


if __name__ == "__main__":
    main()
