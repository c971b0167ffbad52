"""A full disk is named as such, in the CLI and in what the window shows."""

from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple

from app import paths
from app.errors import ModelError, user_message


def test_a_full_disk_reads_as_such_in_any_message():
    msg = user_message(OSError(errno.ENOSPC, "No space left on device", "/data/r.pdf.tmp"))
    assert msg.startswith("The disk is full writing /data/r.pdf.tmp") and "28" not in msg
    assert user_message(ModelError("x: retrain")) == "x: retrain"


def test_low_disk_warning(monkeypatch, tmp_path):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 10**12 - 50_000_000, 50_000_000))
    warning = paths.low_disk_warning(tmp_path / "not-yet")
    assert warning and "almost full (50 MB free)" in warning
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 0, 10**12))
    assert paths.low_disk_warning(tmp_path) is None


def test_the_cli_names_a_full_disk_instead_of_an_internal_error(monkeypatch, capsys, tmp_path):
    """`report` hitting errno 28 (reportlab writing the PDF): one clear line, exit 2, no temporary file left."""
    from app.cli import main

    real_open = open

    def full(path, *a, **k):
        if str(path).endswith(".pdf.tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", full)
    out = tmp_path / "r.pdf"
    code = main(["report", "--db", str(tmp_path / "x.sqlite"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "the disk is full" in err and "internal error" not in err
    assert not list(tmp_path.glob("*.tmp")) and not out.exists()
