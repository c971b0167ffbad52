"""Saved settings reach the running session at its next cycle, without a restart (issue 15): in place where they
can, by rebuilding the source where they cannot, never losing an open signal."""

from __future__ import annotations

import logging

import pytest

from app import paths
from app.core.signals import Signal
from app.session.live import LiveSession, SourceSpec, describe_changes
from app.settings import load, update_user_config


@pytest.fixture
def session(tmp_path):
    s = LiveSession(load(), tmp_path / "live.sqlite", tmp_path / "none.model", SourceSpec(kind="sim"),
                    alerts=False, watch_file=False)
    s.cycle()
    yield s
    s.close()


def test_score_risk_fees_and_ml_threshold_apply_at_the_next_cycle(session, caplog):
    new = session.settings.replace({"confluence.min_score": 71, "risk.sl_atr": 2.0, "risk.tp_atr": 3.5,
                                    "risk.max_hold_bars": 12, "fees.preset": "binance_maker_bnb",
                                    "ml.min_probability": 0.7})
    lines = session.apply_settings(new)
    assert "minimum score 60 -> 71 (from the next cycle)" in lines
    assert session.pipeline.cfg.min_score == 60  # not yet: the cycle in progress finishes on the old settings
    with caplog.at_level(logging.INFO, logger="app.session.live"):
        session.cycle()
    cfg = session.pipeline.cfg
    assert (cfg.min_score, cfg.sl_atr, cfg.tp_atr, cfg.max_hold) == (71, 2.0, 3.5, 12)
    assert cfg.round_trip_pct == pytest.approx(2 * (0.075 + 0.02))
    assert (session.tracker.sl_atr, session.tracker.tp_atr, session.tracker.max_hold) == (2.0, 3.5, 12)
    assert session.tracker.costs.round_trip_pct == pytest.approx(0.19)
    assert session.pipeline.min_probability == 0.7
    assert any("minimum score 60 -> 71" in r.getMessage() for r in caplog.records)  # the change is logged
    assert session.accuracy.risk is not None and session.accuracy.risk[1] == 3.5  # history for the new risk


def test_a_new_symbol_list_rebuilds_the_market_and_keeps_open_signals_tracked(session):
    t = int(session.pipeline.buffers[("BTC/USDT", "5m")].time[-1])
    sig = Signal("BTC/USDT", "5m", "LONG", t, 100.0, 98.0, 104.0, 70.0, {"trend": 1.0}, (), 1.0)
    assert session.tracker.add_signal(sig) is not None
    session.apply_settings(session.settings.replace({"scanner.symbols": ["ETH/USDT", "SOL/USDT"]}))
    session.cycle()
    assert session.pipeline.symbols == ["ETH/USDT", "SOL/USDT"]
    assert ("BTC/USDT", "5m") in session.pipeline.feeds()  # still followed: it holds an open signal
    assert session.tracker.open_count == 1
    assert session.pipeline.status[("BTC/USDT", "5m")].state == "ok"  # the rebuilt market still makes its candles
    assert session.summary()["open"] == 1


def test_a_new_source_rebuilds_the_session_cleanly(session):
    before = session.source
    session.apply_settings(session.settings.replace({"scanner.sim_seed": 8}))
    session.cycle()
    assert session.source is not before and session.source.label == "SIMULATED"
    assert any("rebuilds the source" in line for line in session.changes)


def test_an_edited_settings_file_is_picked_up(tmp_path):
    update_user_config({"confluence.min_score": 62})
    s = LiveSession(load(), tmp_path / "live.sqlite", tmp_path / "none.model", SourceSpec(kind="sim"),
                    alerts=False, watch_file=True)
    try:
        s.cycle()
        update_user_config({"confluence.min_score": 77})  # e.g. `optimize thresholds --apply` in another process
        import os

        os.utime(paths.user_config_file(), (1, 2_000_000_000))
        s.cycle()
        assert s.pipeline.cfg.min_score == 77 and s.settings.confluence.min_score == 77
    finally:
        s.close()


def test_describing_changes_names_them_in_words():
    a = load()
    b = a.replace({"scanner.timeframe": "1m", "risk.tp_atr": 3.0})
    lines = describe_changes(a, b)
    assert any(line.startswith("target (ATR) 2 -> 3") for line in lines)
    assert any(line.startswith("timeframe 5m -> 1m") for line in lines)
