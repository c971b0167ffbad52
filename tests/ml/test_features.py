"""Features are the same whether computed in the backtest or in a live scan for the same candle."""

from __future__ import annotations

import numpy as np

from app.core.outcomes import Costs
from app.core.signals import EngineConfig, analyse_many
from app.market.simulated import generate
from app.ml.filter import signal_features
from app.services.research.backtester import backtest_symbol


def test_backtest_and_live_scan_features_are_identical():
    cfg = EngineConfig(min_score=50.0, pattern_points=(("CDLENGULFING", 10.0), ("CDLDOJI", 3.0), ("CDLHARAMI", 6.0)))
    c = generate(["ETH/USDT"], "5m", 3000, seed=4)["ETH/USDT"]
    res = backtest_symbol(c, cfg, Costs(), 50.0)
    times = res.columns["signal_time"]
    assert len(times) > 30
    checked = 0
    for k in np.linspace(0, len(times) - 1, 12).astype(int):
        t = int(times[k])
        upto = int(np.searchsorted(c.time, t)) + 1
        live = c.slice(0, upto)  # what a live scan has when candle t has just closed
        an = analyse_many([live], cfg, tail=1)[0]
        from app.core.signals import signals_from_analysis

        sigs = signals_from_analysis(an, cfg).to_signals()
        assert len(sigs) == 1 and sigs[0].signal_time == t
        feats = signal_features(sigs, {("ETH/USDT", "5m"): an})
        np.testing.assert_array_equal(feats[0], res.columns["features"][k])
        checked += 1
    assert checked == 12
