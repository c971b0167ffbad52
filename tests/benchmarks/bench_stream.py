"""Issue 18: the streaming feed end to end. A fake Binance (REST + websocket kline/bookTicker streams) runs in a
child process with its market clock at `--speed` x real time; the app's own exchange source and live session (in
this process, so CPU and memory are the app's) stream `--symbols` pairs on 1m for `--minutes` of market time while
the faults of the issue are injected: a disconnect mid-candle, a silent stall, duplicated, out-of-order and late
(unclosed) messages, malformed frames, dropped closes, a 2-minute outage, and one symbol's subscription refused.
Afterwards the same candles are replayed through the live pipeline and must give identical records.

Latency: from the moment the exchange sent a candle's closing message to the moment the signal it produced was
stored (the cycle's commit) and the window's snapshot was built; only candles whose close came over the websocket
(a candle fetched over REST after a drop or the outage has no close message, and a close the exchange sent on a
connection that was being dropped never reached the app: both are left out; a close that did arrive but waited
for a missing earlier candle is counted). `--mode poll` runs today's polling
loop (every symbol asked over REST each scan interval) on the same market, timed from the candle's close.

Run: .venv/bin/python tests/benchmarks/bench_stream.py --symbols 200 --minutes 5 --json
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import common  # type: ignore[import-not-found]  # noqa: F401  (puts the project root on sys.path)

TF = 60_000
HISTORY = 1000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# ---------------------------------------------------------------------------------------------- the exchange
def schedule(t0: int, minutes: int) -> list[tuple[int, str]]:
    """Faults by market time. Short runs: a stall shorter than the client's patience (3 candles), so a 2-minute
    outage still fits; from 12 minutes on, a stall long enough to be detected, repeated every 15 minutes."""
    m = t0 - t0 % TF
    out: list[tuple[int, str]] = []
    if minutes < 12:
        out += [(m + 30_000, "disconnect"), (m + 50_000, "stall"), (m + TF + 40_000, "unstall"),
                (m + 3 * TF, "outage_on"), (m + 5 * TF, "outage_off")]
        return out
    for k in range(0, minutes - 11, 15):
        b = m + k * TF
        out += [(b + TF + 30_000, "disconnect"), (b + 3 * TF + 10_000, "stall"),
                (b + 8 * TF + 20_000, "outage_on"), (b + 10 * TF + 20_000, "outage_off")]
    return out


def exchange_main(conn: Any, now: Any, symbols: int, minutes: int, speed: float, seed: int, faults: bool) -> None:
    from tests.stream_harness import START, Exchange, market

    t0 = START + (HISTORY + 100) * TF + 25_000
    data = market(symbols, HISTORY + 100 + minutes + 5, seed=seed)
    refused = sorted(data)[1] if faults else None
    with Exchange(data, t0, seed=seed) as ex:
        if faults:
            ex.ws.refuse = {refused.replace("/", "")}
            ex.ws.duplicate_p = ex.ws.reorder_p = ex.ws.late_update_p = 0.01
            ex.ws.malformed_p = ex.ws.drop_p = 0.005
        now.value = t0
        conn.send({"rest": ex.rest.url, "ws": ex.ws.url, "t0": t0, "symbols": sorted(data), "refused": refused})
        assert conn.recv() == "go"
        end = t0 - t0 % TF + minutes * TF + 15_000
        actions = schedule(t0, minutes) if faults else []
        boundaries: dict[int, float] = {}
        start = time.time()
        while ex.now_ms < end:
            target = min(end, t0 + int((time.time() - start) * speed * 1000))
            while actions and actions[0][0] <= target:
                when, what = actions.pop(0)
                ex.ws.advance(when)
                now.value = ex.now_ms
                {"disconnect": ex.ws.disconnect, "stall": ex.ws.stall, "unstall": ex.ws.unstall,
                 "outage_on": lambda: ex.ws.outage(True), "outage_off": lambda: ex.ws.outage(False)}[what]()
            b = (ex.now_ms // TF + 1) * TF
            if b <= target:
                boundaries[b - TF] = time.time()  # the candle that opened at b - TF closes now
            ex.ws.advance(target)
            now.value = ex.now_ms
            time.sleep(0.01)
        counts = dict(ex.ws.counts)
        conn.send({"end": end, "close_sent": {f"{k[0]}|{k[1]}|{k[2]}": v for k, v in ex.ws.close_sent.items()},
                   "boundaries": boundaries, "counts": counts})
        conn.recv()  # keep serving until the app is done


# ---------------------------------------------------------------------------------------------- the app
def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["SCALPDESK_HOME"] = tempfile.mkdtemp(prefix="bench-stream-")
    from app.session.live import SourceSpec
    from app.settings import load
    from tests.stream_harness import Running, cut, live_rows, market, replay_rows, start_session

    ctx = mp.get_context("spawn")
    now = ctx.Value("q", 0)
    here, there = ctx.Pipe()
    child = ctx.Process(target=exchange_main, args=(there, now, args.symbols, args.minutes, args.speed, args.seed,
                                                    not args.no_faults), daemon=True)
    child.start()
    info = here.recv()
    settings = load().replace({"scanner.timeframe": "1m", "scanner.history_candles": HISTORY,
                               "scanner.interval_s": 10.0, "confluence.min_score": args.min_score,
                               "risk.target_cost_multiple": 0.0})
    spec = SourceSpec(kind="exchange", exchange="binance", exchange_url=info["rest"], exchange_ws_url=info["ws"],
                      symbols=tuple(info["symbols"]), timeframe="1m", clock_ms=lambda: int(now.value),
                      polling=args.mode == "poll")
    workdir = Path(os.environ["SCALPDESK_HOME"])
    published: dict[tuple[str, int], float] = {}  # (symbol, candle) -> when its cycle's snapshot was built
    signal_keys: list[tuple[str, int]] = []
    holder: dict[str, Any] = {}
    last_pos: dict[tuple[str, str], int] = {}
    candles = 0

    def on_event(ev: Any) -> None:  # in the session's thread, right after the cycle's commit
        if ev.kind == "signal_opened":
            signal_keys.append((ev.data["symbol"], int(ev.data["signal_time"])))

    def after_cycle(new_candles: int) -> None:  # in the session's thread, right after the cycle's commit
        nonlocal candles
        if new_candles and holder.get("streaming"):
            candles += new_candles
            session = holder["run"].session
            session.snapshot()  # what the window receives after the cycle
            t = time.time()
            for feed, pos in session.pipeline.positions.items():
                prev = last_pos.get(feed)
                if prev is not None and pos > prev:
                    for c in range(prev + TF, pos + TF, TF):
                        published[(feed[0], c)] = t
                last_pos[feed] = pos

    t_setup = time.monotonic()
    run_: Running = start_session(settings, workdir / "stream.sqlite", spec, listener=on_event, keep_events=False)
    holder["run"] = run_
    pipeline = run_.session.pipeline
    plain_cycle = pipeline.cycle

    def timed_cycle() -> Any:
        result = plain_cycle()
        after_cycle(result.new_candles)
        return result

    pipeline.cycle = timed_cycle  # type: ignore[method-assign]
    received: set[tuple[str, int]] = set()  # closes that reached the app over the websocket
    book = getattr(run_.session.source, "book", None)
    if book is not None:
        plain_on_stream = book.on_stream

        def on_stream(feed: Any, t: int, row: Any, closed: bool, now_ms: int) -> bool:
            if closed:
                received.add((feed[0], int(t)))
            return bool(plain_on_stream(feed, t, row, closed, now_ms))

        book.on_stream = on_stream
    n = len(info["symbols"])
    run_.wait(lambda: len(run_.positions()) == n, 900, "every symbol's history")
    if args.mode == "stream":
        run_.wait(lambda: run_.session.source.connection().state == "connected", 120, "the stream")
    setup_s = time.monotonic() - t_setup
    last_pos.update(run_.positions())
    first_new = min(last_pos.values())
    marks0, cycles0 = run_.session.marks, run_.session.pipeline.cycles
    rss_start = rss_mb()
    objects_start = len(gc.get_objects())
    cpu0, wall0 = time.process_time(), time.monotonic()
    holder["streaming"] = True
    samples: list[tuple[float, float]] = []  # (market minutes streamed, RSS MB)
    t0_market = int(now.value)
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(2.0):
            samples.append(((int(now.value) - t0_market) / TF, rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    here.send("go")
    done = here.recv()
    last = (done["end"] // TF) * TF - TF
    run_.wait(lambda: all(v >= last for v in run_.positions().values()), 600, "the last candle everywhere")
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    rss_end = rss_mb()
    objects_end = len(gc.get_objects())
    sampling.set()
    warm = [r for m, r in samples if m >= min(10.0, args.minutes / 5)]
    session = run_.session
    marks, cycles = session.marks - marks0, session.pipeline.cycles - cycles0
    stats = session.source.stats() if hasattr(session.source, "stats") else {}
    conn_text = session.connection().text()
    run_.close()
    here.send("stop")
    child.join(10)

    # latency: close message (stream) or the candle's close on the market clock (poll) -> snapshot after the commit
    sent = {tuple(k.split("|")): v for k, v in done["close_sent"].items()}
    start_of = {int(k): v for k, v in done["boundaries"].items()}

    def origin(symbol: str, t: int) -> float | None:
        if args.mode == "stream":
            return sent.get((symbol.replace("/", ""), "1m", str(t)))
        return start_of.get(t)

    def lat(keys: list[tuple[str, int]]) -> list[float]:
        out = []
        for sym, t in keys:
            if args.mode == "stream" and (sym, t) not in received:
                continue  # sent on a connection that was dropping: the candle came over REST after the reconnect
            o, p = origin(sym, t), published.get((sym, t))
            if o is not None and p is not None and p >= o:
                out.append((p - o) * 1000.0)
        return out

    sig_lat = lat(signal_keys)
    all_lat = lat(list(published))

    data = market(args.symbols, HISTORY + 100 + args.minutes + 5, seed=args.seed)
    seen = cut(data, first_new - (HISTORY - 1) * TF, last)
    rows = live_rows(workdir / "stream.sqlite", first_new)
    replayed = replay_rows(seen, settings, workdir / "replay.sqlite", first_new)
    counts = done["counts"]
    kinds = ("disconnects", "stalls", "outages", "duplicated", "reordered", "late_updates", "malformed", "dropped")
    faults = {k: int(counts.get(k, 0)) for k in kinds}
    faults["refused_symbols"] = 0 if args.no_faults else 1
    return {
        "symbols": n, "candles": candles, "signals": len(signal_keys),
        "close_to_signal_ms": pct(sig_lat), "marks_per_s": round(marks / wall, 1) if wall else 0.0,
        "faults_injected": sum(faults.values()), "parity_with_replay": rows == replayed,
        "rss_mb_start": round(rss_start, 1), "rss_mb_end": round(rss_end, 1),
        # more figures
        "mode": args.mode, "minutes": args.minutes, "speed": args.speed, "signals_timed": len(sig_lat),
        "close_to_publish_ms": {**pct(all_lat), "n": len(all_lat)},
        "closes_sent_not_received": sum(1 for sym, t in published if origin(sym, t) is not None
                                        and (sym, t) not in received) if args.mode == "stream" else None,
        "cpu_per_s": round(cpu / wall, 3) if wall else None,
        "rss_mb_after_warmup": round(warm[0], 1) if warm else None,
        "python_objects": {"start": objects_start, "end": objects_end},
        "rss_mb_by_minute": {str(int(m)): round(r, 1) for m, r in samples[:: max(1, len(samples) // 12)]},
        "wall_s": round(wall, 1), "setup_s": round(setup_s, 1),
        "cycles": cycles, "faults": faults, "records": len(rows), "connection": conn_text,
        "source": {k: stats[k] for k in ("messages", "malformed", "rest_requests", "closed_stream", "closed_rest",
                                         "duplicates", "late_updates", "reconnects") if k in stats},
        "min_score": args.min_score,
    }


def pct(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"p50": None, "p99": None}
    s = sorted(xs)
    return {"p50": round(statistics.median(s), 1), "p99": round(s[min(len(s) - 1, int(0.99 * len(s)))], 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--symbols", type=int, default=200)
    p.add_argument("--minutes", type=int, default=5, help="market time to stream (the fake's clock runs fast)")
    p.add_argument("--speed", type=float, default=10.0, help="market seconds per real second")
    p.add_argument("--mode", choices=("stream", "poll"), default="stream")
    p.add_argument("--min-score", type=float, default=50.0)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--no-faults", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    result = run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
