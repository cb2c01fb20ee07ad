"""The research methods in the wizard (step 4, ctrl+r): what the keyboard sets there is saved
exactly as `drtui method` writes it, and the core's refusals show beside the fields."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest
from textual.widgets import OptionList, Select
from tui_helpers import keys, make_app, open_at_step, problem_text, settle, starter_session

from drtui.session import store
from drtui.session.validate import problems_in

NETWORK = 3


def drtui_method(path, *args: str) -> None:
    """`drtui method PATH ARGS...` as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "drtui", "method", str(path), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def run_with_checkpoint(workspace, name: str):
    """A run folder made by the run store, with a checkpoint as the trainer writes it."""
    from drtui.files import render
    from drtui.runstore import store as runs
    from drtui.session.starter import starter
    from drtui.train import checkpoint

    session = starter(name)
    run = runs.create(workspace, session, render.render(session), provider="local",
                      runner="embedded")
    checkpoint.save(run.path, {"name": "1_Step-10.ckpt", "iteration": 1}, "last")
    return run


async def wait_until(pilot, condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def focus(app, pilot, selector: str) -> None:
    widget = app.screen.query_one(selector)
    widget.focus()
    await wait_until(pilot, lambda: app.focused is widget, f"focus on {selector}")


async def choose(app, pilot, selector: str, value: str) -> None:
    """Pick a Select's option with the keyboard: open its list, arrow to the option whose
    label starts with `value`, enter."""
    await focus(app, pilot, selector)
    select = app.screen.query_one(selector, Select)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.focused, OptionList), "the open list")
    options = app.focused
    labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    target = next(i for i, label in enumerate(labels) if label.startswith(value))
    at = options.highlighted or 0
    await pilot.press(*(["down"] * (target - at) if target >= at else ["up"] * (at - target)),
                      "enter")
    await wait_until(pilot, lambda: select.value == value, f"{selector} = {value}")
    await settle(app, pilot)


async def type_into(app, pilot, selector: str, text: str) -> None:
    await focus(app, pilot, selector)
    await pilot.press("ctrl+a", "ctrl+k", *keys(text))  # replace what the field holds
    await settle(app, pilot)


async def open_research(app, pilot) -> None:
    await open_at_step(app, pilot, NETWORK)
    await pilot.press("ctrl+r")
    await settle(app, pilot)
    assert app.focused is not None and type(app.focused).__name__ == "CollapsibleTitle"


async def test_saved_research_methods_match_drtui_method(workspace):
    path = starter_session(workspace, "research-wizard")
    twin = workspace / "research-cli.toml"
    shutil.copy(path, twin)
    run = run_with_checkpoint(workspace, "teacher")
    app = make_app(workspace, path, step=NETWORK)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_research(app, pilot)
        # domain randomisation: switch (the first stop after the title), strength, latency
        await pilot.press("tab")
        assert app.focused.id == "f-research-randomization-enabled-editor"
        await pilot.press("space")
        await type_into(app, pilot, "#f-research-randomization-strength-editor", "0.3")
        await type_into(app, pilot, "#f-research-randomization-latency-steps-editor", "2")
        # transfer: the run picked from the workspace's runs, the last checkpoint; they wait
        # out of the draft until the switch turns the method on
        await choose(app, pilot, "#transfer-pick", run.id)
        assert app.screen.query_one("#f-research-transfer-from-run-editor").value == run.id
        await choose(app, pilot, "#f-research-transfer-checkpoint-editor", "last")
        assert app.draft.get("research.transfer", fallback=None) is None
        await focus(app, pilot, "#transfer-on")
        await pilot.press("space")
        await settle(app, pilot)
        assert app.draft.get("research.transfer") == {"from_run": run.id, "checkpoint": "last"}
        # curriculum: two stages, added with `a` from the edit row, then edited in place
        await focus(app, pilot, "#curriculum-on")
        await pilot.press("space")
        await settle(app, pilot)
        assert "at least 1" in problem_text(app, "research.curriculum.stages")
        await choose(app, pilot, "#stage-world", "reinvent_base")
        await type_into(app, pilot, "#stage-speed", "1.5")
        await focus(app, pilot, "StageTable")
        await pilot.press("a", "a")  # the second stage starts as a copy of the first
        await settle(app, pilot)
        assert app.screen.query_one("StageTable").cursor_row == 1
        await choose(app, pilot, "#stage-world", "reInvent2019_wide")
        await type_into(app, pilot, "#stage-speed", "")
        await type_into(app, pilot, "#f-research-curriculum-promote-iterations-editor", "3")
        assert app.draft.problems() == []
        assert "✓ no problems" in str(app.screen.query_one("#step-status").render())
        title = str(app.screen.query_one("ResearchSection").title)
        assert title.endswith("randomization, transfer, curriculum")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not app.draft.dirty

    drtui_method(twin, "randomization", "strength=0.3", "latency_steps=2")
    drtui_method(twin, "transfer", f"from_run={run.id}", "checkpoint=last")
    drtui_method(twin, "curriculum", "stage=reinvent_base:1.5", "stage=reInvent2019_wide",
                 "promote_iterations=3")
    wizard, cli = store.load(path), store.load(twin)
    assert wizard.research == cli.research
    assert wizard.research.curriculum.stages[0].max_speed == 1.5
    assert wizard.research.transfer.from_run == run.id
    assert (wizard.workers, wizard.training) == (cli.workers, cli.training)


async def test_multitask_workers_match_drtui_method(workspace):
    path = starter_session(workspace, "multitask-wizard")
    twin = workspace / "multitask-cli.toml"
    shutil.copy(path, twin)
    app = make_app(workspace, path, step=NETWORK)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_research(app, pilot)
        await choose(app, pilot, "#worker-world", "reinvent_base")
        await focus(app, pilot, "WorkerTable")
        await pilot.press("a", "a", "a")
        await settle(app, pilot)
        assert app.screen.query_one("#f-training-workers-editor").value == "4"
        await pilot.press("d")  # worker 4 goes; 2 and 3 remain
        await settle(app, pilot)
        await choose(app, pilot, "#worker-world", "2022_summit_speedway")
        await choose(app, pilot, "#worker-race", "HEAD_TO_BOT")
        assert app.screen.query_one("#f-training-workers-editor").value == "3"
        # a curriculum trains one world at a time: the core's rule, beside the curriculum
        await focus(app, pilot, "#curriculum-on")
        await pilot.press("space")
        await focus(app, pilot, "StageTable")
        await pilot.press("a")
        await settle(app, pilot)
        assert "one world at a time" in problem_text(app, "research.curriculum")
        await focus(app, pilot, "#curriculum-on")
        await pilot.press("space")
        await settle(app, pilot)
        assert app.draft.problems() == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not app.draft.dirty

    drtui_method(twin, "multitask", "track=reinvent_base",
                 "track=2022_summit_speedway:HEAD_TO_BOT")
    wizard, cli = store.load(path), store.load(twin)
    assert wizard.training.workers == cli.training.workers == 3
    assert wizard.workers == cli.workers
    assert wizard.research == cli.research


async def test_research_on_drfc_is_refused(workspace):
    path = starter_session(workspace, "drfc-research")
    data = store.read_data(path)
    data["backend"] = {"provider": "local", "runner": "drfc"}
    store.save(problems_in(data)[0], path)
    before = path.read_bytes()
    app = make_app(workspace, path, step=NETWORK)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_research(app, pilot)
        await focus(app, pilot, "#f-research-randomization-enabled-editor")
        await pilot.press("space")
        await settle(app, pilot)
        message = problem_text(app, "research")
        assert message == ("randomization only run on drtui's embedded trainer; "
                           "backend.runner is 'drfc'")
        shown = [w for w in app.screen.query("FieldProblem") if w.has_class("-shown")]
        assert [w.path for w in shown] == ["research"]
        assert "✗ 1 problem" in str(app.screen.query_one("#step-status").render())
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.draft.dirty and path.read_bytes() == before
        # turned off again, the session saves, with no research table
        await pilot.press("space")
        await settle(app, pilot)
        assert problem_text(app, "research") == ""
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not app.draft.dirty
    assert store.load(path).research.active() == []
    assert "[research" not in path.read_text()


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24")])
def test_section_open_snapshot(snap_compare, workspace, size):
    app = make_app(workspace, starter_session(workspace, "snap-model"), step=NETWORK)

    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("ctrl+r")
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
