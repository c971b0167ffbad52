"""The window's layout remembered per screen size: a laptop and a desk monitor each keep their own geometry, docks,
splitters and table columns (QSettings, in the user config folder; only geometry, dock and column state go there)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication


def screen_key(widget: Any) -> str:
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    if screen is None:
        return "default"
    g = screen.availableGeometry()
    return f"{g.width()}x{g.height()}"


def qsettings() -> QSettings:
    from app import paths

    return QSettings(str(paths.user_config_dir() / "window.ini"), QSettings.Format.IniFormat)


class LayoutMemory:
    """`parts`: name -> widget with saveState/restoreState (splitters, headers); the window's own geometry and
    dock state are saved beside them."""

    def __init__(self, window: Any, parts: dict[str, Any]) -> None:
        self.window = window
        self.parts = parts

    def restore(self) -> set[str]:
        """The names restored (the caller sizes the others itself)."""
        qs = qsettings()
        qs.beginGroup(screen_key(self.window))
        done: set[str] = set()
        geo = qs.value("geometry")
        if geo is not None:
            self.window.restoreGeometry(geo)
            done.add("geometry")
        state = qs.value("window_state")
        if state is not None and self.window.restoreState(state):
            done.add("window_state")
        for name, widget in self.parts.items():
            value = qs.value(name)
            if value is not None and widget.restoreState(value) is not False:
                done.add(name)
        qs.endGroup()
        return done

    def save(self) -> None:
        qs = qsettings()
        qs.beginGroup(screen_key(self.window))
        qs.setValue("geometry", self.window.saveGeometry())
        qs.setValue("window_state", self.window.saveState())
        for name, widget in self.parts.items():
            qs.setValue(name, widget.saveState())
        qs.endGroup()
        qs.sync()

    def get(self, key: str, default: Any = None) -> Any:
        qs = qsettings()
        return qs.value(f"view/{key}", default)

    def set(self, key: str, value: Any) -> None:
        qs = qsettings()
        qs.setValue(f"view/{key}", value)
