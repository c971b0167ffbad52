"""The live session: the one place that assembles source -> pipeline -> ML filter -> tracker (with the accuracy
table, the drift monitor, the dashboard's history, alerts and scheduled reports) from the settings.

The command line (`track`, `scan`) and the window's pipeline worker both hold a LiveSession; neither builds any of
its parts. Settings saved while it runs reach it at its next cycle (`apply_settings`, or the settings file
changing on disk): what can change in place changes in place and is logged; a new source or exchange rebuilds
source and pipeline, while the tracker, the database and every open signal stay.

A session belongs to the thread that opened it (its database connection is the one writer of the live tables).
Where candles come from is chosen in app.session.sources; what a settings change means, in app.session.changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.outcomes import Costs
from app.core.signals import EngineConfig
from app.core.stats import Summary
from app.errors import ConfigError, ScalpDeskError
from app.market.sources import close_source
from app.services.live.accuracy import AccuracyTable
from app.services.live.dashboard import ClosedHistory, Snapshot, build
from app.services.live.drift import DriftMonitor
from app.services.live.pipeline import CycleResult, LivePipeline
from app.services.live.tracker import Event, LiveSignalTracker
from app.services.reporting.outbox import Outbox
from app.session.changes import describe_changes, needs_rebuild
from app.session.changes import file_mtime as _mtime
from app.session.health import DiskWatch, notification_status
from app.session.sources import SourceSpec, Watch, open_source, timeframes_of
from app.settings import Settings
from app.storage.db import Database

# re-exported: the session's parts were in this module once, and callers import them from here
__all__ = ["LiveSession", "SourceSpec", "Watch", "costs_of", "describe_changes", "engine_config", "needs_rebuild",
           "open_source", "timeframes_of"]

log = logging.getLogger(__name__)


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig.from_settings(settings)


def costs_of(settings: Settings) -> Costs:
    return Costs.from_settings(settings)


class LiveSession:
    def __init__(self, settings: Settings, db_path: Path, model_path: Path, spec: SourceSpec | None = None,
                 alerts: bool = True, reports: bool = False, watch_file: bool = True,
                 cancel: threading.Event | None = None) -> None:
        """`cancel`: set from any thread (`request_stop`), the running cycle stops at its next feed and none starts;
        the owner then closes the session."""
        self.settings = settings
        self.db_path = db_path
        self.model_path = model_path
        self.spec = (spec or SourceSpec()).resolved(settings)
        self.db = Database(db_path)
        self.listeners: list[Callable[[Event], None]] = []
        self.outbox = Outbox()
        self.alerts_enabled = alerts and not self.spec.is_replay  # a replay of history would send stale alerts
        self.reports_enabled = reports
        self.telegram: Any = None
        self.email: Any = None
        self.notify_problems: list[str] = []
        self.changes: list[str] = []  # what the last settings change did, for the log and the status bar
        self.skipped_for_costs = 0  # setups this session turned away: their target did not pay the costs
        self.last_scan_ms: int | None = None
        self._pending: Settings | None = None
        self._file_mtime = _mtime(settings.source_path) if watch_file else None
        self._lock = threading.Lock()
        self._alert: Callable[[Event], None] | None = None
        self.schedule: Any = None
        self.mark_every_s = 1.0
        self.marks = 0  # open-signal rows marked against streamed prices
        self._marked: dict[str, int] = {}  # symbol -> time of the quote last applied
        self._connection: tuple[Any, ...] | None = None
        self._backup_day: str | None = None
        self.cancel = cancel if cancel is not None else threading.Event()
        self.disk = DiskWatch(db_path.parent)  # a disk about to fill, asked at most once a minute
        try:
            self._build_source()
            self._build_research()
            self._build_notifications()
        except BaseException:
            self.db.close()
            raise

    # ---------------------------------------------------------------- assembly
    def _build_source(self) -> None:
        s = self.settings
        from app.storage import live

        positions = live.feed_positions(self.db.conn, "REPLAY") if self.spec.is_replay else None
        held = sorted({str(r["symbol"]) for r in live.open_rows(self.db.conn, "SIMULATED")}) \
            if self.spec.kind == "sim" else []
        self.source, self.watch = open_source(self.spec, s, positions, held)
        cfg = engine_config(s)
        self.costs = costs_of(s)
        self.tracker = LiveSignalTracker(self.db, self.costs, cfg.max_hold, cfg.sl_atr, cfg.tp_atr,
                                         source=self.source.label)
        for fn in self.listeners:
            self.tracker.subscribe(fn)
        self.history = ClosedHistory(self.db, self.source.label, risk_pct=s.risk.risk_per_trade_pct)
        self.tracker.subscribe(self.history.on_event)
        self.tracker.subscribe(self._dispatch_alert)
        w = self.watch
        self.pipeline = LivePipeline(self.source, w.symbols, w.timeframes, cfg, self.tracker, None,
                                     s.ml.min_probability, history=w.history, max_buffer=w.max_buffer,
                                     catch_up_all=w.catch_up_all, clock=w.clock)
        self.pipeline.cancel = self.cancel

    def _build_research(self) -> None:
        """The model, the accuracy table and the drift monitor: what a backtest or a training run changes."""
        from app.ml.filter import load_filter

        self.ml = load_filter(self.model_path, self.settings)
        self.pipeline.ml = self.ml
        self.accuracy = AccuracyTable.from_db(self.db, self.settings, self.source.label)
        self.pipeline.drift = DriftMonitor(self.accuracy.buckets, self.settings.confluence.min_score) \
            if self.accuracy.run_id is not None else None

    def _build_notifications(self) -> None:
        from app.services.reporting.notifier import alert_listener, from_settings

        if self.telegram is not None:
            self.telegram.close(timeout=2.0)
        self.telegram = self.email = None
        self.notify_problems = []
        self._alert = None
        if self.alerts_enabled or self.reports_enabled:
            self.telegram, self.email, self.notify_problems = from_settings(self.settings, self.db_path)
            for problem in self.notify_problems:
                log.warning("notifications: %s", problem)
        if self.alerts_enabled and self.telegram is not None:
            self._alert = alert_listener(self.telegram, self.settings, self.accuracy.text)
        self.schedule = None
        if self.reports_enabled:
            from app.services.reporting.scheduler import ReportSchedule

            self.schedule = ReportSchedule(self.db_path, self.settings, self.outbox, self.email)

    def notification_status(self) -> dict[str, Any]:
        """What the status bar shows about alerts and background tasks (app.session.health.notification_status)."""
        return notification_status(self.telegram, self.outbox, self.db, self.notify_problems)

    def subscribe(self, fn: Callable[[Event], None]) -> None:
        """Listen to the tracker's events (kept across rebuilds)."""
        self.listeners.append(fn)
        self.tracker.subscribe(fn)

    def _dispatch_alert(self, event: Event) -> None:
        if self._alert is not None:
            self._alert(event)

    # ---------------------------------------------------------------- running
    @property
    def label(self) -> str:
        """What the status bar and the command line call the source."""
        if self.spec.is_replay:
            return f"REPLAY {getattr(self.source, 'speed_text', '')}".strip()
        return self.source.label

    @property
    def interval_s(self) -> float:
        return self.watch.interval_s

    def request_stop(self) -> None:
        """Thread-safe (the window calls it from its own thread while a cycle may be running here): the cycle in
        progress stops at its next feed, before its transaction, and no other starts."""
        self.cancel.set()

    def cycle(self) -> CycleResult:
        if self.cancel.is_set():
            return CycleResult(0, cancelled=True)
        self._check_settings()
        seen = getattr(self.source, "mark_seen", None)
        if seen is not None:
            seen()  # every candle the source holds now is read by this cycle
        self._follow_universe()
        result = self.pipeline.cycle()
        if result.cancelled:
            return result
        self.skipped_for_costs += result.skipped_for_costs
        self.last_scan_ms = int(time.time() * 1000)
        if self.schedule is not None:
            self.schedule.tick()
        self.check_connection()
        self._backup_tick()
        return result

    def _follow_universe(self) -> None:
        """A streamed exchange chooses its symbols (top N by volume, refreshed hourly; empty until it is reached)."""
        if self.spec.kind != "exchange" or self.spec.polling:
            return
        symbols = self.source.symbols()
        if symbols != self.watch.symbols:
            self.watch.symbols = list(symbols)
            self.pipeline.watch(self.watch.symbols, self.watch.timeframes)

    @property
    def streams(self) -> bool:
        """The source pushes closed candles and prices (wake-ups and marks), rather than being asked each cycle."""
        return callable(getattr(self.source, "wait_for_update", None))

    def has_update(self) -> bool:
        """Closed candles arrived that no cycle has read yet."""
        fn = getattr(self.source, "has_update", None)
        return bool(fn()) if callable(fn) else False

    def settle(self) -> None:
        """Candles are closing: give the other symbols' closes of the same candle a moment (at most 0.15 s) to
        arrive, so one cycle handles them together."""
        wait = getattr(self.source, "wait_for_update", None)
        if callable(wait):
            wait(0.0)

    def mark_quotes(self) -> int:
        """Open signals marked against the latest streamed prices (best bid for a LONG's exit, best ask for a
        SHORT's), in one transaction; decides nothing. Returns the rows marked."""
        from app.market.sources import quotes_of

        open_symbols = {sym for sym, _ in self.tracker.open_keys()}
        if not open_symbols:
            return 0
        fresh = {sym: q for sym, q in quotes_of(self.source).items()
                 if sym in open_symbols and self._marked.get(sym) != q.time_ms}
        if not fresh:
            return 0
        marked = self.tracker.on_quotes(fresh)
        for sym, q in fresh.items():
            self._marked[sym] = q.time_ms
        self.marks += marked
        return marked

    def connection(self) -> Any:
        from app.market.sources import connection_of

        return connection_of(self.source)

    def check_connection(self) -> Any:
        """The source's connection state; a change (state, reason or a feed's problem) is published as a
        `connection` event."""
        state = self.connection()
        key = (state.state, state.detail, tuple(sorted(getattr(state, "problems", {}).items())))
        if key != self._connection:
            self._connection = key
            self.tracker.emit("connection", {"state": state.state, "detail": state.detail,
                                             "retry_in_s": state.retry_in_s, "text": state.text(),
                                             "problems": dict(getattr(state, "problems", {})),
                                             "source": self.source.label})
        return state

    def _backup_tick(self) -> None:
        """Once a day, a backup of the database on the outbox thread (off the scan path; app.storage.recovery)."""
        day = time.strftime("%Y-%m-%d")
        if day == self._backup_day or self.settings.backups.keep <= 0:
            return
        self._backup_day = day
        from app.storage.recovery import daily_backup

        path, keep = self.db_path, self.settings.backups.keep
        self.outbox.submit("daily backup", lambda: daily_backup(path, keep))

    @property
    def finished(self) -> bool:
        return bool(getattr(self.source, "finished", False))

    def run(self, stop: threading.Event, until: Callable[[], bool] | None = None) -> None:
        """Cycle every interval until stopped, `until()` holds, or a replay has played all its candles. A streaming
        source also wakes the loop as soon as candles close (a cycle at once), and between cycles its prices mark
        the open signals once a second."""
        while not stop.is_set() and not self.cancel.is_set():
            try:
                self.cycle()
            except ScalpDeskError as exc:  # e.g. the disk is full: report, keep the loop alive, retry later
                log.error("scan cycle failed: %s", exc)
                self.tracker.emit("source_status", {"symbol": "*", "state": "error", "message": str(exc),
                                                     "source": self.source.label})
            if self.finished or (until is not None and until()):
                break
            advance = getattr(self.source, "advance", None)
            if advance is not None:
                advance()
            if self.streams:
                self._wait_streaming(stop)
            elif self.interval_s > 0:
                stop.wait(self.interval_s)

    def _wait_streaming(self, stop: threading.Event) -> None:
        wait: Callable[[float], bool] = self.source.wait_for_update  # type: ignore[attr-defined]
        deadline = time.monotonic() + max(self.interval_s, 0.05)
        next_mark = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            if now >= next_mark:
                try:
                    self.mark_quotes()
                except ScalpDeskError as exc:
                    log.error("marking open signals failed: %s", exc)
                self.check_connection()
                next_mark = now + self.mark_every_s
            if wait(max(0.0, min(deadline, next_mark) - time.monotonic())):
                return

    def snapshot(self, now_s: float | None = None, **extra: Any) -> Snapshot:
        """`extra`: the desk's parts (app.session.desk: watchlist, ticks...), passed to dashboard.build."""
        errors = {self.pipeline._name(f): st.message for f, st in self.pipeline.status.items() if st.state == "error"}
        from app.market.sources import connection_of, quotes_of

        return build(self.db, self.history, self.accuracy, self.costs, self.ml.status, self.last_scan_ms, errors,
                     time.time() if now_s is None else now_s, label=self.label, quotes=quotes_of(self.source),
                     connection=connection_of(self.source), skipped_for_costs=self.skipped_for_costs,
                     notifications=self.notification_status(), disk_warning=self.disk.warning(), **extra)

    def candles(self, symbol: str, timeframe: str | None = None) -> Any:
        """The buffered candles of a symbol (the chart's), or None."""
        tf = timeframe or self.pipeline.timeframe
        return self.pipeline.buffers.get((symbol, tf))

    def summary(self) -> Summary:
        from app.services.live.pipeline import summary

        return summary(self.tracker)

    # ---------------------------------------------------------------- changes
    def reload_research(self) -> None:
        """After a backtest or a training run: the new model, accuracy table and drift monitor."""
        self._build_research()
        self._build_notifications()

    def apply_settings(self, new: Settings) -> list[str]:
        """Use `new` from the next cycle on; returns what will change, in words (also logged then)."""
        with self._lock:
            self._pending = new
        return describe_changes(self.settings, new)

    def _check_settings(self) -> None:
        if self._file_mtime is not None and self.settings.source_path:
            m = _mtime(self.settings.source_path)
            if m != self._file_mtime:
                self._file_mtime = m
                try:
                    from app.settings import load

                    fresh = load(self.settings.source_path) if Path(self.settings.source_path).exists() else None
                except ConfigError as exc:
                    log.error("settings file changed but cannot be used (the running settings stay): %s", exc)
                    fresh = None
                if fresh is not None and self._pending is None:
                    self._pending = fresh
        with self._lock:
            new, self._pending = self._pending, None
        if new is None or new == self.settings:
            return
        self.changes = describe_changes(self.settings, new)
        for line in self.changes:
            log.info("settings: %s", line)
        old, self.settings = self.settings, new
        if needs_rebuild(old, new) and self.spec.kind in ("sim", "exchange"):
            self.spec = SourceSpec(kind="settings", exchange_url=self.spec.exchange_url,
                                   exchange_ws_url=self.spec.exchange_ws_url, clock_ms=self.spec.clock_ms,
                                   polling=self.spec.polling).resolved(new)
            self._rebuild_source()
            return
        cfg = engine_config(new)
        self.costs = costs_of(new)
        self.pipeline.cfg = cfg
        self.pipeline.min_probability = new.ml.min_probability
        self.tracker.costs = self.costs
        self.tracker.max_hold, self.tracker.sl_atr, self.tracker.tp_atr = cfg.max_hold, cfg.sl_atr, cfg.tp_atr
        if not self.spec.is_replay:
            self.watch.symbols = list(self.spec.symbols) or list(new.scanner.symbols)
            self.watch.timeframes = timeframes_of(new, self.spec.timeframe)
            if self.spec.kind == "sim":
                self.watch.timeframes = self.watch.timeframes[:1]
            self.watch.interval_s = new.scanner.interval_s
            self.pipeline.watch(self.watch.symbols, self.watch.timeframes)
        if (old.ml, old.risk, old.fees, old.confluence) != (new.ml, new.risk, new.fees, new.confluence):
            self._build_research()  # the history shown depends on the stop, target, hold, fees and minimum score
        if old.notifications != new.notifications or old.reports != new.reports:
            self._build_notifications()

    def _rebuild_source(self) -> None:
        """A new source or exchange: close the old source, build a new one; the database and the open signals of
        each source stay (they are followed again whenever their source runs)."""
        close_source(self.source)
        self._build_source()
        self._build_research()
        self._build_notifications()

    def close(self, timeout: float = 10.0) -> list[str]:
        """Stop the source, give the queued alerts and tasks up to `timeout` seconds in all to go out, close the
        database. Never longer than `timeout` (plus the database's close): what could not finish is returned and
        logged. Nothing stored is lost: alerts still queued wait in the database for the next start, and every
        recorded signal was committed by its own transaction."""
        deadline = time.monotonic() + max(0.0, timeout)

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        unfinished: list[str] = []
        try:
            close_source(self.source, timeout=left())
        except Exception as exc:  # closing goes on: the alerts and the database still need it
            unfinished.append(f"the source did not close cleanly: {exc}")
        if self.telegram is not None and not self.telegram.close(timeout=left()):
            unfinished.append("the Telegram sender did not finish (unsent alerts wait in the database)")
        if not self.outbox.close(timeout=left()):
            unfinished.append(f"tasks not finished: {', '.join(self.outbox.pending()) or 'one running'}")
        self.db.close()
        for line in unfinished:
            log.warning("closing the live session: %s", line)
        return unfinished

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

