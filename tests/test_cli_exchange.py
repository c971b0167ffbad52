"""`scan` and `track` on an exchange, as a user runs them: offline is said first and fast, with a non-zero exit when
no symbol got candles; bad symbols and timeframes are named; `track` streams from the fake exchange and shows its
connection state."""

from __future__ import annotations

import json
import socket
import time

from tests.conftest import run_cli
from tests.stream_harness import START, TF, Exchange, market


def _dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: as good as offline, on any machine
    return f"http://127.0.0.1:{port}"


def test_scan_offline_fails_fast_and_says_so_first(isolated_home):
    t0 = time.monotonic()
    proc = run_cli(isolated_home, "scan", "--source", "exchange", "--exchange-url", _dead_url(), check=False)
    took = time.monotonic() - t0
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0].startswith("could not reach binance")
    assert "No symbol got candles" in proc.stdout and "No signal on the last" not in proc.stdout
    assert took < 20  # markets are tried once, not once per symbol with five tries each
    js = run_cli(isolated_home, "scan", "--source", "exchange", "--exchange-url", _dead_url(), "--json", check=False)
    out = json.loads(js.stdout)
    assert js.returncode == 1 and out["offline"].startswith("could not reach binance") and out["signals"] == []


def test_track_offline_says_so_on_stderr_quickly(isolated_home, tmp_path):
    t0 = time.monotonic()
    proc = run_cli(isolated_home, "track", "--source", "exchange", "--exchange-url", _dead_url(), "--cycles", "2",
                   "--db", str(tmp_path / "t.sqlite"), "--config", str(_fast_config(tmp_path)), "--json",
                   check=False)
    took = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    assert "connection: offline: could not reach binance" in proc.stderr
    out = json.loads(proc.stdout)
    assert out["connection"]["state"] == "offline" and out["candles"] == 0 and out["source"] == "LIVE binance"
    assert took < 60


def _fast_config(tmp_path):
    from app.settings import load

    path = tmp_path / "config.json"
    settings = load().replace({"scanner.interval_s": 2, "scanner.timeframe": "1m", "scanner.history_candles": 300})
    path.write_text(json.dumps(settings.to_dict()))
    return path


def test_bad_symbol_and_timeframe_are_named_before_anything_starts(isolated_home, tmp_path):
    data = market(2, 500, seed=2)
    with Exchange(data, START + 400 * TF + 1_000) as ex:
        for cmd in (["scan"], ["track", "--cycles", "1", "--db", str(tmp_path / "t.sqlite"),
                               "--exchange-ws-url", ex.ws.url]):
            proc = run_cli(isolated_home, *cmd, "--source", "exchange", "--exchange-url", ex.rest.url, "--symbols",
                           "BTC/USDT,FOO/USDT", "--timeframe", "1m", check=False)
            assert proc.returncode == 2 and "does not list FOO/USDT" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
            proc = run_cli(isolated_home, *cmd, "--source", "exchange", "--exchange-url", ex.rest.url, "--symbols",
                           "BTC/USDT", "--timeframe", "7m", check=False)
            assert proc.returncode == 2 and "timeframe '7m' is not supported" in proc.stderr, proc.stderr
        assert ex.ws.counts["connections"] == 0


def test_track_streams_from_the_exchange_and_reports_the_connection(isolated_home, tmp_path):
    data = market(3, 500, seed=2)
    with Exchange(data, START + 400 * TF + 1_000) as ex:
        proc = run_cli(isolated_home, "track", "--source", "exchange", "--exchange-url", ex.rest.url,
                       "--exchange-ws-url", ex.ws.url, "--symbols", ",".join(sorted(data)), "--timeframe", "1m",
                       "--cycles", "2", "--db", str(tmp_path / "t.sqlite"), "--config", str(_fast_config(tmp_path)),
                       "--json", check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["candles"] >= 300 and out["candles"] % 300 == 0  # each cycle woken by a feed's history arriving
    assert out["connection"]["state"] in ("connected", "connecting")
    assert "connection: " in proc.stderr
