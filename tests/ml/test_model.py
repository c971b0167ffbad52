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
from app.ml import persist
from app.ml.features import FEATURE_NAMES
from app.ml.filter import InactiveFilter, ModelFilter, load_filter
from app.ml.model import MLModelTrainer, TrainingData

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
    path = tmp_path_factory.mktemp("m") / "signal_filter.model"
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


def _rewrite(src, dst, manifest=None, payload=None):
    """A copy of a model file with its manifest and/or payload replaced (as a hand editing the zip would)."""
    import zipfile

    with zipfile.ZipFile(src) as zf:
        m = json.loads(zf.read("manifest.json"))
        blob = zf.read("model.skops")
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest if manifest is not None else m))
        zf.writestr("model.skops", payload if payload is not None else blob)
    return m


def test_tampered_model_is_refused_and_filter_is_off(trained, tmp_path):
    bad = tmp_path / "model.model"
    import zipfile

    with zipfile.ZipFile(trained) as zf:
        blob = zf.read("model.skops")
    _rewrite(trained, bad, payload=blob + b"\0")
    with pytest.raises(ModelError, match="SHA-256"):
        MLModelTrainer.load(bad)
    f = load_filter(bad, _settings())
    assert isinstance(f, InactiveFilter) and "SHA-256" in f.status and f.status.startswith("off:")


def test_wrong_features_are_refused(trained, tmp_path):
    other = tmp_path / "other.model"
    m = _rewrite(trained, other)
    m["feature_names"] = m["feature_names"][:-1]
    _rewrite(trained, other, manifest=m)
    f = load_filter(other, _settings())
    assert isinstance(f, InactiveFilter) and "other features" in f.status


class _Payload:
    """Unpickling (or building) this would create a file: proof that code ran."""

    marker = ""

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_is_refused_without_running(trained, tmp_path):
    import hashlib
    import pickle

    marker = tmp_path / "code-ran"
    _Payload.marker = str(marker)
    evil = pickle.dumps({"model": _Payload(), "calibrator": None})
    manifest = json.loads(__import__("zipfile").ZipFile(trained).read("manifest.json"))
    # 1. an old-style pickle at the model path, with a self-written manifest beside it
    old = tmp_path / "signal_filter.model"
    old.write_bytes(evil)
    (tmp_path / "signal_filter.model.manifest.json").write_text(json.dumps(
        dict(manifest, sha256=hashlib.sha256(evil).hexdigest())))
    with pytest.raises(ModelError, match="never loaded"):
        MLModelTrainer.load(old)
    # 2. the pickle inside our zip, with a matching self-written manifest
    inside = tmp_path / "inside.model"
    _rewrite(trained, inside, manifest=dict(manifest, sha256=hashlib.sha256(evil).hexdigest()), payload=evil)
    with pytest.raises(ModelError):
        MLModelTrainer.load(inside)
    # 3. a skops file whose graph calls os.system, with a matching manifest
    import skops.io as sio

    hostile = sio.dumps({"model": _Payload(), "calibrator": None})
    crafted = tmp_path / "crafted.model"
    _rewrite(trained, crafted, manifest=dict(manifest, sha256=hashlib.sha256(hostile).hexdigest()), payload=hostile)
    with pytest.raises(ModelError, match="not allowed"):
        MLModelTrainer.load(crafted)
    for f in (old, inside, crafted):
        assert not load_filter(f, _settings()).active
    assert not marker.exists()


@pytest.mark.parametrize("n_cal", [300, 3000])  # under 1000 samples Platt (logistic), else isotonic
def test_model_and_calibrator_round_trip_with_identical_predictions(tmp_path, n_cal):
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from app.ml.model import _calibrator, _hgb

    data = synthetic(4000, informative=True, seed=9)
    X = data.X.copy()
    X[::13, 2] = np.nan  # missing values take the trees' learned side
    trainer = MLModelTrainer()
    trainer.model = _hgb().fit(X, data.y)
    raw = trainer.model.predict_proba(X[:n_cal])[:, 1]
    trainer.calibrator = _calibrator(raw, data.y[:n_cal])
    assert isinstance(trainer.calibrator, IsotonicRegression if n_cal >= 1000 else LogisticRegression)
    trainer.manifest = {"feature_names": list(FEATURE_NAMES), "versions": {}, "min_probability": 0.6}
    path = tmp_path / "rt.model"
    trainer.save(path)
    loaded = MLModelTrainer.load(path)
    assert np.array_equal(loaded.predict_proba(X), trainer.predict_proba(X))


def test_a_crash_before_the_commit_keeps_the_previous_model(trained, tmp_path, monkeypatch):
    import os
    import shutil

    path = tmp_path / "signal_filter.model"
    shutil.copy(trained, path)
    before = path.read_bytes()
    new = MLModelTrainer.load(path)
    new.manifest = dict(new.manifest, created_at=1)

    def die(*a, **k):
        raise KeyboardInterrupt  # the process stops between writing and renaming

    monkeypatch.setattr(os, "replace", die)
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and MLModelTrainer.load(path).manifest["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signal_filter.model"]  # no temporary file left


def test_disk_full_is_named_and_leaves_nothing_half_written(trained, tmp_path, monkeypatch):
    import errno
    import os
    import shutil

    path = tmp_path / "signal_filter.model"
    shutil.copy(trained, path)
    before = path.read_bytes()
    new = MLModelTrainer.load(path)
    real_fsync = os.fsync

    def full(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}") is False and "tmp" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ModelError, match="the disk is full; the model was not saved and the previous model is "
                                         "unchanged"):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signal_filter.model"]


def test_stale_temporary_files_of_a_killed_save_are_swept(trained, tmp_path):
    import os
    import shutil

    path = tmp_path / "signal_filter.model"
    shutil.copy(trained, path)
    stale = tmp_path / ".signal_filter.model.abc123.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    MLModelTrainer.load(path).save(path)
    assert not stale.exists()
    assert persist.read(path)[0]["format"] == persist.FORMAT


def test_no_model_means_filter_off_with_reason(tmp_path):
    f = load_filter(tmp_path / "none.model", _settings())
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


_THREADS = """
import json, numpy as np
from threadpoolctl import threadpool_info
from app.ml import model
from app.ml.features import FEATURE_NAMES
seen = []
real = model._hgb
def spy():
    seen.extend(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")
    return real()
model._hgb = spy
rng = np.random.default_rng(0)
X = rng.normal(size=(3000, len(FEATURE_NAMES))).astype(np.float32)
y = (rng.random(3000) < 1 / (1 + np.exp(-X[:, 5]))).astype(np.int8)
t = 1_700_000_000_000 + np.arange(3000, dtype=np.int64) * 60_000
model.MLModelTrainer().train(model.TrainingData(X, y, t, 24 * 60_000, {}))
print(json.dumps(seen))
"""


def test_training_caps_its_openmp_threads_in_a_fresh_process():
    """The cap must reach scikit-learn's OpenMP even when training is what first loads it (a fresh `train`)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "SCALPDESK_TRAIN_THREADS": "1", "OMP_NUM_THREADS": ""}
    env.pop("OMP_NUM_THREADS")
    out = subprocess.run([sys.executable, "-c", _THREADS], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen and set(seen) == {1}
