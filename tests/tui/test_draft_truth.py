"""The studio tells the truth about the draft: any order of reward-source switches keeps the
app running and the draft consistent, a value changed and changed back is not an unsaved
change, and the step bar, step header and review agree with the one session check."""

from __future__ import annotations

import itertools

import pytest
from tui_helpers import keys, make_app, open_at_step, problem_text, settle, starter_session

REWARD = 5
SOURCES = ("template", "code", "file")


async def _choose(app, pilot, source: str) -> None:
    from textual.widgets import RadioSet

    radios = app.screen.query_one("#reward-source", RadioSet)
    radios.focus()
    target = SOURCES.index(source)
    while radios._selected != target:  # the keyboard walk a user makes
        await pilot.press("right")
    await pilot.press("enter")
    await settle(app, pilot)


# from the starter's template, each walk makes every one of the six switches between two
# sources (the crash was template after code or file), the last in three different orders
WALKS = [("code", "file", "template", "file", "code", "template"),
         ("file", "template", "code", "file", "code", "template"),
         ("code", "template", "file", "code", "file", "template")]


def test_the_walks_make_every_switch():
    for walk in WALKS:
        steps = set(itertools.pairwise(("template", *walk)))
        assert steps == set(itertools.permutations(SOURCES, 2))


@pytest.mark.parametrize("order", WALKS, ids="-".join)
async def test_every_reward_source_switch_order_keeps_the_app(workspace, order):
    app = make_app(workspace, starter_session(workspace, "switch"), step=REWARD)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, REWARD)
        for source in order:
            await _choose(app, pilot, source)
            assert app.is_running
            reward = app.draft.get("reward")
            assert [k for k in SOURCES if k in reward] == [source], (order, reward)
            assert app.screen.query_one(f"#reward-{source}-box").has_class("-shown")
        if order[-1] == "template":  # the parameter fields are there once, not twice
            ids = [w.id for w in app.screen.query("#reward-params FormField")]
            assert ids and len(ids) == len(set(ids))


async def test_change_and_change_back_is_not_unsaved(workspace):
    app = make_app(workspace, starter_session(workspace, "back"), step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press("tab")  # beta_entropy, 0.01 in the starter
        field = app.focused
        original = field.value
        await pilot.press("ctrl+u", *keys("0.02"))
        await settle(app, pilot)
        assert app.draft.dirty
        await pilot.press("ctrl+u", *keys(original))
        await settle(app, pilot)
        assert not app.draft.dirty
        app.goto_step(7)
        await settle(app, pilot)
        summary = str(app.screen.query_one("#review-summary").render())
        assert "Saved." in summary and "Unsaved" not in summary


async def test_bar_header_and_review_agree_on_a_failing_reward(workspace):
    app = make_app(workspace, starter_session(workspace, "agree"), step=REWARD)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, REWARD)
        await _choose(app, pilot, "code")
        app.screen.query_one("#reward-editor").load_text(
            "def reward_function(params):\n    return None\n")
        await pilot.pause(0.4)
        await settle(app, pilot)
        assert problem_text(app, "reward.code").startswith("reward_function returned NoneType")
        assert str(app.screen.query_one("#step-status").render()) == "✗ 1 problem"
        assert app.screen.query_one("#step-bar").states[REWARD] is True
        app.goto_step(7)
        await settle(app, pilot)
        summary = str(app.screen.query_one("#review-summary").render())
        assert summary.startswith("✗ 1 problem: nothing is saved or written")
        assert "6 Reward: reward.code: reward_function returned NoneType" in summary
        assert app.screen.query_one("#step-bar").states[REWARD] is True
