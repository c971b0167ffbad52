"""PDF reports: sections and figures equal to the database, multi-page tables with repeated headers, empty
periods, escaping; the scheduler makes a missed report once."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from pypdf import PdfReader

from app.core.outcomes import Costs
from app.core.signals import Signal
from app.services.live.tracker import LiveSignalTracker
from app.services.reporting.pdf import gather, period_of, render, render_report
from app.services.reporting.scheduler import due, run_due
from app.storage.db import Database

T0 = int(dt.datetime(2024, 8, 5, tzinfo=dt.UTC).timestamp() * 1000)


def _fill(db_path, n, symbol="BTC/USDT", start=T0, source="REPLAY x1"):
    base = Signal(symbol, "5m", "LONG", start, 100.0, 98.5, 102.0, 66.0, {"trend": 1.0}, ("CDLENGULFING",), 1.0)
    with Database(db_path) as db:
        tr = LiveSignalTracker(db, Costs(), 24, 1.5, 2.0, source=source)
        with tr.cycle():
            for i in range(n):
                t = start + i * 600_000
                tr.add_signal(replace(base, signal_time=t, side="LONG" if i % 3 else "SHORT",
                                      confluence_score=55.0 + i % 30))
        for i in range(n):
            t = start + i * 600_000 + 300_000
            with tr.cycle():  # a candle that hits the long target and the short stop
                tr.on_candle(symbol, "5m", t, 100.0, 103.0, 99.9, 102.5)


def _text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


def test_report_sections_and_figures_equal_the_database(tmp_path):
    import numpy as np

    db = tmp_path / "r.sqlite"
    _fill(db, 40)
    out = render_report(db, tmp_path / "d.pdf", "daily", end="2024-08-05")
    text = _text(out)
    flat = " ".join(text.split())
    for section in ("ScalpDesk daily report", "Summary", "Account equity", "By score", "By symbol",
                    "By pattern", "Drift alerts", "Signals of the period", "REPLAY", "No backtest yet"):
        assert section in flat, section
    with Database(db) as d:
        rows = d.query("SELECT status, pnl_pct FROM live_signals WHERE status != 'OPEN'")
    wins = sum(r[0] == "WIN" for r in rows)
    assert f"Wins {wins}" in flat
    pnl = np.array([r[1] for r in rows])
    # the headline: net expectancy per trade after costs (never a sum of overlapping returns), and the account
    assert f"Net expectancy {pnl.mean():+.3f}% per trade" in flat
    assert "Account (1% risked per trade" in flat and "max drawdown" in flat
    assert f"n={len(rows)}" in flat
    assert "Net P&L" not in flat


def test_backtest_report_leads_with_the_verdict(tmp_path):
    from app.market.simulated import generate
    from app.services.research.backtester import run_backtest

    data = list(generate(["BTC/USDT", "DOGE/USDT"], "5m", 4000, seed=2).values())
    from app.core.signals import EngineConfig

    cfg = EngineConfig(min_score=55.0, pattern_points=(("CDLENGULFING", 10.0),))
    with Database(tmp_path / "b.sqlite") as d:
        res = run_backtest(data, {}, cfg, Costs(), d, n_jobs=1).to_dict()
    out = render_report(tmp_path / "b.sqlite", tmp_path / "b.pdf", "daily", end="2024-08-05")
    daily = " ".join(_text(out).split())
    assert f"Backtest verdict (run {res['run_id']}): {res['verdict']}" in daily  # the live report names it too
    from app.session.jobs import ReportRequest, report
    from app.settings import load

    r = report(load(), tmp_path / "b.sqlite", ReportRequest(tmp_path / "run.pdf", run_id=res["run_id"]))
    text = " ".join(_text(tmp_path / "run.pdf").split())
    assert r["verdict"] == res["verdict"]
    assert text.index(res["verdict"]) < text.index("Net expectancy")  # the verdict comes first
    assert f"Net expectancy {res['expectancy']['pct']:+.3f}% per trade" in text
    assert "Edge over random entries" in text and "By score" in text and "50-55" not in text.split("By score")[0]


def test_long_period_is_multi_page_with_repeated_headers(tmp_path):
    db = tmp_path / "r.sqlite"
    _fill(db, 220)
    out = render_report(db, tmp_path / "w.pdf", "weekly", end="2024-08-06")
    pages = PdfReader(str(out)).pages
    assert len(pages) >= 4
    with_header = [p for p in pages if "Closed (UTC)" in p.extract_text()]
    assert len(with_header) >= 3  # the signals table header is repeated on each of its pages


def test_empty_period_says_so(tmp_path):
    db = tmp_path / "r.sqlite"
    Database(db).close()
    out = render_report(db, tmp_path / "e.pdf", "daily", end="2030-01-01")
    assert "No signal closed in this period" in _text(out)


def test_names_with_markup_are_escaped(tmp_path):
    db = tmp_path / "r.sqlite"
    _fill(db, 5, symbol="<B&B>/USDT")
    out = render_report(db, tmp_path / "x.pdf", "daily", end="2024-08-05")
    assert "<B&B>/USDT" in _text(out)


def test_bad_dates_are_clear_errors():
    from app.errors import ScalpDeskError

    with pytest.raises(ScalpDeskError, match="expected a date"):
        period_of("custom", start="yesterday")
    with pytest.raises(ScalpDeskError, match="needs --start"):
        period_of("custom")


def test_missed_daily_report_is_made_once_on_start(tmp_path):
    from app.settings import load

    db = tmp_path / "r.sqlite"
    _fill(db, 10)
    now = dt.datetime(2024, 8, 7, 9, 0, tzinfo=dt.UTC)  # the app was closed at 23:55 on the 6th
    made = run_due(db, tmp_path / "reports", load(), now=now)
    assert [p.name for p in made if "daily" in p.name] == ["scalpdesk-daily-2024-08-06.pdf"]
    assert run_due(db, tmp_path / "reports", load(), now=now) == []  # once
    assert due(now, "23:55", 6, set())[0] == ("daily", dt.date(2024, 8, 6))


def test_gather_uses_only_the_period(tmp_path):
    db = tmp_path / "r.sqlite"
    _fill(db, 10)
    with Database(db) as d:
        data = gather(d, period_of("daily", end="2024-08-04"))
    assert data["summary"]["signals"] == 0
    render(data, period_of("daily", end="2024-08-04"), tmp_path / "none.pdf")


def test_a_report_covers_one_source_and_names_the_others(tmp_path):
    """Simulated and real signals never share a headline: the report is about the source with most signals in the
    period (or the one asked for) and says what it left out; its score table starts at the lowest live band."""
    db = tmp_path / "r.sqlite"
    _fill(db, 40)
    _fill(db, 12, symbol="ETH/USDT", source="SIMULATED")
    period = period_of("daily", end="2024-08-05")
    with Database(db) as d:
        data = gather(d, period)
        sim = gather(d, period, source="SIMULATED")
    assert data["sources"] == ["REPLAY x1"] and data["summary"]["signals"] == 40
    assert data["other_sources"] == {"SIMULATED": 12}
    assert {r["symbol"] for r in data["rows"]} == {"BTC/USDT"}
    assert data["by_score"][0]["label"] == "55-60"  # the lowest score stored is 55: no empty bands from 0
    assert sim["summary"]["signals"] == 12 and sim["other_sources"] == {"REPLAY x1": 40}
    flat = " ".join(_text(render(data, period, tmp_path / "one.pdf")).split())
    assert "Not in this report (one source per report): 12 from SIMULATED" in flat
    flat = " ".join(_text(render(sim, period, tmp_path / "sim.pdf")).split())
    assert "SIMULATED: signals on the simulated market" in flat
