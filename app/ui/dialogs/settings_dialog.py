"""The settings dialog, generated from the settings' field metadata (app.settings.field_specs): grouped tabs,
labels and choices in words, problems named by the field as the user types, symbols checked against the
exchange's market list (or the files on disk) in a job, secrets kept in the OS keyring. Saving emits
`saved(Settings)`; the window forwards it to the running session, which applies it at its next cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTabWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

import app.ui.dialogs.settings_fields as sf
from app.ui.dialogs.base import submit
from app.ui.workers import JobManager

SECRETS = (("telegram_token", "Telegram bot token"), ("smtp_password", "SMTP password"))
ERROR_STYLE = "border: 1px solid #d64545"


class SettingsDialog(QDialog):
    saved = Signal(object)

    def __init__(self, settings: Any, parent: QWidget | None = None, config_path: Path | None = None,
                 jobs: JobManager | None = None, exchange_url: str | None = None,
                 history_folder: Path | None = None) -> None:
        from app.settings import field_specs

        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.config_path = config_path
        self.jobs = jobs or JobManager()
        self.exchange_url = exchange_url
        self.history_folder = history_folder
        self.editors: dict[str, tuple[QWidget, Any]] = {}
        self.labels: dict[str, str] = {}
        self.symbol_check: Any = None  # the last SymbolCheck, for `_checked_symbols`
        self._checked_symbols: tuple[tuple[str, ...], str] | None = None
        self._checking: tuple[tuple[str, ...], str] | None = None
        self._save_after_check = False
        lay = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.forms: dict[str, QFormLayout] = {}
        for name in sf.TAB_ORDER:
            self._form(name)
        current = settings.to_dict()
        for key, tp, md in field_specs():
            value: Any = current
            for part in key.split("."):
                value = value[part]
            self.labels[key] = md["label"]
            editor = self._editor(key, tp, md, value)
            editor.setObjectName(key)
            editor.setToolTip(md.get("help") or "")
            self._add_row(sf.group_of(key), key, md, editor)
            self.editors[key] = (editor, tp)
        self.secret_edits: dict[str, QLineEdit] = {}
        for name, label in SECRETS:
            edit = QLineEdit()
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("kept in the OS keyring; empty keeps the stored one")
            edit.setMinimumWidth(320)
            self.forms["Notifications"].addRow(label, edit)
            self.secret_edits[name] = edit
        for name in sf.TAB_ORDER:  # a group without fields is not shown as an empty tab
            page = self.forms[name].parentWidget()
            if self.forms[name].rowCount() == 0 and page is not None:
                self.tabs.removeTab(self.tabs.indexOf(page))
        lay.addWidget(self.tabs)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #8a8f98")
        lay.addWidget(self.note)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d64545")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.check_timer = QTimer(self)
        self.check_timer.setSingleShot(True)
        self.check_timer.setInterval(600)
        self.check_timer.timeout.connect(self.check_symbols)
        for key, (editor, _) in self.editors.items():
            for sig in ("textChanged", "valueChanged", "currentIndexChanged", "toggled", "itemChanged", "timeChanged"):
                if hasattr(editor, sig):
                    getattr(editor, sig).connect(self.validate)
                    break
            if key in ("scanner.symbols", "scanner.exchange"):
                editor.textChanged.connect(self._symbols_edited)  # type: ignore[attr-defined]
        tabs_wide = self.tabs.tabBar().sizeHint().width() + 40  # every tab's name readable, no scroll arrows
        self.resize(self.sizeHint().expandedTo(QSize(max(760, tabs_wide), 0)))

    # ------------------------------------------------------------------ building
    def _form(self, name: str) -> QFormLayout:
        if name not in self.forms:
            page = QWidget()
            form = QFormLayout(page)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.forms[name] = form
            self.tabs.addTab(page, name)
        return self.forms[name]

    def _add_row(self, group: str, key: str, md: dict[str, Any], editor: QWidget) -> None:
        form = self._form(group)
        help_text = "" if key in sf.CHOICE_WORDS else sf.HELP_WORDS.get(key, md.get("help") or "")
        if not help_text:
            form.addRow(md["label"], editor)
            return
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 2)
        v.setSpacing(1)
        v.addWidget(editor)
        hint = QLabel(help_text)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #8a8f98; font-size: 8pt")
        v.addWidget(hint)
        form.addRow(md["label"], box)

    def _editor(self, key: str, tp: Any, md: dict[str, Any], value: Any) -> QWidget:
        if key == "pattern_scores.enabled":
            return self._patterns(value)
        if key == "reports.weekly_day":
            days = QComboBox()
            days.addItems(list(sf.WEEKDAYS))
            days.setCurrentIndex(int(value))
            return days
        if key == "reports.daily_time" and sf.HHMM.match(str(value)):
            t = QTimeEdit(QTime.fromString(str(value), "HH:mm"))
            t.setDisplayFormat("HH:mm")
            return t
        if tp is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            return box
        if md.get("choices"):
            combo = QComboBox()
            for choice in md["choices"]:
                combo.addItem(sf.choice_text(key, choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(str(value))))
            return combo
        if tp in (int, float):
            edit = QLineEdit(f"{value:g}" if isinstance(value, float) else str(value))  # free text: a wrong value
            edit.setMaximumWidth(160)  # is seen and explained, not silently clamped
            return edit
        edit = QLineEdit(", ".join(value) if tp == list[str] else "" if value is None else str(value))
        edit.setMinimumWidth(320)
        return edit

    def _patterns(self, enabled: list[str]) -> QListWidget:
        from talib import abstract

        box = QListWidget()
        patterns = self.settings.pattern_scores.patterns
        order = [n for n in enabled if n in patterns] + sorted(n for n in patterns if n not in enabled)
        for name in order:  # the configured order first, so an untouched list is no change
            entry = patterns[name]
            try:
                words = str(abstract.Function(name).info["display_name"])  # type: ignore[attr-defined]
            except Exception:  # a name TA-Lib does not describe: shown as it is
                words = name
            item = QListWidgetItem(f"{words} — {entry.points:g} points")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in enabled else Qt.CheckState.Unchecked)
            box.addItem(item)
        box.setMinimumHeight(min(16, box.count()) * 20)
        box.itemChanged.connect(_grey_unticked)
        for i in range(box.count()):
            _grey_unticked(box.item(i))
        return box

    # ------------------------------------------------------------------ values
    def _raw(self, editor: QWidget, tp: Any) -> Any:
        if isinstance(editor, QListWidget):
            return [editor.item(i).data(Qt.ItemDataRole.UserRole) for i in range(editor.count())
                    if editor.item(i).checkState() == Qt.CheckState.Checked]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QTimeEdit):
            return editor.time().toString("HH:mm")
        if isinstance(editor, QComboBox):
            data = editor.currentData()
            return editor.currentIndex() if data is None else data
        text = editor.text()  # type: ignore[attr-defined]
        if tp == list[str]:
            return [x.strip() for x in text.split(",") if x.strip()]
        return text

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (editor, tp) in self.editors.items():
            raw = self._raw(editor, tp)
            if tp in (int, float) and isinstance(raw, str):
                try:
                    out[key] = int(raw) if tp is int else float(raw.replace(",", ""))
                except ValueError:
                    out[key] = raw  # validation names the field and what is expected
            else:
                out[key] = raw
        return out

    def changes(self) -> dict[str, Any]:
        current = self.settings.to_dict()
        diff = {}
        for key, value in self.values().items():
            old: Any = current
            for part in key.split("."):
                old = old[part]
            if value != old:
                diff[key] = value
        return diff

    def symbols(self) -> tuple[tuple[str, ...], str]:
        sym, _ = self.editors["scanner.symbols"]
        ex, _ = self.editors["scanner.exchange"]
        items = tuple(x.strip() for x in sym.text().split(",") if x.strip())  # type: ignore[attr-defined]
        return items, ex.text().strip()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ validation
    def field_problems(self) -> list[tuple[str, str]]:
        from app.settings import field_specs

        problems = []
        specs = {k: (tp, md) for k, tp, md in field_specs()}
        for key, (editor, tp) in self.editors.items():
            md = specs[key][1]
            label = md["label"]
            raw = self._raw(editor, tp)
            msg = None
            if tp in (int, float) and isinstance(raw, str):
                msg = sf.number_problem(label, tp, md, raw)
            elif tp == list[str]:
                msg = sf.list_problem(key, label, raw)
            elif tp is str and isinstance(raw, str):
                msg = sf.text_problem(key, label, raw)
            if msg:
                problems.append((key, msg))
        return problems

    def validate(self) -> bool:
        from app.errors import ConfigError

        problems = self.field_problems()
        if not problems:
            try:
                self.settings.replace(self.changes())
            except ConfigError as exc:
                problems.append((sf.key_of(str(exc)), sf.humanise(str(exc), self.labels)))
        problems += [("scanner.symbols", m) for m in self._symbol_problems()]
        bad = {k for k, _ in problems}
        for key, (editor, _) in self.editors.items():
            editor.setStyleSheet(ERROR_STYLE if key in bad else "")
        messages = [m for _, m in problems]
        self.error.setText("\n".join(messages[:3]))
        ok = not messages
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)
        return ok

    def _symbol_problems(self) -> list[str]:
        check = self.symbol_check
        if check is None or self._checked_symbols != self.symbols():
            return []
        label = self.labels["scanner.symbols"]
        if check.unknown:
            where = check.checked_against
            names = ", ".join(check.unknown)
            verb = "is" if len(check.unknown) == 1 else "are"
            return [f"{label}: {names} {verb} not listed on {where.removesuffix(' markets')}" if
                    where.endswith(" markets") else f"{label}: {names} {verb} not among {where}"]
        return []

    # ------------------------------------------------------------------ symbols against the exchange
    def _symbols_edited(self, *_: Any) -> None:
        self.check_timer.start()

    def check_symbols(self) -> None:
        """Check the symbols in a job: the exchange's market list, else the history files; offline says so."""
        symbols, exchange = self.symbols()
        if not symbols or any(not sf.PAIR.match(s) for s in symbols) or (symbols, exchange) == self._checking:
            return
        if (symbols, exchange) == self._checked_symbols:
            return
        settings, url, folder = self.settings, self.exchange_url, self.history_folder

        def run(progress: Any, cancel: Any) -> Any:
            from app.session import data, jobs

            return (symbols, exchange), data.check_symbols(settings, list(symbols), exchange or None, url, folder,
                                                           jobs.Control(progress, cancel))

        job = submit(self.jobs, f"symbols-{id(self)}", run, self._symbols_checked, self._symbols_failed)
        if job is None:  # one is still running: check again when it ends
            self.check_timer.start()
            return
        self._checking = (symbols, exchange)
        self.note.setText(f"Checking the symbols against {exchange}'s market list…")

    def _symbols_checked(self, payload: Any) -> None:
        key, check = payload
        self._checking = None
        self.symbol_check = check
        self._checked_symbols = key
        if not check.checked_against:
            self.note.setText(f"Symbols not checked: {check.note}. They will be checked when the exchange can be "
                              "reached.")
        elif check.note:
            self.note.setText(f"Symbols checked against {check.checked_against} ({check.note}).")
        else:
            self.note.setText(f"Symbols checked against {check.checked_against}.")
        ok = self.validate()
        if key != self.symbols():
            self.check_timer.start()  # edited meanwhile
        elif self._save_after_check:
            self._save_after_check = False
            if ok:
                self.save()

    def _symbols_failed(self, message: str) -> None:
        self._checked_symbols, self._checking = self._checking, None  # not checkable now: said, not blocking
        self.symbol_check = None
        self.note.setText(f"Symbols not checked: {message}")
        if self._save_after_check:
            self._save_after_check = False
            self.save()

    # ------------------------------------------------------------------ save
    def save(self) -> None:
        if not self.validate():
            return
        pending = self.symbols() != (tuple(self.settings.scanner.symbols), self.settings.scanner.exchange)
        if pending and self._checked_symbols != self.symbols():
            self._save_after_check = True  # saved when the check ends (or says it could not check)
            self.check_timer.stop()
            self.check_symbols()
            self.note.setText("Checking the symbols before saving…")
            return
        changes, path = self.changes(), self.config_path
        secrets = {name: edit.text() for name, edit in self.secret_edits.items() if edit.text()}

        def run(progress: Any, cancel: Any) -> Any:
            from app.settings import save

            return save(changes, secrets, path)  # the file and the keyring: never on the GUI thread

        if submit(self.jobs, f"save-{id(self)}", run, self._saved, self._save_failed) is not None:
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)

    def _saved(self, result: Any) -> None:
        """The settings in force go to the window (and the running session) even when a secret could not be
        stored: the window never keeps stale settings."""
        self.saved.emit(result.settings)
        if result.problems:
            self.error.setText("Saved the settings, but: " + "; ".join(result.problems))
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
            return
        self.accept()

    def _save_failed(self, message: str) -> None:
        self.error.setText(sf.humanise(message, self.labels))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)


def _grey_unticked(item: QListWidgetItem) -> None:
    """An unticked pattern reads greyed out (the dark theme hides an empty check box)."""
    want = QColor("#6b7079") if item.checkState() != Qt.CheckState.Checked else None
    if item.data(Qt.ItemDataRole.ForegroundRole) != want:  # setting it emits itemChanged again
        item.setData(Qt.ItemDataRole.ForegroundRole, want)
