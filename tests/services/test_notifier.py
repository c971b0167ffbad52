"""Telegram against a fake Bot API on 127.0.0.1 and e-mail against a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.services.reporting.notifier import EmailNotifier, NotifyError, TelegramNotifier, signal_message

TOKEN = "123456:SECRET-token-value-xyz"


class FakeBot:
    def __init__(self):
        self.answers: list[tuple[int, dict]] = []
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.delay = 0.0
        fake = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.paths.append(self.path)
                if fake.delay:
                    time.sleep(fake.delay)
                code, answer = fake.answers.pop(0) if fake.answers else (200, {"ok": True, "result": {}})
                if code == 200:
                    fake.received.append(body)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def bot():
    b = FakeBot()
    yield b
    b.close()


def test_message_format_and_html_escaping(bot):
    waits = []
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, sleep=waits.append)
    s = {"side": "LONG", "symbol": "<X&Y>/USDT", "timeframe": "5m", "confluence_score": 72.3, "entry": 1.5,
         "stop_loss": 1.4, "take_profit": 1.7, "ml_probability": None}
    tg.send(signal_message(s, "57% (52–62%, n=340)"))
    msg = bot.received[0]
    assert msg["chat_id"] == "42" and msg["parse_mode"] == "HTML"
    assert "&lt;X&amp;Y&gt;/USDT" in msg["text"] and "Tracking live…" in msg["text"] and "filter off" in msg["text"]
    assert bot.paths[0] == f"/bot{TOKEN}/sendMessage"


def test_429_waits_retry_after_and_5xx_retries(bot, caplog):
    waits = []
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, sleep=waits.append)
    bot.answers = [(429, {"ok": False, "parameters": {"retry_after": 7}}), (502, {}), (200, {"ok": True})]
    with caplog.at_level(logging.DEBUG):
        tg.send("hello")
    assert waits[0] == 7 and len(bot.received) == 1
    assert TOKEN not in caplog.text


def test_timeout_and_failure_messages_never_contain_the_token(bot, caplog):
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, timeout_s=0.2, retries=1, sleep=lambda s: None)
    bot.delay = 0.5
    with caplog.at_level(logging.DEBUG), pytest.raises(NotifyError) as err:
        tg.send("slow")
    assert TOKEN not in str(err.value) and "network" in str(err.value)
    bot.delay = 0.0
    bot.answers = [(401, {"ok": False, "description": "Unauthorized"})]
    with pytest.raises(NotifyError, match="401") as err:
        tg.send("x")
    assert TOKEN not in str(err.value) and TOKEN not in caplog.text


def test_queue_never_blocks_the_caller(bot):
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, sleep=lambda s: None)
    bot.delay = 0.3
    t0 = time.perf_counter()
    for i in range(3):
        tg.post(f"m{i}")
    assert time.perf_counter() - t0 < 0.1
    tg.close(timeout=10)
    assert tg.sent == 3


def test_email_attachment_arrives_intact(tmp_path):
    from aiosmtpd.controller import Controller

    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append(envelope.content)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        pdf = tmp_path / "r.pdf"
        pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)
        em = EmailNotifier("127.0.0.1", port, "none", "", None, "a@example.com",
                           "b@example.com")
        em.send("Report", "attached", pdf)
    finally:
        ctl.stop()
    import email

    msg = email.message_from_bytes(got[0])
    parts = [p for p in msg.walk() if p.get_filename() == "r.pdf"]
    assert parts and parts[0].get_payload(decode=True) == pdf.read_bytes()


def test_track_on_a_live_source_sends_its_alerts_and_a_replay_does_not(bot, isolated_home, tmp_path, monkeypatch):
    from tests.conftest import ROOT, run_cli

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"confluence": {"min_score": 0}, "risk": {"target_cost_multiple": 0},
                               "notifications": {"telegram_enabled": True, "telegram_chat_id": "42"}}))
    monkeypatch.setenv("SCALPDESK_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("SCALPDESK_TELEGRAM_API", bot.url)
    db = str(tmp_path / "live.sqlite")
    out = json.loads(run_cli(isolated_home, "track", "--source", "sim", "--cycles", "1", "--symbols",
                             "BTC/USDT,ETH/USDT,SOL/USDT", "--db", db, "--config", str(cfg), "--json").stdout)
    assert out["signals_opened"] > 0
    texts = [m["text"] for m in bot.received]
    assert len(texts) == out["signals_opened"] + out["signals_closed"]  # one alert per event, none lost at exit
    assert all(m["chat_id"] == "42" and m["parse_mode"] == "HTML" for m in bot.received)
    assert sum("Tracking live…" in t for t in texts) == out["signals_opened"]
    assert all(t.startswith("<b>SIMULATED</b> · ") for t in texts)  # the simulated market says so on a phone too
    assert not any(TOKEN in t for t in texts)
    replay = json.loads(run_cli(isolated_home, "track", "--source", "replay", "--data", str(ROOT / "data" /
                                "SIM_USDT-5m.csv"), "--db", str(tmp_path / "replay.sqlite"), "--config", str(cfg),
                                "--json").stdout)
    assert replay["signals_opened"] > 0 and len(bot.received) == len(texts)  # history replayed: no stale alerts


def test_a_signal_alert_carries_its_bands_expectancy_and_the_runs_verdict(tmp_path):
    """Telegram shows what history says with the expectancy first and the verdict of the run it comes from."""
    from app.core.outcomes import Costs
    from app.core.signals import EngineConfig
    from app.market.simulated import generate
    from app.services.live.accuracy import AccuracyTable
    from app.services.research.backtester import run_backtest
    from app.storage.db import Database

    data = list(generate(["DOGE/USDT", "SOL/USDT"], "5m", 6000, seed=4).values())
    with Database(tmp_path / "a.sqlite") as db:
        res = run_backtest(data, {}, EngineConfig(min_score=55.0, pattern_points=(("CDLENGULFING", 10.0),)),
                           Costs(), db)
        table = AccuracyTable.from_db(db)
    s = {"side": "LONG", "symbol": "DOGE/USDT", "timeframe": "5m", "confluence_score": 57.0, "entry": 0.1,
         "stop_loss": 0.099, "take_profit": 0.102, "ml_probability": None}
    text = signal_message(s, table.text(57.0, "DOGE/USDT", "5m"))
    assert f"run {res.run_id}: {res.verdict}" in text and "% per trade" in text
