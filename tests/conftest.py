from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture(autouse=True)
def _studio_errors_are_fatal(monkeypatch):
    """An unexpected error in the studio ends the app under test (a user would only be
    notified), so no test passes over one; tests/tui/test_crash_keeps_work.py turns it off."""
    from drtui.app import DrtuiApp

    monkeypatch.setattr(DrtuiApp, "FATAL_ERRORS", True)
