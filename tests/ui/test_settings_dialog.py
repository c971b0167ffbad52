"""The settings dialog: sized to its content, labels and choices in words, problems named by the field's label,
symbols checked against the exchange's market list in a job (NOTACOIN/USDT refused; offline said), saved values
as the user set them."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QListWidget, QTimeEdit

from app import paths
from app.market.simulated import generate
from app.settings import field_specs, load
from app.ui.dialogs import SettingsDialog
from app.ui.dialogs.settings_fields import humanise
from app.ui.workers import JobManager
from tests.conftest import RECORDINGS
from tests.fake_binance import FakeBinance

OFFLINE = "http://127.0.0.1:9"


@pytest.fixture
def fake():
    g = generate(["BTC/USDT", "ETH/USDT"], "1m", 100, seed=1)
    with FakeBinance(RECORDINGS, {"BTCUSDT": g["BTC/USDT"], "ETHUSDT": g["ETH/USDT"]},
                     int(g["BTC/USDT"].time[-1])) as srv:
        yield srv


def _dialog(qtbot, url=OFFLINE, tmp_path=None) -> SettingsDialog:
    dlg = SettingsDialog(load(), jobs=JobManager(), exchange_url=url,
                         history_folder=None if tmp_path is None else tmp_path / "history")
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitExposed(dlg)
    return dlg


def _saved() -> dict:
    return json.loads(paths.user_config_file().read_text())


def test_sized_to_its_content_with_every_field_readable(qtbot):
    dlg = _dialog(qtbot)
    assert dlg.width() >= dlg.tabs.tabBar().sizeHint().width()  # every tab's name shown, no scroll arrows
    for k in range(dlg.tabs.count()):
        dlg.tabs.setCurrentIndex(k)
        qtbot.wait(10)
        page = dlg.tabs.widget(k)
        assert page.height() >= page.minimumSizeHint().height()
        for edit in page.findChildren(QLineEdit):
            assert edit.width() >= min(edit.sizeHint().width(), 150), edit.objectName()
        for combo in page.findChildren(QComboBox):
            assert combo.width() >= combo.minimumSizeHint().width(), combo.objectName()
    symbols, _ = dlg.editors["scanner.symbols"]
    assert symbols.width() >= symbols.fontMetrics().horizontalAdvance(symbols.text())  # the whole list shows


def test_labels_and_choices_are_words(qtbot):
    dlg = _dialog(qtbot)
    labels = {md["label"] for _, _, md in field_specs()}
    shown = []
    for form in dlg.forms.values():
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                shown.append(item.widget().text())
    assert labels <= set(shown)
    assert not [t for t in shown if "_" in t or "." in t.rstrip(".")]
    source, _ = dlg.editors["scanner.source"]
    assert [source.itemText(i) for i in range(source.count())] == [
        "Simulated market (offline, labelled SIMULATED)", "Exchange (live public market data)"]
    day, _ = dlg.editors["reports.weekly_day"]
    assert day.currentText() == "Sunday"
    assert isinstance(dlg.editors["reports.daily_time"][0], QTimeEdit)
    patterns, _ = dlg.editors["pattern_scores.enabled"]
    assert isinstance(patterns, QListWidget) and patterns.item(0).text() == "Engulfing Pattern — 10 points"
    texts = [w.text() for w in dlg.findChildren(QLabel)]
    assert not [t for t in texts if "top_volume" in t or "exchange: live" in t]


def test_problems_name_the_field_not_the_config_key(qtbot):
    dlg = _dialog(qtbot)
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    edits = {k: e for k, (e, _) in dlg.editors.items()}
    edits["risk.max_hold_bars"].setText("2.5")
    assert dlg.error.text() == "Max hold (candles): must be a whole number, got 2.5" and not save.isEnabled()
    assert "red" in edits["risk.max_hold_bars"].styleSheet() or "#d64545" in edits["risk.max_hold_bars"].styleSheet()
    edits["risk.max_hold_bars"].setText("24")
    edits["risk.account_size"].setText("0")
    assert dlg.error.text() == "Account size: 0 is too small; expected at least 1"
    edits["risk.account_size"].setText("10000")
    edits["scanner.extra_timeframes"].setText("1m, 2m")
    assert dlg.error.text().startswith("Also watch timeframes: '2m' is not a timeframe")
    edits["scanner.extra_timeframes"].setText("")
    edits["scanner.symbols"].setText("BTC/USDT, btcusdt")
    assert dlg.error.text() == "Symbols: 'btcusdt' is not a pair like BTC/USDT"
    edits["scanner.symbols"].setText("BTC/USDT, ETH/USDT")
    assert dlg.error.text() == "" and save.isEnabled()
    assert "." not in "".join(m.split(":")[0] for m in [dlg.error.text()])
    labels = {k: md["label"] for k, _, md in field_specs()}
    assert humanise("/home/x/config.json: key 'risk.sl_atr' = 30 is out of range; expected 0.1..20", labels) == \
        "Stop-loss (ATR): 30 is out of range; expected 0.1..20"
    assert humanise("<changes>: key 'scanner.symbols[2]' must be text, got 5", labels) == \
        "Symbols (item 3) must be text, got 5"


def test_an_unknown_symbol_is_refused_with_its_name(qtbot, fake):
    dlg = _dialog(qtbot, fake.url)
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    symbols, _ = dlg.editors["scanner.symbols"]
    symbols.setText("BTC/USDT, NOTACOIN/USDT")
    qtbot.waitUntil(lambda: "NOTACOIN" in dlg.error.text(), timeout=15_000)
    assert dlg.error.text() == "Symbols: NOTACOIN/USDT is not listed on binance"
    assert not save.isEnabled() and "checked against binance markets" in dlg.note.text()
    assert "klines" not in "".join(fake.requests)  # only the market list was asked for
    symbols.setText("ETH/USDT")
    qtbot.waitUntil(lambda: dlg._checked_symbols == (("ETH/USDT",), "binance"), timeout=15_000)
    assert dlg.error.text() == "" and save.isEnabled()
    with qtbot.waitSignal(dlg.saved, timeout=5_000) as sig:
        save.click()
    assert sig.args[0].scanner.symbols == ["ETH/USDT"] and _saved()["scanner"]["symbols"] == ["ETH/USDT"]


def test_save_waits_for_the_symbol_check(qtbot, fake):
    dlg = _dialog(qtbot, fake.url)
    symbols, _ = dlg.editors["scanner.symbols"]
    symbols.setText("NOTACOIN/USDT")
    dlg.buttons.button(dlg.buttons.StandardButton.Save).click()  # before the check had a chance to run
    qtbot.waitUntil(lambda: "NOTACOIN" in dlg.error.text(), timeout=15_000)
    assert dlg.result() == 0 and not paths.user_config_file().exists()


def test_offline_says_the_symbols_could_not_be_checked_and_still_saves(qtbot, tmp_path):
    dlg = _dialog(qtbot, OFFLINE, tmp_path)
    symbols, _ = dlg.editors["scanner.symbols"]
    symbols.setText("BTC/USDT, SOL/USDT")
    with qtbot.waitSignal(dlg.saved, timeout=30_000):
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    assert "Symbols not checked" in dlg.note.text() and "could not load the market list of binance" in dlg.note.text()
    assert _saved()["scanner"]["symbols"] == ["BTC/USDT", "SOL/USDT"]


def test_choices_days_times_and_patterns_are_saved_as_the_config_expects(qtbot):
    dlg = _dialog(qtbot)
    e = {k: w for k, (w, _) in dlg.editors.items()}
    e["scanner.universe"].setCurrentIndex(e["scanner.universe"].findData("top_volume"))
    e["reports.weekly_day"].setCurrentIndex(0)
    e["reports.daily_time"].setTime(e["reports.daily_time"].time().addSecs(-3600))
    patterns = e["pattern_scores.enabled"]
    off = patterns.item(0).data(0x0100)
    patterns.item(0).setCheckState(patterns.item(0).checkState().Unchecked)
    assert set(dlg.changes()) == {"scanner.universe", "reports.weekly_day", "reports.daily_time",
                                  "pattern_scores.enabled"}
    with qtbot.waitSignal(dlg.saved, timeout=5_000):
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    saved = _saved()
    assert saved["scanner"]["universe"] == "top_volume" and saved["reports"]["weekly_day"] == 0
    assert saved["reports"]["daily_time"] == "22:55"
    assert off not in saved["pattern_scores"]["enabled"] and len(saved["pattern_scores"]["enabled"]) == 11
    assert load().scanner.universe == "top_volume"


def test_without_a_keyring_the_settings_are_saved_and_the_window_gets_them(qtbot, monkeypatch):
    """A secret that cannot be stored does not keep the window on stale settings (issue 20): the saved settings
    are emitted, the problem is shown and names the environment variable that works instead."""
    import app.security as security
    from app.errors import ScalpDeskError

    def no_keyring(name, value):
        raise ScalpDeskError(f"the {name} could not be stored: no usable OS keyring on this machine. Set the "
                             f"environment variable {security.env_name(name)} instead")

    monkeypatch.setattr(security, "set_secret", no_keyring)
    dlg = _dialog(qtbot)
    edit, _ = dlg.editors["confluence.min_score"]
    edit.setText("71")
    dlg.secret_edits["telegram_token"].setText("123:abc")
    with qtbot.waitSignal(dlg.saved, timeout=10_000) as sig:
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
    assert sig.args[0].confluence.min_score == 71 and _saved()["confluence"]["min_score"] == 71
    qtbot.waitUntil(lambda: "SCALPDESK_TELEGRAM_TOKEN" in dlg.error.text(), timeout=5_000)
    assert dlg.isVisible()  # stays open to show the problem
