"""Charts: candle pictures are cached per chunk and a new candle redraws only the last chunk; the view stays where
the user put it until "follow live"; the selected signal's levels are always inside the y range; prices read in
the pair's tick size; calibration draws only groups with enough samples."""

from __future__ import annotations

import numpy as np

from app.services.live.chart_data import SignalMark
from app.ui.charts import CHUNK, CalibrationChart, CandleChart


def _series(n: int, seed: int = 0):
    t = (1_700_000_000 + np.arange(n) * 60) * 1000.0
    c = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 0.1, n))
    return t, c, c + 0.2, c - 0.2, c + 0.05, np.ones(n)


def _chart(qtbot, n: int = CHUNK * 10 + 5) -> tuple[CandleChart, tuple]:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(800, 500)
    chart.show()
    t, o, h, lo, c, v = _series(n)
    chart.show_candles("X/USDT", "1m", t, o, h, lo, c, v, tick=0.01)
    return chart, (t, o, h, lo, c, v)


def test_new_candle_invalidates_only_the_last_chunk(qtbot):
    chart, (t, o, h, lo, c, v) = _chart(qtbot)
    n = len(t)
    item = chart.candles
    for k in range(n // CHUNK + 1):
        item._picture(k, False)
    cached = set(item._pictures)
    t2 = np.append(t, t[-1] + 60_000)
    drawn = chart.show_candles("X/USDT", "1m", t2, np.append(o, 100.0), np.append(h, 100.5), np.append(lo, 99.5),
                               np.append(c, 100.2), np.append(v, 1.0))
    assert drawn == 2  # the revised last candle and the new one, not the whole series
    assert set(item._pictures) == cached - {(n // CHUNK, False), (n // CHUNK, True)}
    assert len(chart.data) == n + 1 and item.boundingRect().right() >= chart.data.x[-1]


def test_a_refresh_with_the_same_candles_redraws_no_chunk_but_the_last(qtbot):
    chart, series = _chart(qtbot)
    for k in range(len(series[0]) // CHUNK + 1):
        chart.candles._picture(k, False)
    before = set(chart.candles._pictures)
    chart.show_candles("X/USDT", "1m", *series)
    assert len(before - set(chart.candles._pictures)) <= 2  # only the last chunk (both levels of detail)


def test_zoom_stays_where_the_user_put_it_until_follow_live(qtbot):
    chart, (t, o, h, lo, c, v) = _chart(qtbot)
    assert chart.follow
    chart.price.vb.sigRangeChangedManually.emit([True, False])  # the user dragged or zoomed
    assert not chart.follow
    chart.price.setXRange(t[100] / 1000, t[300] / 1000, padding=0)
    for k in range(1, 12):  # a dozen new candles at the live edge
        t2 = np.append(t, t[-1] + np.arange(1, k + 1) * 60_000)
        extra = np.full(k, 100.0)
        chart.show_candles("X/USDT", "1m", t2, np.append(o, extra), np.append(h, extra + 0.3),
                           np.append(lo, extra - 0.3), np.append(c, extra), np.append(v, extra))
    left, right = chart.price.viewRange()[0]
    assert abs(left - t[100] / 1000) < 1 and abs(right - t[300] / 1000) < 1
    chart.set_follow(True)
    left, right = chart.price.viewRange()[0]
    assert left < chart.data.x[-1] < right


def test_levels_are_always_inside_the_y_range_with_price_tags(qtbot):
    chart, (_t, _o, _h, _lo, c, _v) = _chart(qtbot)
    entry = float(c[-1])
    far = entry * 1.2  # a target far above every visible candle
    chart.show_levels(entry, entry * 0.95, far)
    low, high = chart.price.viewRange()[1]
    assert low < entry * 0.95 and high > far
    assert chart.level_lines["target"].label.format.startswith(f"TP {far:.2f}")
    chart.clear_levels()
    assert not any(line.isVisible() for line in chart.level_lines.values())
    assert chart.price.viewRange()[1][1] < far  # the range fits the candles again


def test_prices_in_the_tick_size_and_volume_in_k_m_b(qtbot):
    chart = CandleChart()
    qtbot.addWidget(chart)
    t = (1_700_000_000 + np.arange(300) * 60) * 1000.0
    p = 1.092e-05 + np.arange(300) * 1e-8
    chart.show_candles("PEPE/USDT", "1m", t, p, p + 2e-8, p - 2e-8, p, np.full(300, 6e11), tick=1e-8)
    assert chart.price_axis.tickStrings([1.092e-05], 1.0, 1e-7) == ["0.00001092"]
    assert "e-0" not in chart.readout_text(10)
    assert "V 600B" in chart.readout_text(10)


def test_markers_show_every_signal_with_its_outcome(qtbot):
    chart, (t, *_rest) = _chart(qtbot)
    marks = [SignalMark(1, "LONG", int(t[10]), 100.0, 99.0, 102.0, "WIN", int(t[20]), 102.0, 1.7, 70.0),
             SignalMark(2, "SHORT", int(t[30]), 100.0, 101.0, 98.0, "LOSS", int(t[35]), 101.0, -1.2, 66.0),
             SignalMark(3, "LONG", int(t[-5]), 100.0, 99.0, 102.0, "OPEN", None, None, None, 61.0)]
    chart.show_marks(marks, 60.0)
    spots = chart.markers.data
    assert len(spots) == 5  # three entries, two outcomes (the open one has none yet)
    assert sorted(str(d) for d in spots["data"])[0].startswith("LONG at 100.00")
    assert any("LOSS at 101.00 · -1.20% after fees" in str(d) for d in spots["data"])


def test_switching_pairs_redraws_everything(qtbot):
    chart, _ = _chart(qtbot)
    t, o, h, lo, c, v = _series(500, seed=3)
    assert chart.show_candles("Y/USDT", "1m", t, o, h, lo, c, v) == 500
    assert chart.symbol == "Y/USDT" and len(chart.data) == 500


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
