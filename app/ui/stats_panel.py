"""The statistics panel: the backtest verdict for these settings first (a non-PROFITABLE verdict in plain words),
then the live net expectancy with its interval and the account's return and drawdown, then the rest."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def rate_text(s: Mapping[str, Any]) -> str:
    """A win rate with its interval and sample, and its break-even win rate beside it (never alone)."""
    if s.get("win_rate") is None:
        return f"not enough history (n={s.get('signals', 0)})"
    be = s.get("break_even_win_rate")
    return (f"{s['win_rate']:.1%} ({s['ci_low']:.1%}–{s['ci_high']:.1%}, n={s['signals']}); break-even "
            f"{'n/a' if be is None else f'{be:.1%}'}")


def pf_text(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def stats_html(snap: Any) -> str:
    a, t = snap.all_time, snap.today
    head = snap.headline or {}
    e = head.get("expectancy") or {}
    p = head.get("portfolio") or {}
    exp = "no closed signal yet" if e.get("pct") is None else (
        f"{e['pct']:+.3f}% per trade" + ("" if e.get("ci_low") is None else
                                         f" (95%: {e['ci_low']:+.3f} to {e['ci_high']:+.3f})"))
    rows = [
        ("Net expectancy (all time)", exp), ("Open", str(a.get("open", 0))),
        ("Closed (all time)", str(a["signals"])),
        ("Account return", "—" if not p else f"{p['return_pct']:+.2f}% at {p['risk_per_trade_pct']:g}% risk"),
        ("Max drawdown", "—" if not p else f"{p['max_drawdown_pct']:.1f}% of equity"),
        ("Win rate (all time)", rate_text(a)), ("Profit factor", pf_text(a["profit_factor"])),
        ("Closed today (UTC day)", str(t["signals"])), ("Win rate today", rate_text(t)),
    ]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td align='right'><b>{html.escape(v)}</b></td></tr>"
                   for k, v in rows)
    alerts = "".join(f"<li>{html.escape(m)}</li>" for m in snap.drift_alerts[:5])
    banner = ""
    if "SIMULATED" in snap.source:
        banner = "<p style='color:#c8a04c'><b>SIMULATED market</b>: these numbers are not real trading.</p>"
    elif snap.source.startswith("REPLAY"):
        banner = "<p style='color:#c8a04c'><b>REPLAY</b>: signals on recorded history played back, not live.</p>"
    v = snap.verdict
    colour = "#2e9d57" if v is not None and v["verdict"] == "PROFITABLE" else "#d64545"
    verdict = "" if v is None else (
        f"<p style='color:{colour}'><b>{html.escape(v['verdict'])}</b> (backtest run {v['run_id']}): "
        f"{html.escape(v['text'])}</p>")
    return (f"{banner}{verdict}<table width='100%'>{body}</table>"
            + (f"<p><b>Drift alerts</b></p><ul>{alerts}</ul>" if alerts else ""))


def stats_label() -> QLabel:
    lab = QLabel("Waiting for the first scan…")
    lab.setObjectName("stats")
    lab.setTextFormat(Qt.TextFormat.RichText)
    lab.setAlignment(Qt.AlignmentFlag.AlignTop)
    lab.setWordWrap(True)
    lab.setMinimumWidth(240)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab
