"""Fixtures for the Textual pilot and snapshot tests: a fixed workspace, no cursor blink."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

# the tests import tui_helpers from here whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _steady_terminal(monkeypatch):
    # a blinking cursor makes screenshots differ by one cell at random (harlequin does this)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    """The developer's own ~/.config/drtui (a keymap) never reaches a test."""
    monkeypatch.delenv("DRTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    return tmp_path / "user-config" / "drtui" / "config.toml"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty workspace that is also the current folder, so shown paths are relative."""
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.chdir(ws)
    return ws
