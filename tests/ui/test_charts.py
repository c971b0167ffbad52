"""Charts: candle pictures are cached per chunk and a new candle redraws only the last chunk; calibration draws
only groups with enough samples."""

from __future__ import annotations

import numpy as np

from app.ui.charts import CHUNK, CalibrationChart, CandleChart


def test_new_candle_invalidates_only_the_last_chunk(qtbot):
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(800, 400)
    chart.show()
    n = CHUNK * 10 + 5
    t = (1_700_000_000 + np.arange(n) * 60) * 1000.0
    c = 100 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, n))
    chart.show_candles("X/USDT", t, c, c + 0.2, c - 0.2, c + 0.05, np.ones(n))
    item = chart.candles
    for k in range(n // CHUNK + 1):
        item._picture(k, False)
    cached = set(item._pictures)
    item.append(t[-1] / 1000 + 60, 100.0, 100.5, 99.5, 100.2)
    assert set(item._pictures) == cached - {(n // CHUNK, False), (n // CHUNK, True)}
    assert len(item.x) == n + 1 and item.boundingRect().right() >= item.x[-1]


def test_calibration_draws_only_groups_with_enough_samples(qtbot):
    chart = CalibrationChart()
    qtbot.addWidget(chart)
    chart.show_calibration({
        "live": [{"lo": 60.0, "win_rate": 0.4, "ci_low": 0.3, "ci_high": 0.5, "n": 40},
                 {"lo": 65.0, "win_rate": None, "ci_low": None, "ci_high": None, "n": 7}],
        "backtest": [], "ml": [{"mean_predicted": 0.62, "win_rate": 0.55, "ci_low": 0.45, "ci_high": 0.65, "n": 50}]})
    x, y = chart.live_pts.getData()
    assert list(y) == [0.4] and len(x) == 1
    assert list(chart.ml_pts.getData()[0]) == [0.62]
