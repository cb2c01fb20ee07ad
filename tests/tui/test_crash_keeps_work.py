"""No crash loses work: the draft is autosaved beside the session (atomic, offered back on
the next open), and an unexpected error in a handler is shown while the app goes on."""

from __future__ import annotations

import json

from tui_helpers import keys, make_app, open_at_step, settle, starter_session

from drtui.screens.draft import autosave_path


async def test_unsaved_work_is_kept_and_offered_back(workspace):
    path = starter_session(workspace, "kept")
    before = path.read_bytes()
    app = make_app(workspace, path, step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press("tab", "ctrl+u", *keys("0.5"))  # beta_entropy: valid, unsaved
        await pilot.pause(1.2)  # the autosave follows a pause in the edits
        await settle(app, pilot)
        kept = json.loads(autosave_path(path).read_text())
        assert kept["data"]["hyperparameters"]["beta_entropy"] == 0.5
    # the app ended without saving (as a crash or a closed terminal would)
    assert path.read_bytes() == before

    app = make_app(workspace, path, step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RestoreDraft"
        await pilot.press("enter")  # Restore them (focused)
        await settle(app, pilot)
        assert app.draft.get("hyperparameters.beta_entropy") == 0.5 and app.draft.dirty
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert not autosave_path(path).exists()  # saved: nothing left to offer
    assert "beta_entropy = 0.5" in path.read_text()


async def test_a_kept_draft_can_be_discarded(workspace):
    path = starter_session(workspace, "discard")
    autosave_path(path).write_text(json.dumps({"data": {"model": {"name": "other"}}}))
    app = make_app(workspace, path, step=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RestoreDraft"
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.draft.model_name == "discard"
    assert not autosave_path(path).exists()


async def test_an_error_in_a_step_handler_leaves_the_app_and_the_draft(workspace, monkeypatch):
    from drtui.app import DrtuiApp
    from drtui.screens.hyperparameters import HyperparametersStep

    monkeypatch.setattr(DrtuiApp, "FATAL_ERRORS", False)

    def broken(self, path):
        raise RuntimeError("injected")

    monkeypatch.setattr(HyperparametersStep, "draft_changed", broken)
    path = starter_session(workspace, "crash")
    app = make_app(workspace, path, step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press("tab", "ctrl+u", *keys("0.3"))
        await settle(app, pilot)
        assert app.is_running
        titles = [n.title for n in app._notifications]
        assert "✗ Unexpected error" in titles
        assert app.draft.get("hyperparameters.beta_entropy") == 0.3
        kept = json.loads(autosave_path(path).read_text())  # written at the error itself
        assert kept["data"]["hyperparameters"]["beta_entropy"] == 0.3
