"""The desk's own actions: copy a signal's levels, alert scores and mutes per pair, local or UTC times (saved as
settings), and the source (a replay, the simulated market by the trader's choice, the settings' source again)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QInputDialog, QMessageBox

from app.ui.alerts import alert_score
from app.ui.desk_parts import DeskParts
from app.ui.formatting import Clock


class DeskActionsMixin(DeskParts):
    def copy_levels(self) -> None:
        text = self.sizing.copy()
        self.statusBar().showMessage(f"Copied: {text}" if text else "Select a signal first.", 6000)

    def focus_watchlist(self) -> None:
        self.watch_dock.show()
        self.watch.filter.setFocus()
        self.watch.filter.selectAll()

    def _selected_symbol(self) -> str | None:
        if self.watch.view.hasFocus() and self.watch.current_symbol():
            return self.watch.current_symbol()
        return self.selected.symbol if self.selected is not None else self.watch.current_symbol()

    def mute_selection(self) -> None:
        if (sym := self._selected_symbol()) is not None:
            self.toggle_mute(sym)

    def alert_score_selection(self) -> None:
        if (sym := self._selected_symbol()) is not None:
            self.ask_alert_score(sym)

    def toggle_mute(self, symbol: str) -> None:
        muted = list(self.settings.alerts.muted)
        muted = [m for m in muted if m != symbol] if symbol in muted else [*muted, symbol]
        if self._save({"alerts.muted": muted}):
            self.statusBar().showMessage(f"Alerts for {symbol} {'muted' if symbol in muted else 'on again'}.", 6000)

    def ask_alert_score(self, symbol: str) -> None:
        current = alert_score(self.settings.alerts, symbol)
        value, ok = QInputDialog.getDouble(self, "Alert score", f"Sound and pop-up for {symbol} signals from score "
                                           "(0: every signal):", current, 0.0, 100.0, 1)
        if ok:
            self.set_alert_score(symbol, value)

    def set_alert_score(self, symbol: str, value: float) -> None:
        own = dict(self.settings.alerts.min_score_by_symbol)
        own[symbol] = float(value)
        self._save({"alerts.min_score_by_symbol": own})

    def toggle_utc(self) -> None:
        self._save({"appearance.times": "utc" if self.utc_action.isChecked() else "local"})

    def _save(self, changes: dict[str, Any]) -> bool:
        from app.errors import ConfigError
        from app.settings import update_user_config

        try:
            new = update_user_config(changes)  # the user's file (never the shipped defaults)
        except ConfigError as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return False
        self.on_settings_saved(new)
        return True

    def _apply_view_settings(self, new: Any) -> None:
        self.clock = Clock(utc=new.appearance.times == "utc")
        self.utc_action.setChecked(self.clock.utc)
        self.chart_panel.chart.set_clock(self.clock)
        self.why.clock = self.clock
        for model in (self.active, self.completions, self.watch.model, self.alert_center.model):
            model.set_context(None, self.clock)
        self.watch.muted = set(new.alerts.muted)
        self.alerts_panel.show_settings(new)

    # ---------------------------------------------------------------- sources
    def open_replay(self) -> Any:
        from app.ui.replay_dialog import ReplayDialog

        dlg = ReplayDialog(self, str(self.layout_memory.get("replay_dir", "")))
        dlg.replay_chosen.connect(self.start_replay)
        return self._open(dlg)

    def start_replay(self, spec: Any) -> None:
        if spec.files:
            self.layout_memory.set("replay_dir", str(Path(spec.files[0]).parent))
        self.switch_source(spec)

    def use_simulated(self) -> None:
        """The trader's choice after the exchange failed: the simulated market, labelled SIMULATED everywhere."""
        from app.session.live import SourceSpec

        self.switch_source(SourceSpec(kind="sim"))

    def back_to_live(self) -> None:
        self.switch_source(None)

    def switch_source(self, spec: Any) -> None:
        """Another source for the whole desk; its records are its own, so the tables start from its snapshot."""
        self.statusBar().showMessage("Switching the source…", 5000)
        self.latest = self.applied = None
        self.selected = None
        self._seen_open, self._seen_closed = set(), set()
        self.active.apply([])
        self.completions.apply([])
        self.watch.model.set_rows([])
        self.candle_chart.clear_levels()
        self.sizing.show_signal(None, None, 0.01)
        self.why.show_report(None)
        self.banner.show_kind("", "")
        self.started_at = time.monotonic()
        self.source.settings = self.settings
        self.source.switch(spec)
        self._show_empty_states()

    def on_source_restarted(self, spec: Any) -> None:
        words = "the settings' source" if spec is None else f"{spec.kind} source"
        self.statusBar().showMessage(f"Started {words}.", 6000)

