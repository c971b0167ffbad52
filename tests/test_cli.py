"""The command line as a user runs it: one JSON object on stdout, clear errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL, ROOT, needs_real_data, run_cli, write_csv


def run(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, check=check)


def test_scan_sim_json(isolated_home):
    proc = run("scan", "--source", "sim", "--lookback", "200", "--json", home=isolated_home)
    out = json.loads(proc.stdout)
    assert out["source"] == "SIMULATED"
    assert out["ml_filter"]["active"] is False and out["ml_filter"]["status"].startswith("off: no model")
    assert out["signals"], "200 candles of 5 symbols give some signal"
    s = out["signals"][0]
    for key in ("symbol", "timeframe", "side", "signal_time", "entry", "stop_loss", "take_profit",
                "confluence_score", "components", "patterns", "ml_prediction", "ml_probability"):
        assert key in s
    assert s["ml_probability"] is None
    assert s["confluence_score"] >= 60


def test_scan_files(isolated_home, tmp_path):
    from app.market.simulated import generate

    c = generate(["ADA/USDT"], "1m", 600, seed=1)["ADA/USDT"]
    p = write_csv(tmp_path, c)
    out = json.loads(run("scan", "--source", "files", "--data", p, "--lookback", "300", "--json",
                         home=isolated_home).stdout)
    assert out["source"] == "FILES" and out["last_candle"]["ADA/USDT"] == int(c.time[-1])


def test_bad_config_stops_with_the_key_named(isolated_home, tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{"risk": {"sl_atr": -3}}')
    proc = run("scan", "--config", str(cfg), "--json", home=isolated_home, check=False)
    assert proc.returncode == 2
    assert "risk.sl_atr" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_bad_arguments_and_data_errors_are_one_line(isolated_home, tmp_path):
    proc = run("backtest", "--data", str(tmp_path / "missing.csv"), home=isolated_home, check=False)
    assert proc.returncode == 2 and "file not found" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("scan", "--source", "nowhere", home=isolated_home, check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_version():
    proc = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT, capture_output=True, text=True)
    from app import __version__

    assert proc.returncode == 0 and __version__ in proc.stdout


@needs_real_data
def test_backtest_real_files_json(isolated_home):
    db = isolated_home / "bt.sqlite"
    out = json.loads(run("backtest", "--data", str(REAL / "LINK_USDT-1h.feather"), "--db", str(db), "--json",
                         home=isolated_home).stdout)
    for key in ("run_id", "candles", "signals", "wins", "losses", "expired", "win_rate", "profit_factor",
                "expectancy_pct", "by_score", "expectancy", "baseline", "edge", "verdict", "break_even_win_rate",
                "cost_to_stop", "portfolio", "first_half", "second_half"):
        assert key in out, key
    assert "out_of_sample" not in out  # a plain backtest has halves, not samples
    assert out["candles"] > 5000 and out["signals"] == out["wins"] + out["losses"] + out["expired"]
    assert set(out["expectancy"]) >= {"pct", "ci_low", "ci_high", "n", "clusters"}
    assert out["baseline"]["kind"] == "random_entries" and out["baseline"]["draws"] >= 20
    assert set(out["baseline"]) >= {"expectancy_pct", "ci_low", "ci_high"}
    assert set(out["edge"]) >= {"pct", "ci_low", "ci_high", "p_value"}
    assert out["verdict"] in ("PROFITABLE", "EDGE_BELOW_COSTS", "NO_EDGE", "WORSE_THAN_RANDOM")
    assert set(out["portfolio"]) >= {"trades", "skipped", "return_pct", "max_drawdown_pct", "sharpe", "sortino"}
    assert 0 <= out["portfolio"]["max_drawdown_pct"] <= 100
    assert out["by_score"][0]["lo"] == 50  # a default backtest stores from the sweep's floor
    for b in out["by_score"]:
        assert set(b) >= {"lo", "hi", "n", "win_rate", "ci_low", "ci_high"} and b["hi"] - b["lo"] == 5


@pytest.mark.parametrize("args", [["backtest"], ["scan", "--source", "files"]])
def test_missing_inputs_say_what_to_give(isolated_home, args):
    proc = run(*args, home=isolated_home, check=False)
    assert proc.returncode == 2 and "--data" in proc.stderr


def test_backtest_train_scan_flow(isolated_home):
    db = str(isolated_home / "flow.sqlite")
    bt = json.loads(run("backtest", "--sim", "8000", "--min-score", "45", "--db", db, "--json",
                        home=isolated_home).stdout)
    assert bt["stored_signals"] > 500
    tr = json.loads(run("train", "--db", db, "--json", home=isolated_home).stdout)
    for key in ("samples", "metrics", "model_path", "verdict", "enabled"):
        assert key in tr
    for key in ("base_win_rate", "auc", "brier", "brier_base_rate", "log_loss", "precision_at_min_probability",
                "coverage_at_min_probability"):
        assert key in tr["metrics"]
    assert tr["samples"] == bt["stored_signals"]  # trained on every stored signal, from score 45 up
    scan = json.loads(run("scan", "--lookback", "300", "--json", home=isolated_home).stdout)
    if tr["enabled"]:
        assert scan["ml_filter"]["active"]
    else:  # random-walk candles hold nothing to learn: the filter must say it is off, and why
        assert (not scan["ml_filter"]["active"] and "did not beat" in scan["ml_filter"]["status"]) or \
            "no model" in scan["ml_filter"]["status"]
        assert all(s["ml_probability"] is None for s in scan["signals"])
    forced = json.loads(run("train", "--db", db, "--force", "--json", home=isolated_home).stdout)
    assert forced["enabled"]
    scan = json.loads(run("scan", "--lookback", "300", "--json", home=isolated_home).stdout)
    assert scan["ml_filter"]["active"] and scan["ml_filter"]["status"].startswith("on:")
    for s in scan["signals"]:
        assert s["ml_prediction"] == 1 and s["ml_probability"] >= 0.6
    for s in scan["skipped_by_ml"]:
        assert s["ml_prediction"] == 0 and s["ml_probability"] < 0.6


def test_simulated_backtest_is_labelled(isolated_home):
    out = json.loads(run("backtest", "--sim", "3000", "--json", "--db", str(isolated_home / "s.sqlite"),
                         home=isolated_home).stdout)
    assert out["source"] == "SIMULATED"
    text = run("backtest", "--sim", "3000", "--db", str(isolated_home / "s.sqlite"), home=isolated_home).stdout
    assert "SIMULATED market" in text.splitlines()[2]
    # the text leads with the verdict and the net expectancy, before any win rate
    assert out["verdict"] in text.splitlines()[3] and "Net expectancy" in text.splitlines()[4]
    assert text.index("Net expectancy") < text.index("Win rate")


def test_track_leads_with_net_expectancy_and_the_account_never_a_sum_of_returns(isolated_home, tmp_path):
    """`track` reports the recorded history as every result does: net expectancy per trade with its interval
    clustered by day, the account simulation and the win rate beside its break-even; no sum of % returns."""
    db = str(tmp_path / "t.sqlite")
    sample = str(ROOT / "data" / "SIM_USDT-5m.csv")
    out = json.loads(run_cli(isolated_home, "track", "--source", "replay", "--data", sample, "--db", db,
                             "--json").stdout)
    assert "net_pnl_pct" not in out
    assert out["expectancy"]["n"] == out["closed"] > 0
    assert out["expectancy"]["pct"] == pytest.approx(out["expectancy_pct"])
    assert out["portfolio"]["trades"] + out["portfolio"]["skipped"] == out["closed"]
    assert out["closed"] < 30 and out["win_rate"] is None and out["break_even_win_rate"] is None
    text = run_cli(isolated_home, "track", "--source", "replay", "--data", sample, "--db", db).stdout
    lines = text.splitlines()
    net = next(i for i, x in enumerate(lines) if "Net expectancy" in x)
    assert net < next(i for i, x in enumerate(lines) if "Win rate" in x)
    assert "per trade after 0.24% round-trip costs" in lines[net] and "Account (" in text
    assert "not enough history to judge (30 needed)" in text and "break-even" not in text


def test_a_backtest_says_what_the_import_fixed_in_each_file(isolated_home, tmp_path):
    """Issue 20 item 5: unsorted and duplicate rows were accepted without a word; the JSON now names them."""
    from app.market.simulated import generate

    c = generate(["ADA/USDT", "XRP/USDT"], "5m", 600, seed=1)
    paths = []
    for sym, mess in (("ADA/USDT", True), ("XRP/USDT", False)):
        s = c[sym]
        rows = [",".join(map(str, r)) for r in zip(s.time, s.open, s.high, s.low, s.close, s.volume, strict=True)]
        if mess:
            rows[10], rows[11] = rows[11], rows[10]  # one pair swapped
            rows += rows[100:103]  # three rows again at the end
        p = tmp_path / f"{sym.replace('/', '_')}-5m.csv"
        p.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows))
        paths.append(str(p))
    proc = run("backtest", "--data", *paths, "--json", home=isolated_home)
    data = {d["symbol"]: d for d in json.loads(proc.stdout)["data"]}
    assert data["ADA/USDT"]["candles"] == 600
    notes = data["ADA/USDT"]["import_notes"]
    assert any("out of time order were sorted" in n for n in notes)
    assert "3 rows with a duplicate timestamp were dropped (the first kept)" in notes
    assert data["XRP/USDT"]["import_notes"] == []
    assert "duplicate timestamp" in proc.stderr  # and said while loading
