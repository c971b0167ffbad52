"""The dialogs' screen renderers (for tests/ui/screens.py) write non-empty PNGs of a readable size."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from tests.ui import screens_dialogs


def _check(paths, names):
    assert [p.name for p in paths] == names
    for p in paths:
        img = QImage(str(p))
        assert img.width() >= 700 and img.height() >= 450, p
        assert len({img.pixel(x, y) for x in range(0, img.width(), 37) for y in range(0, img.height(), 29)}) > 8


def test_settings_data_manager_and_pdf_export_render(qtbot, tmp_path):
    _check(screens_dialogs.render_settings(tmp_path), ["settings.png", "settings_risk.png"])
    _check(screens_dialogs.render_data_manager(tmp_path), ["data_manager.png"])
    _check(screens_dialogs.render_pdf_export(tmp_path), ["pdf_export.png", "pdf_export_run.png"])


@pytest.mark.slow
def test_backtest_explorer_renders(qtbot, tmp_path):
    _check(screens_dialogs.render_backtest_explorer(tmp_path),
           ["backtest_explorer.png", "backtest_explorer_trades.png"])
