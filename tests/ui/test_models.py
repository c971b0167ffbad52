"""Table models: Qt's model tester (also while rows stream in), updates touch only changed rows, sorting is kept
while rows stream in so the header's indicator tells the truth, prices in the pair's tick size."""

from __future__ import annotations

import random
from dataclasses import replace

from PySide6.QtCore import Qt

from app.services.live.dashboard import ClosedRow, OpenRow
from app.ui.models import ActiveSignalsModel, CompletionsModel, ResultTableModel
from app.ui.tables import TableView


def _row(i: int, price: float = 100.0, symbol: str | None = None) -> OpenRow:
    return OpenRow(i, symbol or f"S{i % 7}/USDT", "5m", "LONG" if i % 2 else "SHORT", 100.0, 98.0, 103.0, price,
                   price - 100.24, 60.0 + i % 30, "not enough history (n=3)", None, "Tracking live…",
                   1_700_000_000_000, 1_700_000_000_000 - 300_000, 1, 0.0, 0.0)


def _closed(i: int, closed_at: int) -> ClosedRow:
    return ClosedRow(i, f"S{i % 7}/USDT", "5m", "LONG", 100.0, 98.0, 103.0, 101.0, "WIN" if i % 2 else "LOSS",
                     0.7, closed_at, closed_at - 900_000, 3, 65.0, None, "SIM")


def _column(model, key: str) -> int:
    return next(k for k, c in enumerate(model.columns) if c.key == key)


def _shown(model, key: str) -> list:
    return [getattr(model.row_at(r), key) for r in range(model.rowCount())]


def test_active_model_passes_modeltester_while_rows_stream(qtmodeltester):
    model = ActiveSignalsModel()
    qtmodeltester.check(model)
    rng = random.Random(1)
    ids: set[int] = set()
    for step in range(30):
        for _ in range(rng.randint(0, 12)):
            ids.add(rng.randint(0, 400))
        for i in rng.sample(sorted(ids), k=min(len(ids), rng.randint(0, 4))):
            ids.discard(i)  # signals closing
        if step == 10:
            model.sort(_column(model, "unrealised_pct"), Qt.SortOrder.DescendingOrder)
        model.apply([_row(i, 100 + rng.random()) for i in sorted(ids)])
        qtmodeltester.check(model)
        assert model.rowCount() == len(ids)
        model.tick_elapsed()


def test_sorted_order_holds_while_rows_stream_in(qtbot):
    """The header says "Unrealised ▼": every refresh keeps it true, with new rows in their place."""
    model = ActiveSignalsModel()
    view = TableView(model, "active")
    qtbot.addWidget(view)
    col = _column(model, "unrealised_pct")
    view.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    assert view.horizontalHeader().sortIndicatorSection() == col
    rng = random.Random(4)
    rows = {i: _row(i, 100 + rng.random()) for i in range(40)}
    for _ in range(20):
        for i in rng.sample(sorted(rows), 8):
            rows[i] = _row(i, 100 + rng.uniform(-2, 2))
        rows[max(rows) + 1] = _row(max(rows) + 1, 100 + rng.uniform(-2, 2))
        model.apply(list(rows.values()))
        values = _shown(model, "unrealised_pct")
        assert values == sorted(values, reverse=True)
    view.sortByColumn(_column(model, "symbol"), Qt.SortOrder.AscendingOrder)
    symbols = _shown(model, "symbol")
    assert symbols == sorted(symbols)
    ids_of_ties = [model.row_at(r).id for r in range(model.rowCount()) if model.row_at(r).symbol == symbols[0]]
    assert ids_of_ties == sorted(ids_of_ties)  # ties keep the natural order (oldest signal first)


def test_no_sort_indicator_until_the_user_sorts_and_a_third_click_clears_it(qtbot):
    model = ActiveSignalsModel()
    view = TableView(model, "active")
    qtbot.addWidget(view)
    assert view.horizontalHeader().sortIndicatorSection() == -1
    model.apply([_row(i, 100.0 - i) for i in (5, 3, 9)])
    assert _shown(model, "id") == [3, 5, 9]  # natural order: by id (oldest first)
    view.sortByColumn(_column(model, "last_price"), Qt.SortOrder.AscendingOrder)
    assert _shown(model, "id") == [9, 5, 3]
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # what the third click does
    assert _shown(model, "id") == [3, 5, 9]


def test_selection_follows_its_row_when_the_order_changes(qtbot):
    model = ActiveSignalsModel()
    view = TableView(model, "active")
    qtbot.addWidget(view)
    model.apply([_row(i, 100.0 + i) for i in range(10)])
    view.sortByColumn(_column(model, "last_price"), Qt.SortOrder.DescendingOrder)
    view.selectRow(model.row_of(4))
    model.apply([_row(i, 100.0 + (50 if i == 4 else i)) for i in range(10)])  # row 4 jumps to the top
    assert model.row_of(4) == 0
    assert view.currentIndex().row() == 0 and model.row_at(view.currentIndex().row()).id == 4


def test_completions_and_results_pass_modeltester(qtmodeltester):
    comp = CompletionsModel()
    for k in range(5):
        rows = [_closed(k * 10 + j, 1_700_000_000_000 + (k * 10 + j) * 60_000) for j in range(10)]
        comp.append_front(rows, keep=25)
        qtmodeltester.check(comp)
    assert comp.rowCount() == 25
    res = ResultTableModel([("Score", "lo", str), ("n", "n", str), ("Win", "x.win_rate", str)])
    res.set_rows([{"lo": 50, "n": 3, "x": {"win_rate": 0.5}}])
    qtmodeltester.check(res)
    assert res.data(res.index(0, 2)) == "0.5"


def test_an_update_signals_only_the_changed_rows(qtbot):
    model = ActiveSignalsModel()
    rows = [_row(i) for i in range(1000)]
    model.apply(rows)
    changed = set(random.Random(2).sample(range(1000), 20))
    new = [_row(i, 101.5) if i in changed else _row(i) for i in range(1000)]
    seen: list[int] = []
    model.dataChanged.connect(lambda a, b, *_: seen.extend(range(a.row(), b.row() + 1)))
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    assert model.apply(new) == 20
    assert set(seen) == changed and not resets and model.layout_changes == 0


def test_completions_keep_the_most_recent_on_top_when_several_close_at_once():
    comp = CompletionsModel()
    recent: list[ClosedRow] = []
    for batch in range(4):  # each snapshot: the most recent closed rows, newest first, as the dashboard sends
        recent = [_closed(batch * 3 + j, 1_700_000_000_000 + batch * 60_000) for j in range(3)][::-1] + recent
        comp.append_front(recent[:5], keep=7)
    assert [comp.row_at(k).id for k in range(comp.rowCount())] == [11, 10, 9, 8, 7, 6, 5]


def test_prices_in_the_pairs_tick_size_and_closed_times_in_the_shown_zone():
    from app.ui.formatting import Clock

    model = ActiveSignalsModel()
    model.set_context({"PEPE/USDT": 1e-8, "BTC/USDT": 0.01})
    model.apply([replace(_row(1, symbol="PEPE/USDT"), entry=1.092e-05, stop_loss=1.0783e-05, last_price=1.1e-05),
                 replace(_row(2, symbol="BTC/USDT"), entry=64032.0, stop_loss=64294.4)])
    entry, sl = _column(model, "entry"), _column(model, "stop_loss")
    assert model.data(model.index(0, entry)) == "0.00001092"
    assert model.data(model.index(0, sl)) == "0.00001078"
    assert (model.data(model.index(1, entry)), model.data(model.index(1, sl))) == ("64032.00", "64294.40")
    comp = CompletionsModel()
    comp.set_context(None, Clock(utc=True))
    comp.apply([_closed(1, 1_700_000_000_000)])
    assert comp.headerData(0, Qt.Orientation.Horizontal) == "Closed (UTC)"
    assert comp.data(comp.index(0, 0)) == "11-14 22:13"


def test_the_watchlists_one_pass_cells_equal_its_columns():
    """The fast path a refresh takes must say exactly what each column says."""
    from app.services.live.watchlist import WatchRow
    from app.ui.watchlist import WatchlistModel

    model = WatchlistModel()
    model.set_context({"A/USDT": 0.001})
    rng = random.Random(8)
    for k in range(300):
        row = WatchRow("A/USDT", "5m", rng.choice([None, rng.uniform(0.1, 9)]), rng.random() > 0.5,
                       rng.choice([None, rng.random()]), rng.choice([None, 0.0, rng.uniform(-3, 3)]),
                       rng.choice([None, 0.0, rng.uniform(-9, 9)]), rng.choice([None, rng.uniform(0, 1e10)]),
                       rng.choice([None, rng.uniform(0, 100)]), rng.choice([None, "LONG", "SHORT"]), None,
                       rng.choice([None, 1_700_000_000_000]), rng.choice([0, 2]), 0.001,
                       rng.choice(["", "timeout"]), rng.random() > 0.5)
        texts, colours, bg = model.cells(row)
        live = {c for c, col in enumerate(model.columns) if col.live}
        assert [t for c, t in enumerate(texts) if c not in live] == \
            [model.text(row, col) for c, col in enumerate(model.columns) if c not in live], k
        assert colours == [model.colour(row, col) for col in model.columns], k
        assert bg == model.background(row)


def test_the_alert_history_passes_modeltester_while_alerts_stream_in(qtmodeltester):
    from types import SimpleNamespace

    from app.ui.alerts import AlertCenter

    beeps: list[int] = []
    center = AlertCenter(lambda: beeps.append(1), keep=25)
    qtmodeltester.check(center.model)
    settings = SimpleNamespace(
        alerts=SimpleNamespace(sound=True, min_score=65.0, min_score_by_symbol={"S3/USDT": 90.0}, muted=["S5/USDT"]),
        appearance=SimpleNamespace(tray_notifications=True), notifications=SimpleNamespace(notify_outcome=True))
    for k in range(12):
        batch = [_row(k * 4 + j) for j in range(4)]
        records = center.on_changes(batch, [], settings)
        qtmodeltester.check(center.model)
        for r, rec in zip(batch, records, strict=True):
            expected = r.symbol != "S5/USDT" and r.confluence_score >= (90 if r.symbol == "S3/USDT" else 65)
            assert rec.alerted == expected, (r.symbol, r.confluence_score, rec.what)
    assert center.model.rowCount() == 25  # bounded
    assert center.model.row_at(0).id == 47  # newest first
    assert len(beeps) == center.sounds <= 12  # one sound per refresh at most, however many signals
