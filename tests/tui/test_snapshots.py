"""Snapshots of every wizard step and the review at 80x24 and 120x40, plus a few states
(race settings, continuous actions, a refused combination, a code reward) and the home and
help screens.

Deterministic content: a fixed model in a temporary workspace shown by relative paths, no
cursor blink, no animations. After a deliberate change: `pytest tests/tui --snapshot-update`,
then look at snapshot_report.html (or the SVGs) before committing them."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, settle, starter_session

from drtui.screens.steps import STEPS

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def _then(keys=()):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.4)  # past the reward check's debounce
            await settle(pilot.app, pilot)
    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("index", [pytest.param(i, id=s.key) for i, s in enumerate(STEPS)])
def test_step(snap_compare, workspace, index, size):
    app = make_app(workspace, starter_session(workspace, "snap-model"), step=index)
    assert snap_compare(app, terminal_size=size, run_before=_then())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("scenario", "index", "keys"), [
    pytest.param("head_to_head", 0, (), id="head-to-bot-race"),
    pytest.param("time_trial", 2, (), id="continuous-actions"),
    pytest.param("centerline", 1, ("down", "down", "down", "space", "down", "space"),
                 id="refused-sensors"),
    pytest.param("centerline", 5, ("right", "enter"), id="code-reward"),
])
def test_state(snap_compare, workspace, scenario, index, keys, size):
    app = make_app(workspace, starter_session(workspace, "snap-model", scenario=scenario),
                   step=index)
    assert snap_compare(app, terminal_size=size, run_before=_then(keys))


def test_home(snap_compare, workspace):
    starter_session(workspace, "first-model")
    starter_session(workspace, "second-model", scenario="head_to_head", algorithm="sac")
    assert snap_compare(make_app(workspace), terminal_size=(80, 24), run_before=_then())


def test_help(snap_compare, workspace):
    app = make_app(workspace, starter_session(workspace, "snap-model"), step=4)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_then(("f1",)))
