"""Dark and light palettes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def apply(app: QApplication, theme: str) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    if theme == "dark":
        colours = {
            QPalette.ColorRole.Window: "#1e2127", QPalette.ColorRole.WindowText: "#d7dae0",
            QPalette.ColorRole.Base: "#16181d", QPalette.ColorRole.AlternateBase: "#1f232a",
            QPalette.ColorRole.Text: "#d7dae0", QPalette.ColorRole.Button: "#2a2e36",
            QPalette.ColorRole.ButtonText: "#d7dae0", QPalette.ColorRole.Highlight: "#3d6fb4",
            QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2a2e36",
            QPalette.ColorRole.ToolTipText: "#d7dae0", QPalette.ColorRole.PlaceholderText: "#8a8f98",
        }
        for role, colour in colours.items():
            pal.setColor(role, QColor(colour))
        import pyqtgraph as pg

        pg.setConfigOptions(background="#16181d", foreground="#d7dae0", antialias=False)
    else:
        import pyqtgraph as pg

        pg.setConfigOptions(background="w", foreground="k", antialias=False)
    app.setPalette(pal)
