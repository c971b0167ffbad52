"""Notifications that never stall a scan: a persistent, bounded alert queue with retries and counted drops, reports
marked done only once sent, a dead SMTP host kept off the scan cycle, `notify --test` failing loudly, and AUTH
blobs redacted."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import socket
import threading
import time

import pytest

from app.services.reporting.notifier import EmailNotifier, NotifyError, TelegramNotifier
from app.storage import outbox as repo
from app.storage.db import Database
from tests.services.test_notifier import TOKEN, FakeBot


@pytest.fixture
def bot():
    b = FakeBot()
    yield b
    b.close()


def _wait(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _counts(db_path):
    with Database(db_path) as db:
        return repo.counts(db, "telegram")


def test_queued_alerts_survive_the_exit_and_are_sent_at_the_next_start(bot, tmp_path):
    db = tmp_path / "live.sqlite"
    Database(db).close()
    bot.answers = [(502, {})] * 1000  # the Bot API is down for now
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, retries=0, sleep=lambda s: None, db_path=db)
    for i in range(12):
        tg.post(f"alert {i}")
    assert _wait(lambda: _counts(db)["queued"] == 12)
    tg.close(timeout=0.5)  # the app exits with 12 alerts unsent: they stay in the database
    assert _counts(db)["queued"] == 12 and bot.received == []
    bot.answers = []  # the next start, the API is back
    again = TelegramNotifier(TOKEN, "42", base_url=bot.url, retries=0, sleep=lambda s: None, db_path=db)
    again.queue.max_attempts = 99
    with Database(db) as d:  # their retry time has not come yet: make it now, as a later start would find it
        d.write("UPDATE outbox SET next_try_at = 0")
    assert _wait(lambda: len(bot.received) == 12)
    again.close(timeout=5)
    assert [m["text"] for m in bot.received] == [f"alert {i}" for i in range(12)]  # in order, none lost
    assert _counts(db) == {"queued": 0, "sent": 12, "dropped": 0, "failed": 0}


_CRASHER = """
import sys, time, os
from app.services.reporting.notifier import TelegramNotifier
from app.storage import outbox as repo
from app.storage.db import Database
tg = TelegramNotifier("123456:SECRET-token-value-xyz", "42", base_url="http://127.0.0.1:9", retries=0,
                      sleep=lambda s: None, db_path=__import__("pathlib").Path(sys.argv[1]))
for i in range(12):
    tg.post(f"alert {i}")
while True:
    with Database(sys.argv[1]) as db:
        if repo.counts(db, "telegram")["queued"] == 12:
            break
    time.sleep(0.01)
os._exit(9)  # a crash: no close, no flush
"""


def test_queued_alerts_survive_a_crash(bot, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    db = tmp_path / "live.sqlite"
    subprocess.run([sys.executable, "-c", _CRASHER, str(db)], cwd=ROOT, timeout=120)
    with Database(db) as d:
        d.write("UPDATE outbox SET next_try_at = 0")
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, retries=0, sleep=lambda s: None, db_path=db)
    assert _wait(lambda: len(bot.received) == 12)
    tg.close()


def test_the_queue_is_bounded_and_counts_what_it_drops(bot, tmp_path):
    db = tmp_path / "live.sqlite"
    Database(db).close()
    bot.answers = [(502, {})] * 1000
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, retries=0, sleep=lambda s: None, db_path=db, maxsize=5)
    for i in range(12):
        tg.post(f"alert {i}")
    assert _wait(lambda: _counts(db)["dropped"] == 7)
    tg.close(timeout=0.2)
    assert _counts(db)["queued"] == 5 and tg.dropped == 7
    with Database(db) as d:
        kept = [r[0] for r in d.query("SELECT payload FROM outbox ORDER BY id")]
    assert kept == [f"alert {i}" for i in range(7, 12)]  # the newest are kept


def test_a_refused_message_is_not_retried_forever(bot, tmp_path):
    db = tmp_path / "live.sqlite"
    Database(db).close()
    bot.answers = [(401, {"ok": False, "description": "Unauthorized"})]
    tg = TelegramNotifier(TOKEN, "42", base_url=bot.url, retries=3, sleep=lambda s: None, db_path=db)
    tg.post("x")
    assert _wait(lambda: _counts(db)["failed"] == 1)
    tg.close()
    assert len(bot.paths) == 1 and _counts(db)["queued"] == 0


def test_a_report_is_marked_done_only_once_sent(tmp_path):
    from app.services.reporting.scheduler import run_due
    from app.settings import load
    from tests.services.test_reporting import _fill

    db = tmp_path / "r.sqlite"
    _fill(db, 5)
    now = dt.datetime(2024, 8, 7, 9, 0, tzinfo=dt.UTC)

    def down(pdf):
        raise NotifyError("e-mail via smtp.example:587: connection refused")

    with pytest.raises(NotifyError):
        run_due(db, tmp_path / "reports", load(), now=now, send=down)
    with Database(db) as d:
        assert d.query("SELECT COUNT(*) FROM report_runs")[0][0] == 0  # not sent: not done, tried again later
    sent = []
    made = run_due(db, tmp_path / "reports", load(), now=now, send=sent.append)
    assert made and sent == made
    assert run_due(db, tmp_path / "reports", load(), now=now, send=sent.append) == []


def test_no_reports_for_days_before_the_database_began(tmp_path):
    from app.services.reporting.scheduler import run_due
    from app.settings import load

    db = tmp_path / "fresh.sqlite"
    Database(db).close()  # installed today: nothing recorded before
    now = dt.datetime.now(dt.UTC)
    made = run_due(db, tmp_path / "reports", load(), now=now)
    assert all(p.stem.endswith(now.date().isoformat()) for p in made)  # at most today's, never earlier days
    assert not [p for p in (tmp_path / "reports").glob("*.pdf") if now.date().isoformat() not in p.name]


class _Silent:
    """An SMTP host that accepts connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def test_a_dead_smtp_host_never_delays_a_scan_cycle(tmp_path):
    from app.session.live import LiveSession, SourceSpec
    from app.settings import load

    silent = _Silent()
    settings = load().replace({"notifications.email_enabled": True, "notifications.smtp_host": "127.0.0.1",
                               "notifications.smtp_port": silent.port, "notifications.smtp_security": "none",
                               "notifications.email_to": "me@example.com", "reports.daily_time": "00:00"})
    db = tmp_path / "live.sqlite"
    try:
        times = {}
        for label, reports in (("without reports", False), ("dead SMTP host", True)):
            with LiveSession(settings, db, tmp_path / "none.model", SourceSpec(kind="sim"), alerts=False,
                             reports=reports, watch_file=False) as session:
                session.outbox.close = lambda timeout=0: None  # do not wait for the hung e-mail at exit
                cycles = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    session.cycle()
                    cycles.append(time.perf_counter() - t0)
                times[label] = sorted(cycles)[1]  # the median of 3
                if reports:
                    assert _wait(lambda: len(silent.conns) >= 1, 10)  # the report's e-mail is on its way, hung
                    status = session.notification_status()
                    assert status["telegram"] is None and status["tasks_dropped"] == 0
        print(json.dumps(times))
        assert times["dead SMTP host"] < times["without reports"] + 1.0  # (it was 20 s: the SMTP timeout)
    finally:
        silent.close()


def test_notify_test_exits_non_zero_when_every_channel_fails(bot, tmp_path, isolated_home, monkeypatch):
    from tests.conftest import run_cli

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"notifications": {"telegram_enabled": True, "telegram_chat_id": "42"}}))
    monkeypatch.setenv("SCALPDESK_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("SCALPDESK_TELEGRAM_API", bot.url)
    bot.answers = [(401, {"ok": False, "description": "Unauthorized"})]
    proc = run_cli(isolated_home, "notify", "--test", "--config", str(cfg), check=False)
    assert proc.returncode == 1 and "FAILED" in proc.stdout and TOKEN not in proc.stdout + proc.stderr
    ok = run_cli(isolated_home, "notify", "--test", "--config", str(cfg), "--json")
    assert json.loads(ok.stdout)["exit_code"] == 0
    none = run_cli(isolated_home, "notify", "--test", check=False)
    assert none.returncode == 1 and "No notification channel is configured" in none.stdout


def test_an_echoed_auth_plain_blob_never_reaches_a_log_line(tmp_path, caplog):
    """A server that echoes the AUTH PLAIN credentials in its refusal (seen in the wild)."""
    from app.security import RedactingFilter

    user, password = "trader@example.com", "hunter2-smtp-pass"
    blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        c, _ = srv.accept()
        f = c.makefile("rwb")
        f.write(b"220 test ESMTP\r\n")
        f.flush()
        for raw in f:
            line = raw.decode().strip()
            if line.upper().startswith("EHLO"):
                f.write(b"250-test\r\n250 AUTH PLAIN LOGIN\r\n")
            elif line.upper().startswith("AUTH"):
                f.write(f"535 5.7.8 Authentication failed: {line}\r\n".encode())
            elif line.upper().startswith("QUIT"):
                f.write(b"221 bye\r\n")
                f.flush()
                break
            else:
                f.write(b"250 ok\r\n")
            f.flush()
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    em = EmailNotifier("127.0.0.1", port, "none", user, password, user, "b@example.com", timeout_s=10)
    with pytest.raises(NotifyError) as err:
        em.send("x", "y")
    srv.close()
    handler = logging.StreamHandler(__import__("io").StringIO())
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        log.warning("e-mail failed: %s", err.value)
        try:
            raise RuntimeError(f"server said AUTH PLAIN {blob}")
        except RuntimeError:
            log.exception("while sending")
    finally:
        log.removeHandler(handler)
    written = handler.stream.getvalue()
    assert "535" in str(err.value) and "Authentication failed" in written
    for secret in (blob, blob.rstrip("="), password):
        assert secret not in str(err.value) and secret not in written
