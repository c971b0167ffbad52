"""Prices in the pair's own tick size: inferred from real candles, six significant digits for a simulated market's
floats, never exponent notation; volumes in K/M/B."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.prices import decimals, format_price, format_volume, infer_tick
from tests.conftest import REAL, needs_real_data


@needs_real_data
@pytest.mark.parametrize(("pair", "tick"), [("BTC_USDT", 0.01), ("ETH_USDT", 0.01), ("PEPE_USDT", 1e-8),
                                            ("DOGE_USDT", 1e-5), ("XRP_USDT", 1e-4), ("WIF_USDT", 1e-3)])
def test_tick_inferred_from_real_binance_candles(pair, tick):
    import pandas as pd

    df = pd.read_feather(REAL / f"{pair}-5m.feather")
    assert infer_tick(df[["open", "high", "low", "close"]].to_numpy()[-500:]) == pytest.approx(tick)


def test_tick_of_decimal_prices_and_of_random_floats():
    assert infer_tick(np.array([64032.01, 64294.4, 64000.0])) == pytest.approx(0.01)
    assert infer_tick(np.array([0.5206, 0.5211])) == pytest.approx(1e-4)
    rng = np.random.default_rng(1)
    assert infer_tick(60000 + rng.random(100)) == pytest.approx(0.1)  # six significant digits
    assert infer_tick(1.3e-5 * (1 + rng.random(100) * 0.01)) == pytest.approx(1e-10)
    assert infer_tick(np.array([])) == 0.01


def test_entry_and_stop_share_the_ticks_decimals():
    assert (format_price(64032.0, 0.01), format_price(64294.4, 0.01)) == ("64032.00", "64294.40")
    assert format_price(1.092e-05, 1e-8) == "0.00001092"
    assert format_price(None, 0.01) == ""
    assert [decimals(t) for t in (0.01, 0.5, 0.25, 5.0, 1e-8)] == [2, 1, 2, 0, 8]


def test_volume_in_thousands_millions_billions():
    assert [format_volume(v) for v in (6e11, 1234, 999_999, 0.52, 0)] == ["600B", "1.23K", "1M", "0.52", "0"]
    assert "e" not in format_volume(6e11)
