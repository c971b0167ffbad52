"""Shipped resources are found from the source tree and from a PyInstaller bundle; user files go to the user
folders, never next to the program."""

from __future__ import annotations

import sys

from app import paths
from tests.conftest import ROOT


def test_resources_from_the_source_tree():
    assert paths.bundle_root() == ROOT
    assert paths.default_config_path().is_file()
    assert paths.resource_path("icons", "scalpdesk.png").is_file()


def test_resources_from_a_bundle(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle" / "_internal"
    (bundle / "config").mkdir(parents=True)
    (bundle / "config" / "default_config.json").write_text("{}")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert paths.bundle_root() == bundle
    assert paths.default_config_path() == bundle / "config" / "default_config.json"
    assert paths.resource_path("icons", "x.png") == bundle / "resources" / "icons" / "x.png"
    assert not paths.default_db_path().is_relative_to(tmp_path / "bundle")  # user data never inside the bundle
