"""Start-up: a damaged database is offered to be moved aside before the window opens."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app import paths
from app.ui import app as gui


def _damaged():
    db = paths.default_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"not sqlite at all " * 500)
    return db


def test_a_damaged_database_is_moved_aside_when_the_user_agrees(qapp, monkeypatch):
    db = _damaged()
    asked, told = [], []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: told.append(a[2]))
    assert gui._offer_recovery(db, ask=True)
    assert "damaged" in asked[0] and "Move it aside" in asked[0]
    assert "moved to" in told[0]
    assert any(p.name.startswith(db.name + ".damaged-") for p in db.parent.iterdir())
    assert gui._offer_recovery(db, ask=True) and len(asked) == 1  # the fresh database opens: nothing asked


def test_declining_keeps_the_file_and_quits(qapp, monkeypatch):
    db = _damaged()
    before = db.read_bytes()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert not gui._offer_recovery(db, ask=True)
    assert db.read_bytes() == before
