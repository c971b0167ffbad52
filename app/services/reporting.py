"""PDF reports (reportlab) of the live signals of a period, against the backtest expectation.

Every figure comes from the database; text from data is escaped before it reaches reportlab's markup.
An empty period gives a short report that says so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from app.core import stats
from app.errors import ScalpDeskError
from app.services.accuracy import AccuracyTable
from app.storage.db import Database

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    name: str
    start: dt.datetime
    end: dt.datetime

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    def text(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"


def _date(text: str, what: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ScalpDeskError(f"--{what} '{text}': expected a date like 2024-08-05 (UTC)") from None
    return d.replace(tzinfo=dt.UTC) if d.tzinfo is None else d.astimezone(dt.UTC)


def period_of(kind: str, end: str | None = None, start: str | None = None,
              now: dt.datetime | None = None) -> Period:
    """daily/weekly end at the start of `end`'s next day (default: today so far); custom needs --start."""
    now = now or dt.datetime.now(dt.UTC)
    if end:
        e = _date(end, "end")
        e = (e + DAY).replace(hour=0, minute=0, second=0, microsecond=0) if len(end) <= 10 else e
    else:
        e = now
    if kind == "daily":
        s = e - DAY if end else e.replace(hour=0, minute=0, second=0, microsecond=0)
    elif kind == "weekly":
        s = e - 7 * DAY
    elif kind == "custom":
        if not start:
            raise ScalpDeskError("--period custom needs --start DATE (and optionally --end DATE)")
        s = _date(start, "start")
    else:
        raise ScalpDeskError(f"unknown period '{kind}'; expected daily, weekly or custom")
    if s >= e:
        raise ScalpDeskError(f"the period starts ({s:%Y-%m-%d}) after it ends ({e:%Y-%m-%d})")
    return Period(kind, s, e)


def gather(db: Database, period: Period) -> dict[str, Any]:
    rows = [dict(r) for r in db.query(
        "SELECT * FROM live_view WHERE status != 'OPEN' AND closed_at >= ? AND closed_at < ? ORDER BY closed_at, id",
        (period.start_ms, period.end_ms))]
    outcome = np.array([r["status"] for r in rows], dtype=object)
    pnl = np.array([r["pnl_pct"] for r in rows], dtype=np.float64)
    bars = np.array([r["bars_held"] for r in rows])
    summary = stats.summary(outcome, pnl, bars)
    minutes = [(r["closed_at"] - r["signal_time"]) / 60_000 for r in rows]
    summary["avg_minutes_in_trade"] = float(np.mean(minutes)) if minutes else None
    patterns = [json.loads(r["patterns"]) for r in rows]
    alerts = [dict(r) for r in db.query("SELECT created_at, message FROM events WHERE kind = 'drift_alert' AND "
                                        "created_at >= ? AND created_at < ? ORDER BY id", (period.start_ms,
                                                                                           period.end_ms))]
    sources = sorted({r["source"] for r in rows})
    probs = [(r["ml_probability"], r["status"] == "WIN") for r in rows if r["ml_probability"] is not None]
    return {
        "rows": rows, "summary": summary, "sources": sources,
        "by_symbol": stats.by_key([r["symbol"] for r in rows], outcome, pnl) if rows else {},
        "by_pattern": stats.by_pattern(patterns, outcome, pnl) if rows else {},
        "by_score": stats.by_score(np.array([r["confluence_score"] for r in rows]), outcome),
        "backtest": AccuracyTable.from_db(db).buckets, "alerts": alerts, "ml": probs,
    }


def _fmt(x: Any, spec: str, none: str = "n/a") -> str:
    return none if x is None else format(x, spec)


def _rate(entry: dict[str, Any], n_key: str = "n") -> str:
    if entry.get("win_rate") is None:
        return f"not enough history (n={entry.get(n_key, 0)})"
    return f"{entry['win_rate']:.1%} ({entry['ci_low']:.1%}–{entry['ci_high']:.1%}, n={entry[n_key]})"


def render(data: dict[str, Any], period: Period, out: Path, generated: dt.datetime | None = None) -> Path:
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing, Line, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    generated = generated or dt.datetime.now(dt.UTC)
    story: list[Any] = []
    source = ", ".join(data["sources"]) or "none"
    story.append(Paragraph(f"ScalpDesk {escape(period.name)} report", styles["Title"]))
    story.append(Paragraph(f"Period: {escape(period.text())} · Data source: {escape(source)} · Generated "
                           f"{generated:%Y-%m-%d %H:%M} UTC", styles["Normal"]))
    if any("SIMULATED" in s for s in data["sources"]):
        story.append(Paragraph("<b>SIMULATED</b>: signals on the simulated market, not real trading.",
                               styles["Normal"]))
    story.append(Spacer(1, 0.4 * cm))
    s = data["summary"]
    if not data["rows"]:
        story.append(Paragraph("No signal closed in this period: there is nothing to report.", styles["Heading2"]))
    else:
        grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
                           ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
        story.append(Paragraph("Summary", styles["Heading2"]))
        summary_rows = [["Figure", "Value"],
                        ["Signals", str(s["signals"])], ["Wins", str(s["wins"])], ["Losses", str(s["losses"])],
                        ["Expired", str(s["expired"])], ["Win rate (95% interval)", _rate({**s, "n": s["signals"]})],
                        ["Net P&L after fees", f"{s['net_pnl_pct']:+.2f}%"],
                        ["Profit factor", _fmt(s["profit_factor"], ".2f")],
                        ["Expectancy per signal", _fmt(s["expectancy_pct"], "+.3f") + "%"],
                        ["Max drawdown", f"{s['max_drawdown_pct']:.2f}%"],
                        ["Average time in trade", _fmt(s["avg_minutes_in_trade"], ".0f") + " min"]]
        story.append(Table(summary_rows, style=grid, hAlign="LEFT"))
        # equity curve
        story.append(Paragraph("Equity curve (cumulative P&amp;L after fees, %)", styles["Heading2"]))
        cum = np.cumsum([r["pnl_pct"] for r in data["rows"]])
        d = Drawing(16 * cm, 6 * cm)
        lp = LinePlot()
        lp.x, lp.y, lp.width, lp.height = 1.2 * cm, 0.8 * cm, 14 * cm, 4.8 * cm
        lp.data = [list(enumerate(cum.tolist(), start=1))]
        lp.lines[0].strokeColor = colors.HexColor("#2f6fb4")
        d.add(lp)
        story.append(d)
        # win rate by score bucket against the backtest interval
        story.append(Paragraph("Win rate by score bucket: live (dot) against the backtest 95% interval (bar)",
                               styles["Heading2"]))
        d = Drawing(16 * cm, 6 * cm)
        x0, y0, w, h = 1.2 * cm, 0.8 * cm, 14 * cm, 4.8 * cm
        d.add(Line(x0, y0, x0 + w, y0))
        d.add(Line(x0, y0, x0, y0 + h))
        for frac in (0.0, 0.5, 1.0):
            d.add(String(x0 - 0.9 * cm, y0 + frac * h - 3, f"{frac:.0%}", fontSize=7))
        bt = {b["lo"]: b for b in data["backtest"]}
        live = {b["lo"]: b for b in data["by_score"]}
        buckets = sorted(set(bt) | set(live))
        for k, lo in enumerate(buckets):
            x = x0 + (k + 0.5) * w / max(1, len(buckets))
            d.add(String(x - 8, y0 - 10, f"{lo:.0f}", fontSize=7))
            b = bt.get(lo)
            if b and b.get("ci_low") is not None:
                d.add(Line(x, y0 + b["ci_low"] * h, x, y0 + b["ci_high"] * h, strokeColor=colors.HexColor("#c8a04c"),
                           strokeWidth=4))
            lv = live.get(lo)
            if lv and lv.get("win_rate") is not None:
                from reportlab.graphics.shapes import Circle

                d.add(Circle(x, y0 + lv["win_rate"] * h, 3, fillColor=colors.HexColor("#2f6fb4")))
            elif lv:
                d.add(String(x - 8, y0 + 4, f"n={lv['n']}", fontSize=6))
        story.append(d)
        story.append(Paragraph("Buckets with fewer than 30 signals show their count only (not enough history).",
                               styles["Italic"]))
        if data["ml"]:
            story.append(Paragraph("ML reliability (predicted vs observed)", styles["Heading2"]))
            p = np.array([x[0] for x in data["ml"]])
            y = np.array([x[1] for x in data["ml"]])
            rel = []
            idx = np.minimum((p * 10).astype(int), 9)
            for b in np.unique(idx):
                m = idx == b
                e = stats.rate_entry(int(y[m].sum()), int(m.sum()))
                rel.append([f"{b / 10:.1f}–{(b + 1) / 10:.1f}", f"{p[m].mean():.2f}", _rate(e)])
            story.append(Table([["Probability bin", "Mean predicted", "Observed"], *rel], style=grid, hAlign="LEFT"))
        for title, table in (("By symbol", data["by_symbol"]), ("By pattern", data["by_pattern"])):
            story.append(Paragraph(title, styles["Heading2"]))
            body = [[Paragraph(escape(k), styles["BodyText"]), str(v["n"]), _rate(v),
                     _fmt(v["expectancy_pct"], "+.3f") + "%"] for k, v in table.items()]
            story.append(Table([["Name", "n", "Win rate", "Expectancy"], *body], style=grid, hAlign="LEFT",
                               repeatRows=1))
        story.append(Paragraph("Drift alerts", styles["Heading2"]))
        if data["alerts"]:
            for a in data["alerts"]:
                when = dt.datetime.fromtimestamp(a["created_at"] / 1000, dt.UTC)
                story.append(Paragraph(f"{when:%Y-%m-%d %H:%M}: {escape(a['message'])}", styles["BodyText"]))
        else:
            story.append(Paragraph("None: live win rates stayed inside the backtest intervals (or had fewer than "
                                   "30 signals).", styles["BodyText"]))
        story.append(Paragraph("Signals of the period", styles["Heading2"]))
        header = ["Closed (UTC)", "Symbol", "Side", "Score", "Entry", "Exit", "Outcome", "P&L %", "Bars"]
        body = []
        for r in data["rows"]:
            when = dt.datetime.fromtimestamp(r["closed_at"] / 1000, dt.UTC)
            body.append([f"{when:%m-%d %H:%M}", r["symbol"], r["side"],  # plain cells are text, never markup
                         f"{r['confluence_score']:.1f}", f"{r['entry']:.6g}", f"{r['exit_price']:.6g}", r["status"],
                         f"{r['pnl_pct']:+.3f}", str(r["bars_held"])])
        story.append(LongTable([header, *body], style=grid, repeatRows=1, hAlign="LEFT"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=A4, title=f"ScalpDesk {period.name} report",
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm)
    doc.build(story, onLaterPages=_page_number, onFirstPage=_page_number)
    tmp.replace(out)
    return out


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(doc.pagesize[0] - 40, 20, f"ScalpDesk · page {doc.page}")


def render_report(db_path: Path, out: Path, kind: str = "daily", end: str | None = None, start: str | None = None,
                  settings: Any = None, now: dt.datetime | None = None) -> Path:
    period = period_of(kind, end, start, now)
    with Database(db_path) as db:
        data = gather(db, period)
    return render(data, period, out)
