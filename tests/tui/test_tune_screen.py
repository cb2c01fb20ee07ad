"""The tune screen: a real 2-trial study in a worker (tiny trainings), its trials in the
table as they finish, the best shown, ctrl+s saving the best session as a new file."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

pytest.importorskip("optuna")
pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent.parent / "tune"))

from tui_helpers import make_app, settle  # noqa: E402
from tune_helpers import FAST, write_tiny  # noqa: E402


async def wait_until(pilot, condition, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)
        await pilot.pause()


async def test_tune_screen_runs_a_study_and_saves_the_best(workspace, monkeypatch):
    import optuna

    from drtui.screens.tune import TuneScreen, open_tune
    from drtui.session import store

    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    session_path, _ = write_tiny(workspace)
    app = make_app(workspace, session_path)
    async with app.run_test(size=(110, 36)) as pilot:
        await wait_until(pilot, lambda: app.draft is not None)
        await settle(app, pilot)
        open_tune(app)
        await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen))
        await settle(app, pilot)
        screen = app.screen
        assert screen.sub_title == "Tune hyperparameters"
        await pilot.press("f1")  # this screen's own help, not the wizard's
        await settle(app, pilot)
        assert "f8 stops the running trial" in str(app.screen.query_one(".help-text").render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is screen
        for field, text in (("#tune-trials-count", "2"), ("#tune-iterations", "1"),
                            ("#tune-space", "space.toml")):
            box = screen.query_one(field, Input)
            box.focus()
            box.value = ""
            await pilot.press(*text)
        await pilot.press("ctrl+r")
        assert screen.running  # set as the worker starts: the form was accepted
        await wait_until(pilot, lambda: not screen.running)
        status = str(screen.query_one("#tune-status", Static).render())
        assert status == "Finished.", status
        table = screen.query_one("#tune-trials", DataTable)
        assert table.row_count == 2
        assert [table.get_row_at(i)[:2] for i in range(2)] == [["0", "COMPLETE"],
                                                               ["1", "COMPLETE"]]
        study = optuna.load_study(study_name="tiny",
                                  storage=f"sqlite:///{workspace / 'tune' / 'tiny.db'}")
        best = study.best_trial
        assert table.get_row_at(best.number)[2] == f"{best.value:.2f}"
        shown = str(screen.query_one("#tune-best", Static).render())
        assert shown.startswith(f"Best: trial {best.number}, score {best.value:.2f}")

        save = screen.query_one("#tune-save-path", Input)
        assert save.value == "tiny-best.toml"
        save.focus()
        save.value = ""
        await pilot.press(*"tuned.toml", "ctrl+s")
        await wait_until(pilot, lambda: (workspace / "tuned.toml").exists())
        saved = store.load(workspace / "tuned.toml")
        from drtui.tune.study import rounded_value

        # what `drtui tune --save-best` writes: rounded as a person would write it
        assert saved.effective_hyperparameters()["lr"] == rounded_value(
            best.params["hyperparameters.lr"], best.distributions["hyperparameters.lr"])
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TuneScreen))


async def test_f8_stops_the_running_trials_trainer(workspace, monkeypatch):
    import json
    import os

    from drtui.screens.tune import TuneScreen, open_tune

    sys.path.insert(0, str(Path(__file__).parent.parent / "tune"))
    from tune_helpers import alive

    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    session_path, _ = write_tiny(workspace)
    app = make_app(workspace, session_path)
    pid = None
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.draft is not None)
            await settle(app, pilot)
            open_tune(app)
            await wait_until(pilot, lambda: isinstance(app.screen, TuneScreen))
            await settle(app, pilot)
            screen = app.screen
            screen.query_one("#tune-iterations", Input).value = "500"
            screen.query_one("#tune-space", Input).value = "space.toml"
            await pilot.press("ctrl+r")

            def training() -> bool:  # the trainer logged a training episode
                nonlocal pid
                for state in (workspace / "tune" / "tiny" / "runs").glob("*/state.json"):
                    pid = json.loads(state.read_text()).get("pid")
                    log = state.parent / "logs" / "trainer.log"
                    return bool(pid) and log.is_file() and "Training>" in log.read_text()
                return False

            await wait_until(pilot, training)
            await pilot.press("f8")
            await wait_until(pilot, lambda: not screen.running)
            status = str(screen.query_one("#tune-status", Static).render())
            assert status == "Stopped: the running trial was marked failed."
            assert not alive(pid)
            table = screen.query_one("#tune-trials", DataTable)
            assert table.row_count == 1 and table.get_row_at(0)[:3] == ["0", "FAIL", "-"]
    finally:
        if pid and alive(pid):
            os.kill(pid, 9)
