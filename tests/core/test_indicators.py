"""Indicators against independent reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.core import indicators


def _series(n=400, seed=1):
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[100.0, c[:-1]]
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.003, n)))
    lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.003, n)))
    v = rng.lognormal(3, 0.5, n)
    t = 1_704_067_200_000 + np.arange(n, dtype=np.int64) * 300_000
    return t, o, h, lo, c, v


def ref_rsi(c, p=14):
    d = np.diff(c)
    gain, loss = np.maximum(d, 0), np.maximum(-d, 0)
    ag, al = gain[:p].mean(), loss[:p].mean()
    out = np.full(len(c), np.nan)
    out[p] = 100 - 100 / (1 + ag / al)
    for i in range(p + 1, len(c)):
        ag = (ag * (p - 1) + gain[i - 1]) / p
        al = (al * (p - 1) + loss[i - 1]) / p
        out[i] = 100 - 100 / (1 + ag / al)
    return out


def ref_ema(c, p):
    out = np.full(len(c), np.nan)
    out[p - 1] = c[:p].mean()
    k = 2 / (p + 1)
    for i in range(p, len(c)):
        out[i] = c[i] * k + out[i - 1] * (1 - k)
    return out


def test_rsi_and_ema_match_reference():
    t, o, h, lo, c, v = _series()
    ind = indicators.compute(t, o, h, lo, c, v)
    np.testing.assert_allclose(ind["rsi"][14:], ref_rsi(c)[14:], rtol=1e-9)
    for p in (9, 21, 50, 200):
        np.testing.assert_allclose(ind[f"ema{p}"][p - 1:], ref_ema(c, p)[p - 1:], rtol=1e-9)
        assert np.all(np.isnan(ind[f"ema{p}"][: p - 1]))


def test_bollinger_and_atr_match_reference():
    t, o, h, lo, c, v = _series()
    ind = indicators.compute(t, o, h, lo, c, v)
    s = pd.Series(c)
    mid = s.rolling(20).mean()
    sd = s.rolling(20).std(ddof=0)
    np.testing.assert_allclose(ind["bb_middle"][19:], mid[19:], rtol=1e-9)
    np.testing.assert_allclose(ind["bb_upper"][19:], (mid + 2 * sd)[19:], rtol=1e-9)
    tr = np.maximum(h[1:] - lo[1:], np.maximum(np.abs(h[1:] - c[:-1]), np.abs(lo[1:] - c[:-1])))
    atr = np.full(len(c), np.nan)
    atr[14] = tr[:14].mean()
    for i in range(15, len(c)):
        atr[i] = (atr[i - 1] * 13 + tr[i - 1]) / 14
    np.testing.assert_allclose(ind["atr"][14:], atr[14:], rtol=1e-9)


def test_macd_is_difference_of_emas():
    t, o, h, lo, c, v = _series()
    ind = indicators.compute(t, o, h, lo, c, v)
    ok = np.isfinite(ind["macd"])
    # TA-Lib aligns both EMAs at the slow one's start; far from the start they equal plain EMAs
    np.testing.assert_allclose(ind["macd"][200:], (ref_ema(c, 12) - ref_ema(c, 26))[200:], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ind["macd_hist"][ok], (ind["macd"] - ind["macd_signal"])[ok], atol=1e-12)


def test_vwap_resets_each_utc_day():
    t, _o, h, lo, c, v = _series(n=700)
    vwap = indicators.session_vwap(t, h, lo, c, v)
    frame = pd.DataFrame({"day": t // 86_400_000, "pv": (h + lo + c) / 3 * v, "v": v})
    ref = frame.groupby("day")["pv"].cumsum() / frame.groupby("day")["v"].cumsum()
    np.testing.assert_allclose(vwap, ref.to_numpy(), rtol=1e-12)


def test_volume_zscore():
    t, o, h, lo, c, v = _series()
    ind = indicators.compute(t, o, h, lo, c, v)
    s = pd.Series(v)
    ref = (s - s.rolling(20).mean()) / s.rolling(20).std(ddof=0)
    np.testing.assert_allclose(ind["vol_z"][19:], ref[19:], rtol=1e-7)


def test_indicators_are_causal():
    t, o, h, lo, c, v = _series()
    full = indicators.compute(t, o, h, lo, c, v)
    cut = indicators.compute(t[:300], o[:300], h[:300], lo[:300], c[:300], v[:300])
    for name, values in cut.items():
        np.testing.assert_array_equal(values, full[name][:300], err_msg=name)
