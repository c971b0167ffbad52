"""Optimisers: find a known best threshold, never choose with their own fold, apply exactly what they say."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from app.services.research.optimizers import StoredSignals, optimise_patterns, optimise_thresholds
from tests.conftest import run_cli

H = 24 * 300_000


def synthetic(n=20_000, seed=0) -> StoredSignals:
    """Win probability 0.35 under score 70, 0.8 in [70, 75), 0.45 from 75: the best threshold is 70."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(50, 90, n)
    p = np.where(score < 70, 0.35, np.where(score < 75, 0.8, 0.45))
    win = rng.random(n) < p
    pnl = np.where(win, 0.8, -0.6)
    t = 1_700_000_000_000 + np.sort(rng.integers(0, n * 300_000, n))
    pats = [["CDLENGULFING"] if rng.random() < 0.2 else [] for _ in range(n)]
    return StoredSignals(t, score, win, pnl, pats, np.zeros(n), H)


def test_sweep_finds_the_known_best_threshold():
    r = optimise_thresholds(synthetic(), "seed", folds=4, min_signals=30)
    assert r["chosen_threshold"] == 70
    assert [row["threshold"] for row in r["rows"]] == [50, 55, 60, 65, 70, 75, 80, 85]
    assert all(f["chosen_in_sample"] == 70 for f in r["walk_forward"])
    r2 = optimise_thresholds(synthetic(seed=1), "expectancy", folds=3, min_signals=30)
    assert r2["chosen_threshold"] == 70


def test_a_fold_never_chooses_with_its_own_signals():
    s = synthetic(seed=2)
    base = optimise_thresholds(s, "seed", folds=4)
    from app.services.research.optimizers import folds_of

    splits = folds_of(s.time, H, 4)
    _, test = splits[1]
    flipped = s.win.copy()
    flipped[test] = ~flipped[test]  # wreck fold 2's own outcomes
    r = optimise_thresholds(StoredSignals(s.time, s.score, flipped, np.where(flipped, 0.8, -0.6), s.patterns,
                                          s.pattern_component, H), "seed", folds=4)
    assert r["walk_forward"][0]["chosen_in_sample"] == base["walk_forward"][0]["chosen_in_sample"]
    assert r["walk_forward"][1]["chosen_in_sample"] == base["walk_forward"][1]["chosen_in_sample"]
    assert r["walk_forward"][1]["out_of_sample"] != base["walk_forward"][1]["out_of_sample"]


def test_too_few_signals_says_so():
    r = optimise_thresholds(synthetic(n=300, seed=3), "seed", folds=4, min_signals=500)
    assert r["chosen_threshold"] is None and "too few signals" in r["message"]


def test_patterns_are_rated_from_enough_training_signals_and_rare_ones_keep_their_points():
    n = 6000
    rng = np.random.default_rng(4)
    t = 1_700_000_000_000 + np.arange(n, dtype=np.int64) * 600_000
    win = rng.random(n) < 0.4
    pats = [[] for _ in range(n)]
    for i in range(0, n, 10):
        pats[i] = ["CDLENGULFING"]
        win[i] = rng.random() < 0.7  # a genuinely good pattern, often seen
    pats[5] = ["CDLHAMMER"]
    win[5] = True  # seen once, won once: raw 100 %, must not get 25 points
    s = StoredSignals(t, rng.uniform(55, 80, n), win, np.where(win, 0.5, -0.5), pats, np.zeros(n), H)
    r = optimise_patterns(s, {"CDLENGULFING": 10.0, "CDLHAMMER": 8.0}, 25.0, 1.0, 60.0)
    by = {p["pattern"]: p for p in r["patterns"]}
    # seen once in training: no rate is shown and the current points stay; nothing is invented from one signal
    assert by["CDLHAMMER"]["count"] <= 1 and by["CDLHAMMER"]["win_rate"] is None
    assert by["CDLHAMMER"]["points"] == 8.0 and by["CDLHAMMER"]["changed"] is False
    assert by["CDLENGULFING"]["shrunk_win_rate"] > 0.6 and by["CDLENGULFING"]["points"] >= 15
    assert by["CDLENGULFING"]["points"] == round(by["CDLENGULFING"]["shrunk_win_rate"] * 25)


def _cli(home, *args, check=True):
    return run_cli(home, *args, check=check)


@pytest.fixture(scope="module")
def db_with_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    db = home / "bt.sqlite"
    _cli(home, "backtest", "--sim", "12000", "--min-score", "50", "--db", str(db))
    return home, db


def _applicable_result():
    """A threshold result on synthetic signals with a real edge above 70, as `optimize thresholds` returns it."""
    r = optimise_thresholds(synthetic(seed=6), "expectancy", folds=4, min_signals=30)
    run = {"id": 7, "data": [{"first": 1_700_000_000_000, "last": 1_706_000_000_000}]}
    return r | {"what": "thresholds", "run_id": 7, "_run": run, "_samples": 20_000}


def test_thresholds_are_chosen_on_training_and_judged_on_the_holdout():
    r = _applicable_result()
    assert r["trials"] == 8 and r["chosen_threshold"] == 70
    assert all(w["test_from"] < r["holdout_from"] for w in r["walk_forward"])  # walk-forward stays in training
    e = r["holdout"]["expectancy"]
    assert r["applicable"] and e["ci_low"] > 0 and e["n"] == r["rows"][4]["out_of_sample"]["signals"]


def test_apply_changes_exactly_the_intended_keys_with_provenance(tmp_path):
    from app.services.research.optimizers import apply

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"risk": {"sl_atr": 1.7}}))
    r = _applicable_result()
    apply(r, cfg)
    saved = json.loads(cfg.read_text())
    assert set(saved) == {"risk", "confluence"} and saved["risk"] == {"sl_atr": 1.7}
    assert set(saved["confluence"]) == {"min_score", "provenance"}
    assert saved["confluence"]["min_score"] == r["chosen_threshold"]
    prov = saved["confluence"]["provenance"]
    assert prov["run_id"] == 7 and prov["samples"] > 0 and prov["objective"] == "expectancy"
    assert prov["trials"] == 8 and prov["holdout"]["expectancy"]["ci_low"] > 0
    assert prov["data_from"] < prov["data_to"]
    assert json.loads((tmp_path / "config.json.bak").read_text()) == {"risk": {"sl_atr": 1.7}}


def test_a_threshold_that_lost_on_the_holdout_is_never_applied(db_with_run):
    home, db = db_with_run
    cfg = home / "config" / "config.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps({"risk": {"sl_atr": 1.7}}))
    out = json.loads(_cli(home, "optimize", "thresholds", "--db", str(db), "--json").stdout)
    assert out["trials"] == 8 and [r["threshold"] for r in out["rows"]] == [50, 55, 60, 65, 70, 75, 80, 85]
    assert json.loads(cfg.read_text()) == {"risk": {"sl_atr": 1.7}}  # without --apply nothing is written
    assert not out["applicable"]  # the simulated market holds no edge: no threshold made money on the holdout
    proc = _cli(home, "optimize", "thresholds", "--db", str(db), "--apply", "--json", check=False)
    assert proc.returncode == 2 and "nothing to apply" in proc.stderr and "holdout" in proc.stderr
    assert json.loads(cfg.read_text()) == {"risk": {"sl_atr": 1.7}}


def test_threshold_table_shows_each_win_rate_beside_its_break_even(db_with_run):
    """A win rate alone says nothing: every row of the table shows the rate those trades needed to break even."""
    home, db = db_with_run
    out = json.loads(_cli(home, "optimize", "thresholds", "--db", str(db), "--json").stdout)
    for row in out["rows"]:
        for part in ("in_sample", "out_of_sample"):
            m = row[part]
            assert (m["win_rate"] is None) == (m["signals"] < 30)
            if m["win_rate"] is not None and m["break_even_win_rate"] is not None:
                # below break-even exactly when the trades lost money on average
                assert (m["win_rate"] < m["break_even_win_rate"]) == (m["expectancy_pct"] < 0)
    text = _cli(home, "optimize", "thresholds", "--db", str(db)).stdout
    assert "train BE win" in text and "holdout BE win" in text and "break even after costs" in text


def test_apply_patterns_writes_points_win_rate_and_count(db_with_run):
    home, db = db_with_run
    proc = _cli(home, "optimize", "patterns", "--db", str(db), "--apply", "--json", check=False)
    cfg = home / "config" / "config.json"
    if proc.returncode == 0:
        out = json.loads(proc.stdout)
        saved = json.loads(cfg.read_text())
        for p in out["patterns"]:
            assert saved["pattern_scores"]["patterns"][p["pattern"]] == {
                "points": p["points"], "win_rate": p["win_rate"], "count": p["count"]}
        assert saved["pattern_scores"]["provenance"]["run_id"] == out["run_id"]
    else:  # the check refused: a clear message and nothing written
        assert proc.returncode == 2 and "not applied" in proc.stderr
        assert not cfg.exists() or "pattern_scores" not in json.loads(cfg.read_text())


def test_failed_apply_leaves_the_old_file(tmp_path, monkeypatch):
    from app.errors import ConfigError
    from app.services.research.optimizers import apply

    cfg = tmp_path / "mine.json"
    before = b'{"risk": {"sl_atr": 1.9}}'
    cfg.write_bytes(before)

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ConfigError, match=r"could not be saved.*No space left"):
        apply(_applicable_result(), cfg)
    assert cfg.read_bytes() == before
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]


def test_too_few_signals_applies_nothing(db_with_run, tmp_path):
    home, db = db_with_run
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"optimization": {"min_signals": 10_000_000}}))
    before = strict.read_bytes()
    proc = _cli(home, "optimize", "thresholds", "--db", str(db), "--config", str(strict), "--apply", check=False)
    assert proc.returncode == 2 and "too few signals" in proc.stderr
    assert strict.read_bytes() == before
