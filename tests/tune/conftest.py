"""Fixtures of the tune tests (helpers in tune_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the tests import tune_helpers from here whatever pytest's import mode
sys.path.insert(0, str(Path(__file__).parent))

from tune_helpers import FAST  # noqa: E402


@pytest.fixture
def fast_env(monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
