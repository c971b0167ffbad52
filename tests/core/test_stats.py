"""Running totals: a history extended piece by piece reports exactly what the whole history reports."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import stats


@settings(max_examples=200, deadline=None)
@given(pnl=st.lists(st.floats(-5, 5, allow_nan=False), max_size=80), cuts=st.lists(st.integers(0, 80), max_size=6),
       seed=st.integers(0, 2**16))
def test_totals_added_in_pieces_equal_the_summary_of_the_whole(pnl, cuts, seed):
    rng = np.random.default_rng(seed)
    p = np.array(pnl, dtype=np.float64)
    outcome = rng.choice(np.array(["WIN", "LOSS", "EXPIRED"]), len(p))
    bars = rng.integers(1, 30, len(p))
    t = stats.Totals()
    edges = [0, *sorted(c for c in cuts if c <= len(p)), len(p)]
    for a, b in itertools.pairwise(edges):
        t.add(outcome[a:b], p[a:b], bars[a:b])
    whole = stats.summary(outcome, p, bars)
    pieces = stats.summary_of(t)
    assert pieces.keys() == whole.keys()
    for key, value in whole.items():
        assert pieces[key] == (pytest.approx(value, rel=1e-12, abs=1e-9) if isinstance(value, float) else value), key
    equity = np.r_[0.0, np.cumsum(p)]
    assert pieces["max_drawdown_pct"] == pytest.approx(float(np.max(np.maximum.accumulate(equity) - equity)),
                                                       abs=1e-9)
