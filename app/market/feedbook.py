"""Closed-candle buffers of a streamed market, one per (symbol, timeframe): what the websocket says and what REST
backfills merge here, so the pipeline reads candles from memory (no network per call).

Rules (the honesty rules applied to a stream):
- only candles the exchange marked closed, or that REST returned as closed, enter a buffer; updates of the forming
  candle only move the last price;
- a buffer is contiguous: a closed candle after a hole waits until REST fills the hole (a missed candle is fetched,
  never skipped); a hole REST confirms three times over is a real gap in the exchange's data and is accepted;
- duplicated and out-of-order messages change nothing (closed candles are final);
- a feed whose closed candle is overdue (the candle ended more than `grace` ago) is due for a REST fetch: this one
  rule backfills after a disconnect, a stall or an outage, and is the polling fallback for a feed the stream
  does not serve.

Thread-safe: the stream's event loop, the REST worker and the pipeline each call in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from time import monotonic

import numpy as np

from app.core.candles import Candles, timeframe_ms

Feed = tuple[str, str]
Row = tuple[float, float, float, float, float]
HOLE_CONFIRMATIONS = 3


@dataclass
class FeedState:
    tf: int
    time: np.ndarray
    ohlcv: np.ndarray
    n: int = 0
    ready: bool = False  # history backfilled
    pending: dict[int, Row] = field(default_factory=dict)  # closed candles beyond a hole
    forming_time: int | None = None
    forming_close: float | None = None
    last_message_ms: int | None = None  # market time of the last stream message of this feed
    fetching: bool = False
    retry_at: float = 0.0  # monotonic: a failed REST fetch waits until then
    failures: int = 0
    urgent: bool = False  # a hole or a reconnect: fetch now, do not wait for the grace period
    hole_seen: int = 0
    accepted_through: int | None = None  # a confirmed gap: nothing exists up to here
    want_since: int | None = None  # the pipeline asked for history older than the buffer holds
    deep_done: bool = False  # that older history was fetched once (asked again, the buffer is what there is)
    streamed: bool = True  # False: served by REST polling (no stream for it, or the stream refused it)
    problem: str = ""
    fetched_at: float = field(default_factory=monotonic)  # when the pipeline last read it

    @property
    def last(self) -> int | None:
        return int(self.time[self.n - 1]) if self.n else None

    @property
    def first(self) -> int | None:
        return int(self.time[0]) if self.n else None


@dataclass(frozen=True)
class FetchRequest:
    feed: Feed
    since_ms: int | None  # None: the last `history` closed candles
    limit: int


class FeedBook:
    def __init__(self, history: int = 1000, keep: int | None = None,
                 clock: Callable[[], float] = monotonic) -> None:
        self.history = history
        self.keep = max(keep or history * 2, history + 1)
        self._mono = clock
        self._lock = threading.Condition()
        self._feeds: dict[Feed, FeedState] = {}
        self.version = 0  # grows with every candle added to a buffer
        self.counts = {"closed_stream": 0, "closed_rest": 0, "duplicates": 0, "late_updates": 0, "holes": 0,
                       "gaps_accepted": 0}

    # ------------------------------------------------------------------ feeds
    def add(self, feed: Feed, streamed: bool = True) -> None:
        with self._lock:
            st = self._feeds.get(feed)
            if st is None:
                cap = self.keep + 64
                self._feeds[feed] = FeedState(timeframe_ms(feed[1]), np.zeros(cap, dtype=np.int64),
                                              np.zeros((cap, 5), dtype=np.float64), streamed=streamed)
            else:
                st.streamed = streamed

    def remove(self, feed: Feed) -> None:
        with self._lock:
            self._feeds.pop(feed, None)

    def feeds(self) -> list[Feed]:
        with self._lock:
            return list(self._feeds)

    def __contains__(self, feed: object) -> bool:
        with self._lock:
            return feed in self._feeds

    def state(self, feed: Feed) -> FeedState | None:
        return self._feeds.get(feed)

    def set_problem(self, feed: Feed, problem: str, streamed: bool | None = None) -> None:
        with self._lock:
            st = self._feeds.get(feed)
            if st is not None:
                st.problem = problem
                if streamed is not None:
                    st.streamed = streamed

    def problems(self) -> dict[str, str]:
        with self._lock:
            return {_name(f): st.problem for f, st in self._feeds.items() if st.problem}

    def idle(self, older_than_s: float) -> list[Feed]:
        """Feeds nobody has read for a while."""
        now = self._mono()
        with self._lock:
            return [f for f, st in self._feeds.items() if now - st.fetched_at > older_than_s]

    # ------------------------------------------------------------------ stream
    def on_stream(self, feed: Feed, t: int, row: Row, closed: bool, now_ms: int) -> bool:
        """A kline message. Returns True when a closed candle entered the buffer."""
        with self._lock:
            st = self._feeds.get(feed)
            if st is None:
                return False
            st.last_message_ms = now_ms
            last = st.last
            if not closed:
                if last is not None and t <= last:
                    self.counts["late_updates"] += 1  # an update of a candle already closed: changes nothing
                elif st.forming_time is None or t >= st.forming_time:
                    st.forming_time, st.forming_close = t, row[3]
                return False
            if t % st.tf:
                return False
            if not st.ready:
                st.pending[t] = row
                return False
            if (last is not None and t <= last) or t in st.pending:
                self.counts["duplicates"] += 1
                return False
            if _follows(st, t):
                self._append(st, [t], [row])
                self.counts["closed_stream"] += 1
                self._drain(st)
                self._changed()
                return True
            st.pending[t] = row  # a hole before it: fetch the missing candles now
            st.urgent = True
            self.counts["holes"] += 1
            return False

    # ------------------------------------------------------------------ REST
    def due(self, now_ms: int, grace_ms: int, max_requests: int | None = None) -> list[FetchRequest]:
        """Feeds that need a REST fetch now (each marked as being fetched until `on_history` or `failed`)."""
        mono = self._mono()
        out: list[FetchRequest] = []
        with self._lock:
            for feed, st in self._feeds.items():
                if st.fetching or mono < st.retry_at:
                    continue
                req: FetchRequest | None = None
                if not st.ready or st.n == 0:
                    req = FetchRequest(feed, None, self.history)
                elif st.want_since is not None:
                    req = FetchRequest(feed, st.want_since, self.keep)
                else:
                    have = max(st.last or 0, st.accepted_through or 0)
                    lag = 0 if st.urgent else grace_ms
                    overdue = ((now_ms - lag) // st.tf) * st.tf - st.tf
                    if have < overdue:
                        req = FetchRequest(feed, have + st.tf, self.keep)
                if req is not None:
                    st.fetching = True
                    out.append(req)
                    if max_requests is not None and len(out) >= max_requests:
                        break
        return out

    def mark_urgent(self, feed: Feed) -> None:
        with self._lock:
            st = self._feeds.get(feed)
            if st is not None:
                st.urgent = True

    def urgent_all(self) -> None:
        """After a reconnect: check every feed against REST without waiting for the grace period."""
        with self._lock:
            for st in self._feeds.values():
                st.urgent = True

    def failed(self, feed: Feed, retry_in_s: float | None = None) -> None:
        with self._lock:
            st = self._feeds.get(feed)
            if st is None:
                return
            st.fetching = False
            st.failures += 1
            wait = retry_in_s if retry_in_s is not None else min(60.0, 2.0 ** min(st.failures, 6))
            st.retry_at = self._mono() + wait

    def release(self, feeds: Iterable[Feed]) -> None:
        """Requests handed out but not made (e.g. the exchange went down meanwhile)."""
        with self._lock:
            for f in feeds:
                st = self._feeds.get(f)
                if st is not None:
                    st.fetching = False

    def on_history(self, req: FetchRequest, candles: Candles, covered_to: int) -> bool:
        """REST's closed candles for `req`; `covered_to`: the open time of the last candle that had closed when the
        request was made. Returns True when candles entered the buffer."""
        with self._lock:
            st = self._feeds.get(req.feed)
            if st is None:
                return False
            st.fetching, st.failures, st.retry_at, st.urgent = False, 0, 0.0, False
            times = candles.time.astype(np.int64)
            rows = np.column_stack([candles.open, candles.high, candles.low, candles.close, candles.volume])
            before = self.version
            if req.since_ms is not None and st.want_since is not None and req.since_ms == st.want_since:
                self._prepend(st, times, rows)
                st.want_since, st.deep_done = None, True
            elif not st.ready:
                self._first_fill(st, times, rows)
            else:
                self._extend(st, times, rows, covered_to)
            self._drain(st)
            if self.version != before:
                self.counts["closed_rest"] += 1
            return self.version != before

    def _first_fill(self, st: FeedState, times: np.ndarray, rows: np.ndarray) -> None:
        keep = times % st.tf == 0
        times, rows = times[keep], rows[keep]
        if len(times) > self.history:
            times, rows = times[-self.history:], rows[-self.history:]
        st.n = 0
        self._append(st, times.tolist(), [tuple(r) for r in rows.tolist()])
        st.ready = True
        if len(times):
            self._changed()
        else:
            st.retry_at = self._mono() + 5.0  # nothing traded yet: ask again later

    def _extend(self, st: FeedState, times: np.ndarray, rows: np.ndarray, covered_to: int) -> None:
        last = st.last
        assert last is not None
        fresh = (times > last) & (times <= covered_to) & (times % st.tf == 0)
        times, rows = times[fresh], rows[fresh]
        expect = last + st.tf
        if len(times):
            steps = np.diff(np.r_[last, times])
            hole = np.flatnonzero(steps != st.tf)
            take = len(times)
            if len(hole):
                st.hole_seen += 1
                if st.hole_seen < HOLE_CONFIRMATIONS:
                    take = int(hole[0])  # keep what is contiguous; ask again
                    st.urgent = True
                else:
                    st.hole_seen = 0
                    self.counts["gaps_accepted"] += 1
            else:
                st.hole_seen = 0
            if take:
                self._append(st, times[:take].tolist(), [tuple(r) for r in rows[:take].tolist()])
                self._changed()
        elif covered_to >= expect:
            # REST has nothing where a candle should be: after three such answers it is a gap in the data
            st.hole_seen += 1
            st.urgent = st.hole_seen < HOLE_CONFIRMATIONS
            if st.hole_seen >= HOLE_CONFIRMATIONS:
                st.hole_seen = 0
                st.accepted_through = covered_to
                self.counts["gaps_accepted"] += 1

    def _prepend(self, st: FeedState, times: np.ndarray, rows: np.ndarray) -> None:
        first = st.first
        if first is None:
            return
        older = (times < first) & (times % st.tf == 0)
        times, rows = times[older], rows[older]
        if not len(times):
            return
        n = st.n
        all_t = np.concatenate([times, st.time[:n]])
        all_r = np.concatenate([rows, st.ohlcv[:n]])
        cap = max(len(all_t) + 64, len(st.time))
        st.time = np.zeros(cap, dtype=np.int64)
        st.ohlcv = np.zeros((cap, 5), dtype=np.float64)
        st.time[:len(all_t)] = all_t
        st.ohlcv[:len(all_t)] = all_r
        st.n = len(all_t)
        self._changed()

    # ------------------------------------------------------------------ buffers
    def _append(self, st: FeedState, times: list[int], rows: list[Row]) -> None:
        k = len(times)
        if not k:
            return
        if st.n + k > len(st.time):
            keep = min(st.n, self.keep)
            if keep + k > len(st.time):
                cap = keep + k + 64
                t2, r2 = np.zeros(cap, dtype=np.int64), np.zeros((cap, 5), dtype=np.float64)
            else:
                t2, r2 = st.time, st.ohlcv
            t2[:keep] = st.time[st.n - keep:st.n]
            r2[:keep] = st.ohlcv[st.n - keep:st.n]
            st.time, st.ohlcv, st.n = t2, r2, keep
        st.time[st.n:st.n + k] = times
        st.ohlcv[st.n:st.n + k] = rows
        st.n += k

    def _drain(self, st: FeedState) -> None:
        last = st.last
        if last is None:
            return
        for t in [t for t in st.pending if t <= last]:
            del st.pending[t]
        grew = False
        while st.pending:
            t = min(st.pending)
            if not _follows(st, t):
                break
            self._append(st, [t], [st.pending.pop(t)])
            grew = True
        if grew:
            self._changed()
        if st.pending:
            st.urgent = True

    def _changed(self) -> None:
        self.version += 1
        self._lock.notify_all()

    # ------------------------------------------------------------------ reading
    def fetch(self, symbol: str, timeframe: str, limit: int, since_ms: int | None = None) -> Candles:
        """Closed candles from the buffer (empty until the feed's history has arrived)."""
        feed = (symbol, timeframe)
        with self._lock:
            st = self._feeds.get(feed)
            if st is None or not st.ready or st.n == 0:
                return _empty(symbol, timeframe)
            st.fetched_at = self._mono()
            n = st.n
            if since_ms is None:
                start = max(0, n - limit)
            else:
                first = int(st.time[0])
                if since_ms + (limit - 1) * st.tf < first - st.tf and n < self.keep and not st.deep_done:
                    # a restart after a long pause: the candles after the stored position start before the
                    # buffer. Fetch them first (at most `keep` candles back), so none is skipped.
                    if st.want_since is None:
                        st.want_since = max(int(since_ms), first - (self.keep - n) * st.tf)
                    return _empty(symbol, timeframe)
                start = int(np.searchsorted(st.time[:n], since_ms, side="left"))
            t = st.time[start:n].copy()
            r = st.ohlcv[start:n].copy()
        return Candles(symbol, timeframe, t, r[:, 0].copy(), r[:, 1].copy(), r[:, 2].copy(), r[:, 3].copy(),
                       r[:, 4].copy())

    def last_close(self, feed: Feed) -> tuple[int, float] | None:
        """(time, price) of the newest price known for the feed: the forming candle's, else the last close."""
        with self._lock:
            st = self._feeds.get(feed)
            if st is None:
                return None
            if st.forming_time is not None and st.forming_close is not None and \
                    (st.last is None or st.forming_time > st.last):
                return st.forming_time, st.forming_close
            if st.n:
                return int(st.time[st.n - 1]), float(st.ohlcv[st.n - 1, 3])
            return None

    def wait(self, version: int, timeout: float) -> int:
        """Block until the version moves past `version` or the timeout ends; returns the version."""
        with self._lock:
            if self.version == version:
                self._lock.wait(timeout)
            return self.version

    def lagging(self) -> int:
        """Ready streamed feeds whose last candle is behind the newest of their timeframe (closes still coming)."""
        with self._lock:
            newest: dict[int, int] = {}
            for st in self._feeds.values():
                if st.ready and st.n and st.streamed:
                    newest[st.tf] = max(newest.get(st.tf, 0), int(st.time[st.n - 1]))
            return sum(1 for st in self._feeds.values() if st.ready and st.n and st.streamed and
                       int(st.time[st.n - 1]) < newest[st.tf])

    def silent(self, now_ms: int, periods: int = 3) -> list[Feed]:
        """Streamed feeds without any message for `periods` candles."""
        with self._lock:
            return [f for f, st in self._feeds.items() if st.streamed and st.last_message_ms is not None and
                    now_ms - st.last_message_ms > periods * st.tf]

    def touch(self, now_ms: int) -> None:
        """A (re)subscription: silence is counted from now."""
        with self._lock:
            for st in self._feeds.values():
                st.last_message_ms = now_ms

    def candles_held(self) -> int:
        with self._lock:
            return sum(st.n for st in self._feeds.values())


def _follows(st: FeedState, t: int) -> bool:
    """Whether closed candle `t` continues the buffer: the next candle, or the first after a confirmed gap."""
    last = st.last
    if last is None:
        return True
    if t == last + st.tf:
        return True
    return st.accepted_through is not None and last < t <= st.accepted_through + st.tf


def _name(feed: Feed) -> str:
    return f"{feed[0]} {feed[1]}"


def _empty(symbol: str, timeframe: str) -> Candles:
    z = np.zeros(0)
    return Candles.from_arrays(symbol, timeframe, np.zeros(0, dtype=np.int64), z, z, z, z, z)
