"""Selection statistics against hand-computed cases and the published worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core import selection


def _pbo(perf):
    m = np.asarray(perf, dtype=float)
    return selection.probability_of_backtest_overfitting(m, np.ones_like(m))


def test_cscv_makes_every_half_split():
    splits = list(selection.CSCV(6).split())
    assert len(splits) == math.comb(6, 3)
    for ins, oos in splits:
        assert len(ins) == len(oos) == 3 and not set(ins) & set(oos)


def test_pbo_when_the_in_sample_winner_always_loses_out_of_sample():
    # by hand: every split's in-sample best ranks last of three out of sample: w = 1/4, logit ln(1/3)
    r = _pbo([[1, 0, 2], [2, 1, 0], [0, 2, 1], [1, 1, 1]])
    assert r.splits == 6 and r.pbo == 1.0
    np.testing.assert_allclose(r.logits, math.log(1 / 3))


def test_pbo_when_the_best_stays_best():
    # candidate 2 is best in every block: it wins in-sample and ranks first out of sample, w = 3/4, logit ln 3
    r = _pbo([[1, 0, 2], [0, 1, 2], [1, 0, 3], [0, 1, 2]])
    assert r.pbo == 0.0
    np.testing.assert_allclose(r.logits, math.log(3))


def test_pbo_of_pure_noise_is_about_one_half():
    """With nothing to find, the in-sample winner is a coin flip out of sample (one run varies a lot: 10 blocks
    give 252 overlapping splits, so the average of several is the test)."""
    values = [selection.probability_of_backtest_overfitting(np.random.default_rng(s).normal(size=(10, 200)),
                                                            np.ones((10, 200))).pbo for s in range(12)]
    assert 0.4 < float(np.mean(values)) < 0.65


def test_deflated_sharpe_matches_the_papers_numerical_example():
    """Bailey & López de Prado (2014), 'The Deflated Sharpe Ratio', numerical example: 100 trials, annualised
    Sharpe 2.5 of the best, variance of the trials' annualised Sharpe ratios 1/2, 5 years of daily returns
    (1,250), skewness -3, kurtosis 10: DSR = 0.9004."""
    per_day = 1 / math.sqrt(250)
    dsr = selection.deflated_sharpe(2.5 * per_day, 1250, 100, 0.5 * per_day ** 2, skew=-3.0, kurtosis=10.0)
    assert dsr == pytest.approx(0.9004, abs=0.001)
    # the Sharpe ratio the best of 100 unskilled trials reaches: about 1.79 annualised
    assert selection.expected_max_sharpe(0.5, 100) == pytest.approx(1.7902, abs=0.001)


def test_deflated_sharpe_falls_with_more_trials():
    values = [selection.deflated_sharpe(0.1, 500, n, 0.002) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True) and values[0] > 0.95 > values[-1]


def test_spa_finds_a_real_edge_and_not_noise():
    ps = [selection.spa_p_value(np.random.default_rng(s).normal(size=(300, 40)), reps=500, seed=1)
          for s in range(20)]
    assert sum(p < 0.05 for p in ps) <= 2  # measured: 0 of 20
    noise = np.random.default_rng(5).normal(size=(300, 40))
    real = noise.copy()
    real[:, 7] += 0.5  # one candidate really beats its benchmark
    assert selection.spa_p_value(real, seed=1) < 0.01


def test_holdout_purges_trades_that_reach_into_it():
    h = selection.Holdout(0, 1000, 0.3)
    assert h.cut_ms == 700
    t = np.array([0, 650, 690, 699, 700, 900])
    assert h.train(t, 20).tolist() == [True, True, False, False, False, False]
    assert h.test(t).tolist() == [False, False, False, False, True, True]


def test_purged_walk_forward_trains_on_earlier_signals_whose_labels_end_before_the_test():
    t = np.arange(0, 100, dtype=np.int64) * 10
    folds = list(selection.PurgedWalkForward(3).split(t, horizon_ms=35))
    assert len(folds) == 3
    for train, test in folds:
        assert t[train].max() + 35 < t[test].min()  # the gap: no training label reaches the test block
        assert len(np.intersect1d(train, test)) == 0
    assert folds[0][1].tolist() == list(range(25, 50))


def test_choose_trusts_a_steady_candidate_over_a_lucky_thin_one():
    """The highest mean alone picks the candidate with a few lucky days; the day-clustered lower bound picks the
    one that earned a little every day. Below min_trades nothing is chosen."""
    from app.core.selection import choose, trusted_mean

    rng = np.random.default_rng(3)
    d = 60
    counts = np.zeros((d, 2))
    sums = np.zeros((d, 2))
    counts[:, 0] = 10  # steady: +0.05 % a trade, small noise
    sums[:, 0] = rng.normal(0.05, 0.2, d) * 10
    counts[:5, 1] = 80  # thin: five days, one big lucky one
    sums[:5, 1] = [400.0, -40.0, -40.0, -40.0, -40.0]
    mean, lower = trusted_mean(sums, counts)
    assert mean[1] > mean[0] and lower[0] > lower[1]
    assert choose(sums, counts, 300) == 0
    assert choose(sums, counts, 1000) is None
    # trades of one day are one observation: 500 trades on a single day cannot be trusted at all
    one_day = np.zeros((d, 1))
    one_day[0] = 500
    assert trusted_mean(one_day * 0.3, one_day)[1][0] == -np.inf
    assert choose(np.hstack([sums, one_day * 0.3]), np.hstack([counts, one_day]), 300) == 0
