"""GUI tests: offscreen Qt (set in tests/conftest.py), QSettings and user files isolated per test, no modal
error dialogs."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("SCALPDESK_NO_DIALOGS", "1")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    yield
