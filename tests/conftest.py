from __future__ import annotations

import os
from pathlib import Path

import pytest

# an unexpected error in the studio ends the app under test (it would only notify a user),
# so no test passes over one; tests/tui/test_crash_keeps_work.py turns it back off
os.environ.setdefault("DRTUI_FATAL_ERRORS", "1")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def starter_data():
    """A valid session as the dict a session file holds (fresh for each test)."""
    from drtui.session.starter import starter
    from drtui.session.store import to_data

    return to_data(starter("test-model"))
