"""Settings: defaults, validation naming file and key, untouched broken files, atomic saves."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from app import paths, settings
from app.errors import ConfigError


def _user_file(data) -> os.PathLike:
    p = paths.user_config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_defaults_and_seed_accessor():
    cfg = settings.get_config()
    assert cfg.get_min_confluence_score() == 60
    assert cfg.ml.min_probability == 0.60
    assert cfg.get_pattern_points()["CDLENGULFING"] == 10
    assert cfg.fees.taker_pct == 0.10 and cfg.fees.slippage_pct == 0.02


def test_default_file_covers_every_field():
    specs = settings.field_specs()
    assert len(specs) > 30
    keys = {k for k, _, _ in specs}
    assert "confluence.min_score" in keys and "risk.max_hold_bars" in keys
    for _, _, md in specs:
        assert md["label"]


def test_user_file_overrides_defaults():
    _user_file({"confluence": {"min_score": 72}, "pattern_scores": {"patterns": {"CDLDOJI": {"points": 1}}}})
    cfg = settings.load()
    assert cfg.get_min_confluence_score() == 72
    assert cfg.pattern_scores.patterns["CDLDOJI"].points == 1
    assert cfg.pattern_scores.patterns["CDLENGULFING"].points == 10


@pytest.mark.parametrize("data, message", [
    ('{"confluence": {"min_score": 70,}}', r"line 1, column 32: invalid JSON \(a comma before '}'\)"),
    ('{"scanner": {"symbols": ["A",\n  ]}}', r"line 1, column 29: invalid JSON \(a comma before '\]'\)"),
    ('{\n  "risk": {\n    "sl_atr": "wide"\n  }\n}', r"key 'risk.sl_atr' must be a number"),
    ({"confluence": {"min_score": 140}}, r"key 'confluence.min_score' = 140 is out of range; expected 0..100"),
    ({"risk": {"max_hold_bars": 2.5}}, r"'risk.max_hold_bars' must be a whole number"),
    ({"scanner": {"timeframe": "7m"}}, r"'scanner.timeframe' = '7m'; expected one of"),
    ({"ml": {"enabled": "yes"}}, r"'ml.enabled' must be true or false"),
    ({"risk": {"stop": 1}}, r"unknown key 'risk.stop'"),
    ({"pattern_scores": {"patterns": {"CDLNOPE": {"points": 1, "win_rate": None, "count": 0}}}},
     r"CDLNOPE' is not a TA-Lib candlestick"),
    ({"scanner": {"symbols": "BTC/USDT"}}, r"'scanner.symbols' must be a list"),
    ('[1, 2]', r"expected a JSON object"),
])
def test_broken_file_names_file_and_key_and_is_left_untouched(data, message):
    p = _user_file(data)
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(ConfigError, match=message) as err:
        settings.load()
    assert str(p) in str(err.value)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    assert not p.with_name(p.name + ".bak").exists()


def test_update_is_atomic_keeps_backup_and_validates():
    p = _user_file({"confluence": {"min_score": 65}})
    cfg = settings.update_user_config({"confluence.min_score": 70, "risk.sl_atr": 2.0})
    assert cfg.get_min_confluence_score() == 70
    saved = json.loads(p.read_text())
    assert saved == {"confluence": {"min_score": 70}, "risk": {"sl_atr": 2.0}}
    assert json.loads(p.with_name("config.json.bak").read_text()) == {"confluence": {"min_score": 65}}
    with pytest.raises(ConfigError, match="out of range"):
        settings.update_user_config({"confluence.min_score": 500})
    assert json.loads(p.read_text()) == saved  # a rejected change writes nothing


def test_failed_write_leaves_the_old_file(monkeypatch):
    p = _user_file({"confluence": {"min_score": 65}})
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ConfigError, match=r"No space left on device.*previous file is unchanged"):
        settings.update_user_config({"confluence.min_score": 70})
    assert p.read_bytes() == before
    assert not [x for x in p.parent.iterdir() if x.name.endswith(".tmp")]


def test_config_path_argument_and_missing_file(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({"risk": {"tp_atr": 3.0}}))
    assert settings.load(p).risk.tp_atr == 3.0
    with pytest.raises(ConfigError, match="not found"):
        settings.load(tmp_path / "none.json")


def test_scalpdesk_home_relocates_user_files(isolated_home):
    assert paths.user_config_file().is_relative_to(isolated_home)
    assert paths.default_db_path().is_relative_to(isolated_home)


def test_replace_validates():
    cfg = settings.load()
    assert cfg.replace({"confluence.min_score": 55}).confluence.min_score == 55
    with pytest.raises(ConfigError):
        cfg.replace({"fees.taker_pct": -1})


def test_fee_presets_set_the_fee_every_figure_uses():
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.settings import load

    s = load().replace({"fees.preset": "binance_maker_bnb", "fees.taker_pct": 0.5})
    assert Costs.from_settings(s).round_trip_pct == pytest.approx(2 * (0.075 + 0.02))  # the preset wins
    assert EngineConfig.from_settings(s).round_trip_pct == pytest.approx(0.19)
    custom = s.replace({"fees.preset": "custom"})
    assert Costs.from_settings(custom).round_trip_pct == pytest.approx(2 * (0.5 + 0.02))


def test_a_config_nested_1000_deep_is_a_clear_error_not_a_recursion_error():
    p = _user_file('{"risk": ' * 1000 + "1" + "}" * 1000)
    with pytest.raises(ConfigError, match=r"line 1: nested more than 12 levels") as err:
        settings.load()
    assert str(p) in str(err.value)
    _user_file("[" * 1000 + "]" * 1000)
    with pytest.raises(ConfigError, match="nested more than"):
        settings.load()
    _user_file('{"scanner": {"symbols": ["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]}}')  # brackets inside text count not
    assert settings.load().scanner.symbols == ["[" * 36]


def test_a_utf8_byte_order_mark_is_accepted():
    p = paths.user_config_file()
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"confluence": {"min_score": 66}}).encode())
    assert settings.load().confluence.min_score == 66


@pytest.mark.parametrize("value", ["25:99", "24:00", "7:5", "23:60", "noon", ""])
def test_daily_report_time_must_be_hh_mm(value):
    _user_file({"reports": {"daily_time": value}})
    with pytest.raises(ConfigError, match=r"key 'reports.daily_time' = .*; expected a time HH:MM, 00:00..23:59"):
        settings.load()
    _user_file({"reports": {"daily_time": "07:05"}})
    assert settings.load().reports.daily_time == "07:05"


def test_one_broken_copy_per_distinct_bad_file():
    p = _user_file({"risk": {"sl_atr": "wide"}})
    first = settings.quarantine(p)
    assert settings.quarantine(p) == first  # the next start with the same file: no new copy
    _user_file({"risk": {"sl_atr": "narrow"}})
    second = settings.quarantine(p)
    assert second != first and second.read_text() == p.read_text()
    assert len(list(p.parent.glob("config.json.broken-*"))) == 2


def test_save_resets_the_keys_that_failed_validation_and_keeps_the_bad_file_aside():
    p = _user_file({"risk": {"sl_atr": "wide", "tp_atr": 3.0}, "confluence": {"min_score": 65},
                    "reports": {"daily_time": "25:99"}, "nonsense": 1})
    bad = p.read_text()
    with pytest.raises(ConfigError):
        settings.load()
    new = settings.update_user_config({"fees.taker_pct": 0.2})  # a save of another key, as the dialog makes
    assert new.fees.taker_pct == 0.2 and new.risk.sl_atr == settings.load().risk.sl_atr
    assert json.loads(p.read_text()) == {"risk": {"tp_atr": 3.0}, "confluence": {"min_score": 65},
                                         "fees": {"taker_pct": 0.2}}
    assert settings.load().reports.daily_time == "23:55"
    assert [x.read_text() for x in p.parent.glob("config.json.broken-*")] == [bad]
    with pytest.raises(ConfigError, match=r"risk\.sl_atr"):  # a bad value being saved is still refused
        settings.update_user_config({"risk.sl_atr": -4})
    _user_file("{not json")
    settings.update_user_config({"confluence.min_score": 61})
    assert json.loads(p.read_text()) == {"confluence": {"min_score": 61}}


def test_a_secret_that_cannot_be_stored_names_the_environment_variable_and_the_settings_still_apply(monkeypatch):
    import keyring
    import keyring.errors

    def no_backend(*a):
        raise keyring.errors.NoKeyringError("No recommended backend was available")

    monkeypatch.setattr(keyring, "set_password", no_backend)
    result = settings.save({"notifications.telegram_chat_id": "42"}, {"telegram_token": "123:abc-secret",
                                                                      "smtp_password": "pw-secret-1"})
    assert result.settings.notifications.telegram_chat_id == "42"  # saved and returned: the window uses these
    assert settings.load().notifications.telegram_chat_id == "42"
    assert len(result.problems) == 2
    assert "SCALPDESK_TELEGRAM_TOKEN" in result.problems[0] and "SCALPDESK_SMTP_PASSWORD" in result.problems[1]
    assert not any("123:abc-secret" in p or "pw-secret-1" in p for p in result.problems)
