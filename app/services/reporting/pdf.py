"""PDF reports (reportlab) of the live signals of a period, against the backtest expectation.

Every figure comes from the database; text from data is escaped before it reaches reportlab's markup.
An empty period gives a short report that says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from app.core import stats
from app.core.bootstrap import mean_interval
from app.core.candles import timeframe_ms
from app.core.edge import break_even_win_rate
from app.core.portfolio import simulate
from app.errors import ScalpDeskError
from app.services.live.accuracy import AccuracyTable
from app.services.reporting.headline import headline
from app.storage import backtests as repo
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


def gather(db: Database, period: Period, run_id: int | None = None, settings: Any = None,
           source: str | None = None) -> dict[str, Any]:
    """What a report shows: the live signals of one source closed in the period, or (with `run_id`) a stored
    backtest run. One source per report: simulated and real signals never share a headline. `source` None: the
    source with the most signals in the period (the others are named, with their counts). The backtest verdict and
    bands it is compared with are those the live accuracy uses: same risk settings, same kind of market."""
    if run_id is not None:
        run = repo.get_run(db, run_id)
        if run is None:
            raise ScalpDeskError(f"{db.path}: no backtest run {run_id}")
        result = run.get("summary")
        if not result:
            raise ScalpDeskError(f"backtest run {run_id} has no stored result (made by an older version or "
                                 f"interrupted); run the backtest again")
        return {"mode": "backtest", "result": result, "run_id": run_id, "rows": [], "sources": [result["source"]],
                "summary": {"signals": result["signals"]}, "verdict": result["verdict"], "backtest_verdict": None}
    counts = {str(r[0]): int(r[1]) for r in db.query(
        "SELECT source, COUNT(*) FROM live_view WHERE status != 'OPEN' AND closed_at >= ? AND closed_at < ? "
        "GROUP BY source ORDER BY COUNT(*) DESC, source", (period.start_ms, period.end_ms))}
    chosen = source if source is not None else next(iter(counts), None)
    rows = [dict(r) for r in db.query(
        "SELECT * FROM live_view WHERE status != 'OPEN' AND closed_at >= ? AND closed_at < ? AND source = ? "
        "ORDER BY closed_at, id", (period.start_ms, period.end_ms, chosen))] if chosen is not None else []
    accuracy = AccuracyTable.from_db(db, settings, chosen)
    latest = _latest_verdict(db, accuracy)
    outcome = np.array([r["status"] for r in rows], dtype=object)
    pnl = np.array([r["pnl_pct"] for r in rows], dtype=np.float64)
    bars = np.array([r["bars_held"] for r in rows])
    t = np.array([r["signal_time"] for r in rows], dtype=np.int64)
    summary = stats.summary(outcome, pnl, bars)
    minutes = [(r["closed_at"] - r["signal_time"]) / 60_000 for r in rows]
    summary["avg_minutes_in_trade"] = float(np.mean(minutes)) if minutes else None
    patterns = [json.loads(r["patterns"]) for r in rows]
    alerts = [dict(r) for r in db.query("SELECT created_at, message FROM events WHERE kind = 'drift_alert' AND "
                                        "created_at >= ? AND created_at < ? ORDER BY id", (period.start_ms,
                                                                                           period.end_ms))]
    sources = [chosen] if chosen is not None else []
    others = {k: v for k, v in counts.items() if k != chosen}
    probs = [(r["ml_probability"], r["status"] == "WIN") for r in rows if r["ml_probability"] is not None]
    win = outcome == "WIN"
    headline: dict[str, Any] = {**summary, "signals": len(rows), "break_even_win_rate": break_even_win_rate(pnl, win),
                                "profitable_share": float(np.mean(pnl > 0)) if rows else None,
                                "expectancy": mean_interval(pnl, t).to_dict()}
    if rows:
        tf = np.array([timeframe_ms(r["timeframe"]) for r in rows], dtype=np.int64)
        stop = np.array([abs(r["entry"] - r["stop_loss"]) / r["entry"] * 100.0 for r in rows])
        port = simulate(np.array([r["symbol"] for r in rows], dtype=object), t + tf,
                        np.array([r["closed_at"] for r in rows], dtype=np.int64) + tf, pnl, stop)
        headline["portfolio"] = port.to_dict(curve_points=400)
    groups = stats.Groups(win, pnl, t)
    scores = np.array([r["confluence_score"] for r in rows], dtype=np.float64)
    return {
        "mode": "live", "rows": rows, "summary": summary, "sources": sources, "other_sources": others,
        "headline": headline,
        "backtest_verdict": latest, "verdict": None,
        "by_symbol": groups.table(np.array([r["symbol"] for r in rows], dtype=object)) if rows else [],
        "by_pattern": stats.by_pattern(patterns, outcome, pnl) if rows else {},
        "by_score": stats.score_bands(groups, scores, stats.band_of(scores.min())) if rows else [],
        "backtest": accuracy.buckets, "alerts": alerts, "ml": probs,
    }


def _latest_verdict(db: Database, accuracy: AccuracyTable) -> dict[str, Any] | None:
    """The verdict of the backtest the live accuracy comes from (the edge over chance is measured there, never on
    live data)."""
    v = accuracy.verdict()
    if v is None:
        return None
    run = repo.get_run(db, v["run_id"]) or {}
    result = run.get("summary") or {}
    return {"run_id": v["run_id"], "verdict": v["verdict"], "verdict_text": v["text"],
            "expectancy": result.get("expectancy"), "source": result.get("source")}


def _fmt(x: Any, spec: str, none: str = "n/a") -> str:
    return none if x is None else format(x, spec)


def _rate(entry: Mapping[str, Any], n_key: str = "n") -> str:
    if entry.get("win_rate") is None:
        return f"not enough history (n={entry.get(n_key, 0)})"
    return f"{entry['win_rate']:.1%} ({entry['ci_low']:.1%}–{entry['ci_high']:.1%}, n={entry[n_key]})"


def _exp(entry: dict[str, Any]) -> str:
    if entry.get("expectancy_pct") is None:
        return "not enough history"
    ci = "" if entry.get("exp_ci_low") is None else f" ({entry['exp_ci_low']:+.3f} to {entry['exp_ci_high']:+.3f})"
    return f"{entry['expectancy_pct']:+.3f}%{ci}"


VERDICT_COLOURS = {"PROFITABLE": "#2e7d4f", "EDGE_BELOW_COSTS": "#b7791f", "NO_EDGE": "#b83b3b",
                   "WORSE_THAN_RANDOM": "#8b1e1e"}


def render(data: dict[str, Any], period: Period, out: Path, generated: dt.datetime | None = None) -> Path:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle

    styles = getSampleStyleSheet()
    generated = generated or dt.datetime.now(dt.UTC)
    story: list[Any] = []
    source = ", ".join(data["sources"]) or "none"
    backtest = data["mode"] == "backtest"
    title = f"ScalpDesk backtest report (run {data['run_id']})" if backtest else f"ScalpDesk {period.name} report"
    story.append(Paragraph(escape(title), styles["Title"]))
    when = "the whole run" if backtest else period.text()
    story.append(Paragraph(f"Period: {escape(when)} · Data source: {escape(source)} · Generated "
                           f"{generated:%Y-%m-%d %H:%M} UTC", styles["Normal"]))
    if any("SIMULATED" in s for s in data["sources"]):
        story.append(Paragraph("<b>SIMULATED</b>: signals on the simulated market, not real trading.",
                               styles["Normal"]))
    if data.get("other_sources"):
        named = ", ".join(f"{n:,} from {k}" for k, n in data["other_sources"].items())
        story.append(Paragraph(escape(f"Not in this report (one source per report): {named} closed in the period; "
                                      f"report them with --source NAME."), styles["Normal"]))
    story.append(Spacer(1, 0.3 * cm))
    box = ParagraphStyle("verdict", parent=styles["Heading2"], textColor=colors.white, backColor=None, borderPadding=6)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
                       ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    verdict = data["verdict"] or (data["backtest_verdict"] or {}).get("verdict")
    if verdict:
        text = data["result"]["verdict_text"] if backtest else data["backtest_verdict"]["verdict_text"]
        label = verdict if backtest else f"Backtest verdict (run {data['backtest_verdict']['run_id']}): {verdict}"
        story.append(Paragraph(f"{escape(label)}: {escape(text)}",
                               ParagraphStyle("v2", parent=box, backColor=colors.HexColor(
                                   VERDICT_COLOURS.get(verdict, "#555555")))))
        story.append(Spacer(1, 0.3 * cm))
    elif not backtest:
        story.append(Paragraph("No backtest yet: whether these signals beat random entries is not known; run a "
                               "backtest (python -m app backtest).", styles["Heading3"]))
    if backtest:
        _backtest_body(story, data["result"], styles, grid)
    elif not data["rows"]:
        story.append(Paragraph("No signal closed in this period: there is nothing to report.", styles["Heading2"]))
    else:
        _live_body(story, data, styles, grid)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=A4, title=title,
                            leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm)
    try:
        doc.build(story, onLaterPages=_page_number, onFirstPage=_page_number)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _lines(story: list[Any], lines: list[str], styles: Any) -> None:
    from reportlab.platypus import Paragraph

    for line in lines:
        story.append(Paragraph(escape(line), styles["BodyText"]))


def _equity(story: list[Any], points: list[list[float]], styles: Any, title: str) -> None:
    from reportlab.graphics.charts.lineplots import LinePlot
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph

    if len(points) < 2:
        return
    story.append(Paragraph(escape(title), styles["Heading2"]))
    d = Drawing(16 * cm, 6 * cm)
    lp = LinePlot()
    lp.x, lp.y, lp.width, lp.height = 1.2 * cm, 0.8 * cm, 14 * cm, 4.8 * cm
    t0 = points[0][0]
    lp.data = [[((t - t0) / 86_400_000, (e - 1.0) * 100.0) for t, e in points]]
    lp.lines[0].strokeColor = colors.HexColor("#2f6fb4")
    d.add(lp)
    story.append(d)


def _band_table(story: list[Any], title: str, rows: list[dict[str, Any]], key: str, styles: Any, grid: Any) -> None:
    from reportlab.platypus import Paragraph, Table

    if not rows:
        return
    story.append(Paragraph(escape(title), styles["Heading2"]))
    body = [[Paragraph(escape(str(r[key])), styles["BodyText"]), f"{r['n']:,}", _exp(r), _rate(r),
             _fmt(r.get("profit_factor"), ".2f")] for r in rows]
    story.append(Table([["", "n", "Expectancy % (95%)", "Win rate (95%)", "PF"], *body], style=grid, hAlign="LEFT",
                       repeatRows=1))


def _backtest_body(story: list[Any], r: dict[str, Any], styles: Any, grid: Any) -> None:
    _lines(story, headline(r)[1 if r.get("verdict") else 0:], styles)
    _equity(story, (r.get("portfolio") or {}).get("equity") or [], styles,
            "Account equity (return %, days from the first exit)")
    _band_table(story, "By score (every stored band)", r.get("by_score") or [], "label", styles, grid)
    for title, key in (("By symbol", "by_symbol"), ("By side", "by_side"), ("By month", "by_month"),
                       ("By hour of day (UTC)", "by_hour")):
        _band_table(story, title, r.get(key) or [], "key", styles, grid)


def _live_body(story: list[Any], data: dict[str, Any], styles: Any, grid: Any) -> None:
    from reportlab.platypus import LongTable, Paragraph, Table

    h = data["headline"]
    s = data["summary"]
    _lines(story, ["Live signals of the period: " + ("they made money after costs" if
                   (h["expectancy"].get("ci_low") or 0) > 0 else "they have not made money after costs"),
                   *headline(h)], styles)
    story.append(Paragraph("Summary", styles["Heading2"]))
    summary_rows = [["Figure", "Value"], ["Signals", str(s["signals"])], ["Wins", str(s["wins"])],
                    ["Losses", str(s["losses"])], ["Expired", str(s["expired"])],
                    ["Profit factor", _fmt(s["profit_factor"], ".2f")],
                    ["Average time in trade", _fmt(s["avg_minutes_in_trade"], ".0f") + " min"]]
    story.append(Table(summary_rows, style=grid, hAlign="LEFT"))
    _equity(story, (h.get("portfolio") or {}).get("equity") or [], styles,
            "Account equity (return %, days from the first exit)")
    _score_chart(story, data, styles)
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
    _band_table(story, "By score", data["by_score"], "label", styles, grid)
    _band_table(story, "By symbol", data["by_symbol"], "key", styles, grid)
    story.append(Paragraph("By pattern", styles["Heading2"]))
    body = [[Paragraph(escape(k), styles["BodyText"]), str(v["n"]), _rate(v),
             _fmt(v["expectancy_pct"], "+.3f") + "%"] for k, v in data["by_pattern"].items()]
    story.append(Table([["Name", "n", "Win rate", "Expectancy"], *body], style=grid, hAlign="LEFT", repeatRows=1))
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
    rows = []
    for r in data["rows"]:
        when = dt.datetime.fromtimestamp(r["closed_at"] / 1000, dt.UTC)
        rows.append([f"{when:%m-%d %H:%M}", r["symbol"], r["side"],  # plain cells are text, never markup
                     f"{r['confluence_score']:.1f}", f"{r['entry']:.6g}", f"{r['exit_price']:.6g}", r["status"],
                     f"{r['pnl_pct']:+.3f}", str(r["bars_held"])])
    story.append(LongTable([header, *rows], style=grid, repeatRows=1, hAlign="LEFT"))


def _score_chart(story: list[Any], data: dict[str, Any], styles: Any) -> None:
    """Expectancy by score band: live (dot) against the backtest's 95 % interval (bar), with the zero line."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, String
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph

    bt = {b["lo"]: b for b in data["backtest"]}
    live = {b["lo"]: b for b in data["by_score"]}
    bands = sorted(set(bt) | set(live))
    values = [v for b in bt.values() for v in (b.get("exp_ci_low"), b.get("exp_ci_high")) if v is not None]
    values += [b["expectancy_pct"] for b in live.values() if b.get("expectancy_pct") is not None]
    if not bands or not values:
        return
    story.append(Paragraph("Expectancy by score band: live (dot) against the backtest's 95% interval (bar)",
                           styles["Heading2"]))
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    span = (hi - lo) or 1.0
    d = Drawing(16 * cm, 6 * cm)
    x0, y0, w, h = 1.4 * cm, 0.8 * cm, 14 * cm, 4.8 * cm

    def y(v: float) -> float:
        return float(y0 + (v - lo) / span * h)

    d.add(Line(x0, y(0.0), x0 + w, y(0.0), strokeColor=colors.grey))
    d.add(Line(x0, y0, x0, y0 + h))
    for v in (lo, 0.0, hi):
        d.add(String(x0 - 1.2 * cm, y(v) - 3, f"{v:+.2f}%", fontSize=7))
    for k, band in enumerate(bands):
        x = x0 + (k + 0.5) * w / len(bands)
        d.add(String(x - 10, y0 - 10, f"{band:.0f}-{band + 5:.0f}", fontSize=6))
        b = bt.get(band)
        if b and b.get("exp_ci_low") is not None:
            d.add(Line(x, y(b["exp_ci_low"]), x, y(b["exp_ci_high"]), strokeColor=colors.HexColor("#c8a04c"),
                       strokeWidth=4))
        lv = live.get(band)
        if lv and lv.get("expectancy_pct") is not None:
            d.add(Circle(x, y(lv["expectancy_pct"]), 3, fillColor=colors.HexColor("#2f6fb4")))
        elif lv:
            d.add(String(x - 8, y0 + 4, f"n={lv['n']}", fontSize=6))
    story.append(d)
    story.append(Paragraph("Bands with fewer than 30 signals show their count only (not enough history).",
                           styles["Italic"]))


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(doc.pagesize[0] - 40, 20, f"ScalpDesk · page {doc.page}")


def render_report(db_path: Path, out: Path, kind: str = "daily", end: str | None = None, start: str | None = None,
                  settings: Any = None, now: dt.datetime | None = None) -> Path:
    period = period_of(kind, end, start, now)
    with Database(db_path) as db:
        data = gather(db, period, settings=settings)
    return render(data, period, out)
