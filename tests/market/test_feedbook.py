"""The stream's candle buffers: only closed candles, contiguous, every missed candle fetched, duplicates and
late or out-of-order messages harmless."""

from __future__ import annotations

import numpy as np

from app.core.candles import Candles
from app.market.feedbook import FeedBook, FetchRequest

TF = 60_000
T0 = 1_000_000 * TF
FEED = ("BTC/USDT", "1m")


def row(t: int, bump: float = 0.0) -> tuple[float, float, float, float, float]:
    p = 100.0 + (t - T0) / TF + bump
    return (p, p + 1.0, p - 1.0, p + 0.5, 10.0)


def candles(times) -> Candles:
    times = np.asarray(list(times), dtype=np.int64)
    rows = np.array([row(int(t)) for t in times]).reshape(-1, 5)
    return Candles.from_arrays("BTC/USDT", "1m", times, *rows.T)


def filled(n: int = 10, history: int = 50) -> FeedBook:
    """A book whose feed holds candles T0 .. T0 + (n-1) TF."""
    book = FeedBook(history=history, clock=lambda: 0.0)
    book.add(FEED)
    (req,) = book.due(now_ms=T0 + n * TF + 1, grace_ms=5_000)
    assert req == FetchRequest(FEED, None, history)
    book.on_history(req, candles(T0 + k * TF for k in range(n)), T0 + (n - 1) * TF)
    return book


def times(book: FeedBook) -> list[int]:
    return [int(t - T0) // TF for t in book.fetch(*FEED, limit=1000).time]


def test_nothing_is_served_before_the_history_arrives():
    book = FeedBook(history=50)
    book.add(FEED)
    assert len(book.fetch(*FEED, limit=10)) == 0
    assert not book.on_stream(FEED, T0, row(T0), True, T0 + TF)  # held until the history is there


def test_only_closed_candles_enter_and_updates_of_closed_ones_change_nothing():
    book = filled()
    t = T0 + 10 * TF
    assert not book.on_stream(FEED, t, row(t, 0.3), False, t + 20_000)  # the forming candle
    assert times(book)[-1] == 9
    assert book.last_close(FEED) == (t, row(t, 0.3)[3])  # ... moves only the price
    assert book.on_stream(FEED, t, row(t), True, t + TF)
    assert times(book)[-1] == 10
    assert not book.on_stream(FEED, t, row(t, 5.0), False, t + TF + 10)  # late update of a closed candle
    assert not book.on_stream(FEED, t, row(t, 5.0), True, t + TF + 20)  # duplicate close
    c = book.fetch(*FEED, limit=1)
    assert c.close[-1] == row(t)[3]
    assert book.counts["late_updates"] == 1 and book.counts["duplicates"] == 1


def test_a_hole_waits_for_rest_and_out_of_order_closes_fill_it():
    book = filled()
    t11, t12 = T0 + 11 * TF, T0 + 12 * TF
    assert not book.on_stream(FEED, t11, row(t11), True, t11 + TF)  # candle 10 never closed on the stream
    assert not book.on_stream(FEED, t12, row(t12), True, t12 + TF)
    assert times(book)[-1] == 9  # nothing after the hole is served
    (req,) = book.due(now_ms=t12 + TF + 100, grace_ms=5_000)  # urgent: no grace
    assert req.since_ms == T0 + 10 * TF
    assert book.on_history(req, candles([T0 + 10 * TF]), T0 + 12 * TF)
    assert times(book)[-3:] == [10, 11, 12]  # the held closes follow at once


def test_an_overdue_candle_is_fetched_after_the_grace_period():
    book = filled()
    t = T0 + 10 * TF
    assert book.due(now_ms=t + TF + 4_000, grace_ms=5_000) == []  # the close may still be on its way
    (req,) = book.due(now_ms=t + TF + 6_000, grace_ms=5_000)
    assert req.since_ms == t
    assert book.due(now_ms=t + TF + 7_000, grace_ms=5_000) == []  # one request in flight at a time
    book.failed(FEED, retry_in_s=0.0)
    assert book.due(now_ms=t + TF + 8_000, grace_ms=5_000)[0].since_ms == t


def test_a_flaky_hole_in_rest_is_asked_again_and_a_real_gap_is_accepted_after_three_answers():
    book = filled()
    upto = T0 + 14 * TF
    answer = candles([T0 + 10 * TF, T0 + 11 * TF, T0 + 13 * TF, T0 + 14 * TF])  # 12 missing
    for attempt in range(3):
        (req,) = book.due(now_ms=upto + TF + 10_000, grace_ms=5_000)
        book.on_history(req, answer, upto)
        if attempt < 2:
            assert times(book)[-1] == 11  # contiguous part only: asked again
    assert times(book)[-4:] == [10, 11, 13, 14]
    assert book.counts["gaps_accepted"] == 1


def test_restart_after_a_pause_fetches_the_older_candles_first():
    book = filled(n=10, history=50)
    # the pipeline restarts with a stored position 15 candles before the buffer
    done = T0 - 15 * TF
    since = done - 49 * TF
    assert len(book.fetch(*FEED, limit=50, since_ms=since)) == 0  # not served until the older candles are there
    (req,) = book.due(now_ms=T0 + 10 * TF + 1, grace_ms=5_000)
    assert req.since_ms == since
    book.on_history(req, candles(T0 + k * TF for k in range(-64, 10)), T0 + 9 * TF)
    got = book.fetch(*FEED, limit=50, since_ms=since)
    assert int(got.time[0]) == since and int(got.time[-1]) == T0 + 9 * TF


def test_buffers_stay_bounded():
    book = filled(n=50, history=50)
    t = T0 + 50 * TF
    for k in range(500):
        assert book.on_stream(FEED, t + k * TF, row(t + k * TF), True, t + (k + 1) * TF)
    st = book.state(FEED)
    assert st is not None and st.n <= book.keep + 64 and len(st.time) == book.keep + 64  # never reallocated
    assert times(book)[-1] == 549
    assert np.all(np.diff(book.fetch(*FEED, limit=100).time) == TF)


def test_wait_wakes_on_a_closed_candle():
    import threading

    book = filled()
    v = book.version
    t = T0 + 10 * TF
    threading.Timer(0.05, lambda: book.on_stream(FEED, t, row(t), True, t + TF)).start()
    assert book.wait(v, timeout=5.0) == v + 1
