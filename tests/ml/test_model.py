"""ML filter: out-of-sample training finds real structure and admits when there is none; verified loading;
the 0.60 filter; identical features in backtest and live scan."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from app.core.selection import PurgedWalkForward
from app.core.signals import EngineConfig, analyse, signals_from_analysis
from app.errors import ModelError
from app.market.simulated import generate
from app.ml.features import FEATURE_NAMES
from app.ml.filter import InactiveFilter, ModelFilter, load_filter
from app.ml.model import MLModelTrainer, TrainingData, manifest_path

F = len(FEATURE_NAMES)
H_MS = 24 * 300_000


def synthetic(n: int, informative: bool, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, F)).astype(np.float32)
    p = 1 / (1 + np.exp(-(2.0 * X[:, FEATURE_NAMES.index("rsi")] - 0.3))) if informative else np.full(n, 0.42)
    y = (rng.random(n) < p).astype(np.int8)
    t = 1_700_000_000_000 + np.sort(rng.integers(0, n * 600_000, n))
    return TrainingData(X, y, t, H_MS, {"synthetic": True})


def test_model_finds_a_real_dependency():
    trainer = MLModelTrainer(min_probability=0.6)
    m = trainer.train(synthetic(6000, informative=True))
    assert m["metrics"]["auc"] > 0.75
    assert m["useful"] and m["enabled"]
    assert m["metrics"]["precision_at_min_probability"] > m["metrics"]["base_win_rate"]
    rel = m["metrics"]["reliability"]
    assert sum(r["n"] for r in rel) == m["metrics"]["oos_samples"]


def test_model_admits_when_there_is_nothing_to_learn():
    m = MLModelTrainer(min_probability=0.6).train(synthetic(6000, informative=False, seed=1))
    assert not m["useful"] and not m["enabled"]
    assert m["verdict"].startswith("not useful")
    assert m["metrics"]["auc"] < 0.56


def test_folds_are_purged_and_time_ordered():
    t = np.arange(1000, dtype=np.int64) * 60_000
    for train, test in PurgedWalkForward(4).split(t, horizon_ms=30 * 60_000):
        assert t[train].max() + 30 * 60_000 < t[test].min()  # a gap of H: no label window reaches the test
        assert train.max() < test.min()


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(ModelError, match="at least 200"):
        MLModelTrainer().train(synthetic(100, informative=True))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model on real feature rows (simulated candles) whose outcome depends on RSI."""
    from app.core.outcomes import Costs
    from app.services.research.backtester import backtest_symbol

    cfg = EngineConfig(min_score=40.0, pattern_points=(("CDLENGULFING", 10.0), ("CDLDOJI", 3.0)))
    res = backtest_symbol(generate(["BTC/USDT"], "5m", 20_000, seed=12)["BTC/USDT"], cfg, Costs(), 40.0)
    X = res.columns["features"]
    rng = np.random.default_rng(3)
    p = 1 / (1 + np.exp(-(X[:, FEATURE_NAMES.index("rsi")] - 50.0) / 6.0))
    y = (rng.random(len(X)) < p).astype(np.int8)
    path = tmp_path_factory.mktemp("m") / "model.joblib"
    trainer = MLModelTrainer(min_probability=0.6)
    trainer.train(TrainingData(X, y, res.columns["signal_time"], H_MS, {"synthetic_labels": True}))
    trainer.save(path)
    return path


def test_saved_model_loads_and_predicts_the_same(trained):
    loaded = MLModelTrainer.load(trained)
    X = synthetic(50, informative=True, seed=5).X
    pred, p = loaded.predict(X[0])
    assert 0.0 <= p <= 1.0 and pred == int(p >= 0.6)


def _settings():
    from app.settings import load

    return load()


def test_tampered_model_is_refused_and_filter_is_off(trained, tmp_path):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(trained.read_bytes() + b"\0")
    manifest_path(bad).write_text(manifest_path(trained).read_text())
    with pytest.raises(ModelError, match="SHA-256"):
        MLModelTrainer.load(bad)
    f = load_filter(bad, _settings())
    assert isinstance(f, InactiveFilter) and "SHA-256" in f.status and f.status.startswith("off:")


def test_missing_manifest_and_wrong_features_are_refused(trained, tmp_path):
    lone = tmp_path / "lone.joblib"
    lone.write_bytes(trained.read_bytes())
    with pytest.raises(ModelError, match=r"manifest .* is missing"):
        MLModelTrainer.load(lone)
    other = tmp_path / "other.joblib"
    other.write_bytes(trained.read_bytes())
    manifest = json.loads(manifest_path(trained).read_text())
    manifest["feature_names"] = manifest["feature_names"][:-1]
    manifest_path(other).write_text(json.dumps(manifest))
    f = load_filter(other, _settings())
    assert isinstance(f, InactiveFilter) and "other features" in f.status


def test_no_model_means_filter_off_with_reason(tmp_path):
    f = load_filter(tmp_path / "none.joblib", _settings())
    assert not f.active and "no model" in f.status


def test_filter_skips_below_minimum_and_logs(trained, caplog):
    settings = _settings()
    flt = ModelFilter.load_or_inactive(trained, settings)
    assert isinstance(flt, ModelFilter) and flt.status.startswith("on:")
    c = generate(["BTC/USDT"], "5m", 3000, seed=2)["BTC/USDT"]
    cfg = EngineConfig.from_settings(settings)
    an = analyse(c, cfg)
    sigs = signals_from_analysis(an, cfg, min_score=40).to_signals()
    assert len(sigs) > 50
    with caplog.at_level(logging.INFO, logger="app.ml.filter"):
        kept, skipped = flt.apply(sigs, {("BTC/USDT", an.candles.timeframe): an})
    assert len(kept) + len(skipped) == len(sigs) and kept and skipped
    assert all(s.ml_probability is not None and s.ml_probability >= 0.6 and s.ml_prediction == 1 for s in kept)
    assert all(s.ml_probability < 0.6 and s.ml_prediction == 0 for s in skipped)
    assert sum("skipped" in r.message for r in caplog.records) == len(skipped)
