"""A planted secret never reaches the configuration file, logs, reports, error messages or crash logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import ROOT

SECRET = "987654:PLANTED-secret-token-do-not-leak"


def test_planted_secret_never_leaks(tmp_path):
    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"ok": False, "description": f"Unauthorized for {self.path}"}).encode()
            self.send_response(401)  # a server that echoes the URL, token included
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.json").write_text(json.dumps(
        {"notifications": {"telegram_enabled": True, "telegram_chat_id": "42"}}))
    env = {**os.environ, "SCALPDESK_HOME": str(home), "SCALPDESK_TELEGRAM_TOKEN": SECRET,
           "SCALPDESK_TELEGRAM_API": f"http://127.0.0.1:{server.server_address[1]}", "QT_QPA_PLATFORM": "offscreen"}
    outputs = []
    try:
        for args in (["notify", "--test", "--json"], ["notify", "--test", "-v"],
                     ["report", "--period", "daily", "--out", str(home / "data" / "r.pdf")]):
            proc = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=120)
            outputs += [proc.stdout, proc.stderr]
        proc = subprocess.run([sys.executable, "main.py", "--smoke-test"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)
        outputs += [proc.stdout, proc.stderr]
    finally:
        server.shutdown()
    assert any("FAILED" in o or "401" in o for o in outputs)  # the channel was really tried
    for text in outputs:
        assert SECRET not in text
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.suffix == ".pdf" for p in files)
    for p in files:
        assert SECRET.encode() not in p.read_bytes(), p
        assert SECRET.split(":")[1].encode() not in p.read_bytes(), p
