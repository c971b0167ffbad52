"""A seeded offline market: several correlated symbols with volatility clustering, fat tails and
volume that follows the time of day. Everything it produces is SIMULATED and labelled so.

Model per candle: log-volatility is an AR(1) process (stochastic volatility: clustering), shocks are
Student-t (fat tails), each symbol's shock mixes a common market factor (correlation) with its own.
High and low extend beyond open/close by a half-normal excursion scaled by the candle's volatility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.candles import Candles, timeframe_ms

SIM_LABEL = "SIMULATED"

DEFAULT_PRICES = {
    "BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0, "XRP/USDT": 0.55, "DOGE/USDT": 0.12,
    "AVAX/USDT": 30.0, "LINK/USDT": 14.0, "LTC/USDT": 75.0, "PEPE/USDT": 0.00001, "WIF/USDT": 2.5,
}


# Standard deviation of 5m log returns of the real pairs (Binance, 2024-01 to 2024-09, ../shared/data): the simulated
# pairs move like their namesakes, so a simulated BTC's targets meet its costs as rarely as the real one's.
DEFAULT_VOLS = {
    "BTC/USDT": 0.0017, "ETH/USDT": 0.0020, "SOL/USDT": 0.0032, "XRP/USDT": 0.0024, "DOGE/USDT": 0.0034,
    "AVAX/USDT": 0.0031, "LINK/USDT": 0.0027, "LTC/USDT": 0.0023, "PEPE/USDT": 0.0062, "WIF/USDT": 0.0060,
}
OTHER_VOL = 0.0028


@dataclass(frozen=True)
class SimParams:
    vol_per_candle: float | None = None  # at 5m; None: each pair's own (DEFAULT_VOLS), the same for all otherwise
    vol_persistence: float = 0.995  # AR(1) coefficient of log-volatility
    vol_of_vol: float = 0.08
    tail_df: float = 4.0  # Student-t degrees of freedom
    correlation: float = 0.6  # weight of the common factor
    drift: float = 0.0
    momentum: float = 0.0  # AR(1) coefficient of returns: > 0 plants a trend-following edge (tests), 0 a random walk


def generate(symbols: list[str], timeframe: str, n: int, seed: int, start_ms: int = 1_704_067_200_000,
             params: SimParams | None = None) -> dict[str, Candles]:
    """n candles per symbol, reproducible from the seed (same seed, same candles)."""
    p = params or SimParams()
    tf = timeframe_ms(timeframe)
    scale = np.sqrt(tf / 300_000.0)  # volatility grows with the square root of the candle length
    rng = np.random.default_rng(seed)
    time = start_ms + np.arange(n, dtype=np.int64) * tf
    hour = (time // 3_600_000) % 24
    season = 1.0 + 0.6 * np.cos((hour - 15.0) / 24.0 * 2 * np.pi)  # busiest around 15:00 UTC
    out: dict[str, Candles] = {}
    t_scale = np.sqrt((p.tail_df - 2.0) / p.tail_df)
    common = rng.standard_t(p.tail_df, size=n) * t_scale
    common_vol = rng.normal(0.0, p.vol_of_vol, size=n)
    for i, sym in enumerate(symbols):
        own_noise = rng.normal(0.0, p.vol_of_vol, size=n)
        noise = np.sqrt(p.correlation) * common_vol + np.sqrt(1.0 - p.correlation) * own_noise
        log_vol = _ar1(noise, p.vol_persistence)
        vol = p.vol_per_candle if p.vol_per_candle is not None else DEFAULT_VOLS.get(sym, OTHER_VOL)
        sigma = vol * scale * np.exp(log_vol) * np.sqrt(season)
        own = rng.standard_t(p.tail_df, size=n) * t_scale
        shock = np.sqrt(p.correlation) * common + np.sqrt(1.0 - p.correlation) * own
        ret = p.drift + sigma * shock
        if p.momentum:
            ret = _ar1(ret, p.momentum)
        price0 = DEFAULT_PRICES.get(sym, 100.0 * (1 + i))
        close = price0 * np.exp(np.cumsum(ret))
        open_ = np.r_[price0, close[:-1]]
        up = np.abs(rng.normal(0.0, 1.0, size=n)) * sigma * 0.6
        down = np.abs(rng.normal(0.0, 1.0, size=n)) * sigma * 0.6
        high = np.maximum(open_, close) * np.exp(up)
        low = np.minimum(open_, close) * np.exp(-down)
        base_volume = 1_000_000.0 / price0
        volume = base_volume * season * (1.0 + 40.0 * np.abs(ret)) * rng.lognormal(0.0, 0.35, size=n)
        out[sym] = Candles.from_arrays(sym, timeframe, time, open_, high, low, close, volume)
    return out


def _ar1(x: np.ndarray, phi: float) -> np.ndarray:
    """y[t] = phi * y[t-1] + x[t], computed in closed form over chunks short enough for phi**-k to stay finite."""
    out = np.empty_like(x)
    prev = 0.0
    chunk = max(1, min(2000, int(200.0 / -np.log10(abs(phi))))) if 0 < abs(phi) < 1 else 1
    for a in range(0, len(x), chunk):
        seg = x[a:a + chunk]
        k = np.arange(len(seg))
        powers = phi ** k
        out[a:a + len(seg)] = powers * (prev * phi + np.cumsum(seg / powers))
        prev = float(out[a + len(seg) - 1])
    return out


class SimulatedMarket:
    """Candles up to a clock: a candle is visible once it has closed (open + timeframe <= now)."""

    label = SIM_LABEL

    def __init__(self, symbols: list[str], timeframe: str, seed: int, history: int = 1000,
                 future: int = 20_000, now_ms: int | None = None) -> None:
        tf = timeframe_ms(timeframe)
        self.timeframe = timeframe
        self.symbols = list(symbols)
        # The simulated history ends at the clock when the market is created.
        if now_ms is None:
            import time as _time

            now_ms = int(_time.time() * 1000)
        last_closed_open = (now_ms // tf) * tf - tf
        start = last_closed_open - (history - 1) * tf
        self._data = generate(self.symbols, timeframe, history + future, seed, start_ms=start)
        self._tf = tf

    def candles(self, symbol: str, now_ms: int, limit: int) -> Candles:
        data = self._data[symbol]
        stop = int(np.searchsorted(data.time, now_ms - self._tf, side="right"))
        return data.slice(max(0, stop - limit), stop)
