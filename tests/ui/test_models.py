"""Table models: Qt's model tester (also while rows stream in), and updates touch only changed rows."""

from __future__ import annotations

import random

from app.ui.models import ActiveSignalsModel, CompletionsModel, ResultTableModel


def _row(i: int, price: float = 100.0) -> dict:
    return {"id": i, "symbol": f"S{i % 7}/USDT", "timeframe": "5m", "side": "LONG" if i % 2 else "SHORT",
            "entry": 100.0, "stop_loss": 98.0, "take_profit": 103.0, "last_price": price,
            "unrealised_pct": price - 100.24, "confluence_score": 60 + i % 30, "accuracy": "not enough history (n=3)",
            "ml_probability": None, "status_text": "Tracking live…", "closed_candle_ms": 1_700_000_000_000,
            "signal_time": 1_700_000_000_000 - 300_000}


def test_active_model_passes_modeltester_while_rows_stream(qtmodeltester):
    model = ActiveSignalsModel()
    qtmodeltester.check(model)
    rng = random.Random(1)
    ids: set[int] = set()
    for _ in range(30):
        for _ in range(rng.randint(0, 12)):
            ids.add(rng.randint(0, 400))
        for i in rng.sample(sorted(ids), k=min(len(ids), rng.randint(0, 4))):
            ids.discard(i)  # signals closing
        model.apply([_row(i, 100 + rng.random()) for i in sorted(ids)])
        qtmodeltester.check(model)
        assert model.rowCount() == len(ids)
        model.tick_elapsed()


def test_completions_and_results_pass_modeltester(qtmodeltester):
    comp = CompletionsModel()
    for k in range(5):
        rows = [{**_row(k * 10 + j), "status": "WIN" if j % 2 else "LOSS", "exit_price": 101.0, "pnl_pct": 0.7,
                 "bars_held": 3, "closed_text": "11-24 10:00"} for j in range(10)]
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
    assert set(seen) == changed and not resets


def test_completions_keep_the_most_recent_on_top_when_several_close_at_once():
    comp = CompletionsModel()
    recent: list[dict] = []
    for batch in range(4):  # each snapshot: the most recent closed rows, newest first, as the dashboard sends
        recent = [{**_row(batch * 3 + j), "status": "WIN", "exit_price": 101.0, "pnl_pct": 0.7, "bars_held": 3,
                   "closed_text": f"11-24 10:0{batch}"} for j in range(3)][::-1] + recent
        comp.append_front(recent[:5], keep=7)
    assert [comp.row_dict(k)["id"] for k in range(comp.rowCount())] == [11, 10, 9, 8, 7, 6, 5]
