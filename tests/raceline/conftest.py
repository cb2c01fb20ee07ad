from functools import cache

import pytest

from drtui.catalog.tracks import load_waypoints
from drtui.raceline.line import racing_line

QUICK_ITERATIONS = 60  # the borders hold at any iteration count: every step is clamped


@cache
def _quick_line(world: str):
    return racing_line(load_waypoints(world), iterations=QUICK_ITERATIONS)


@pytest.fixture(scope="session")
def quick_line():
    """A racing line per world, computed once for the session's tests."""
    return _quick_line
