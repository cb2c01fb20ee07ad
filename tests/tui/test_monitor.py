"""The monitor and the runs screen: f5 on the review trains a tiny session with the real
trainer process and the monitor shows it live; ctrl+x stops it; a fresh app reattaches from
the runs screen (f6) and shows the same iterations. The log view's cap and batching. Snapshots
of the monitor (80x24, 120x40) and the runs screen from a recorded trainer log, with a fixed
clock.

Tiny trainer settings (DRTUI_* env vars, as tests/train/test_trainer_process.py): the short
reinvent_base track, 4 cars, a 48x36 camera with lidar, 4 episodes an iteration."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from textual.app import App
from tui_helpers import make_app, open_at_step, settle

from drtui.runstore import store

FAST = {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36", "DRTUI_TEACHER": "off",
        "DRTUI_THREADS": "1"}
RECORDED = Path(__file__).parent / "data" / "recorded-run.log.gz"  # a drtui trainer log, 24 it.
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: the recorded run's creation
CLOCK = T0 + 900.0


def tiny_session(workspace: Path, name: str = "mon-test", minutes: int = 10):
    from drtui.session.starter import starter

    s = starter(name)
    s.track.world = "reinvent_base"
    s.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    s.training.seed = 5
    s.training.min_eval_trials = 2
    s.training.time_limit_minutes = minutes  # the trainer ends itself if a test dies
    s.evaluation.max_resets = 2
    h = s.hyperparameters
    h.num_episodes_between_training, h.num_epochs = 4, 2
    return s


def save_session(workspace: Path, session) -> Path:
    from drtui.session.store import save

    path = workspace / f"{session.model.name}.toml"
    save(session, path)
    return path


async def wait_until(pilot, condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def kill_trainer(workspace: Path) -> None:
    """Never leave a trainer behind, whatever the test did."""
    for run in store.list_runs(workspace):
        pid = run.state.get("pid")
        if pid and run.status in store.ACTIVE:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def monitor_panel(app):
    from drtui.screens.monitor import MonitorScreen

    screen = app.screen
    return screen.panel() if isinstance(screen, MonitorScreen) else None


def iterations_in(run) -> list[int]:
    lines = run.events_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(ln)["iteration"] for ln in lines
            if ln.startswith('{"event": "IterationEnd"')]


async def test_train_watch_stop_then_reattach_from_the_runs_screen(workspace, monkeypatch):
    from drtui.screens.monitor import ConfirmDialog
    from drtui.screens.runs import RunsScreen
    from drtui.widgets.run_charts import Chart
    from drtui.widgets.run_panel import RunStatus
    from drtui.widgets.run_track import RunTrack

    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    path = save_session(workspace, tiny_session(workspace))
    app = make_app(workspace, path, step=7)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_at_step(app, pilot, 7)
            await pilot.press("f5")
            panel = await wait_until(
                pilot, lambda: (p := monitor_panel(app)) and len(p.model.iterations) >= 2 and
                p.query_one("#chart-reward", Chart).points >= 2 and p, 240,
                "two iterations in the monitor's charts")
            run = panel.run
            assert run.path.parent == workspace / "runs"
            model = panel.model
            assert model.iterations[:2] == [1, 2]
            for key in ("reward", "progress", "loss", "entropy"):
                chart = panel.query_one(f"#chart-{key}", Chart)
                assert chart.points >= 2 and chart.x[:2] == [1, 2]
                assert all(len(values) == len(chart.x) for values in chart.series.values())
            status = await wait_until(
                pilot, lambda: (t := str(panel.query_one(RunStatus).render())) and
                re.search(r"ETA \d+:\d\d:\d\d", t) and t, 30, "an ETA in the status line")
            assert re.search(r"▶ running  iteration [1-9]\d*  episodes [1-9]", status)
            assert "best eval" in status
            log = panel.log_view
            await wait_until(pilot, lambda: log.line_count > 0, 10, "log lines")
            assert any(line.startswith("Training> Name=main_level/agent") for line in log.lines)
            assert any(line.startswith("Policy training>") for line in log.lines)
            assert panel.query_one(RunTrack).points > 10

            await pilot.press("ctrl+x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), 10,
                             "the stop confirmation")
            await pilot.press("y")
            await wait_until(pilot, lambda: not panel.following and
                             panel.model.progress.status == "stopped", 120, "the run to stop")
            seen = list(panel.model.iterations)
            state = store.load(run.path).state
            assert state["status"] == "stopped"
            assert (run.path / "checkpoints" / "last.pt").is_file()
            assert iterations_in(run) == seen == list(range(1, len(seen) + 1))
            assert state["log_offset"] == run.log_path.stat().st_size

        app = make_app(workspace)  # a fresh drtui: reattach from the runs screen
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("f6")
            await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and
                             app.screen.selected_run() is not None, 30, "the runs list")
            assert app.screen.selected_run().id == run.id
            await pilot.press("enter")
            panel = await wait_until(pilot, lambda: (p := monitor_panel(app)) and p.loaded and
                                     not p.following and p, 60, "the replayed run")
            assert panel.model.iterations == seen
            assert panel.model.progress.status == "stopped"
            await wait_until(pilot, lambda: panel.log_view.line_count > 0 and
                             panel.query_one(RunTrack).points > 0, 10, "log and paths")
            assert iterations_in(run) == seen  # nothing recorded twice
    finally:
        kill_trainer(workspace)


async def test_unsaved_or_invalid_drafts_do_not_train(workspace):
    from drtui.session.starter import starter

    path = save_session(workspace, starter("unsaved"))
    app = make_app(workspace, path, step=7)
    notes: list[tuple[str, str]] = []
    app.notify = lambda message, **kw: notes.append((kw.get("title", ""), str(message)))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 7)
        app.draft.set("model.description", "changed, not saved")
        await pilot.press("f5")
        await settle(app, pilot)
        assert notes[-1][0] == "! Unsaved changes: not started"
        app.draft.set("hyperparameters.lr", -1.0)
        await pilot.press("f5")
        await settle(app, pilot)
        title, message = notes[-1]
        assert title.startswith("✗ Not started") and "hyperparameters.lr" in message
    assert not (workspace / "runs").exists()


class LogApp(App):
    def compose(self):
        from drtui.widgets.log_view import LogView

        yield LogView()


async def test_log_view_caps_at_5000_lines_and_writes_in_batches():
    from drtui.widgets.log_view import KindHighlighter, LogView, mark

    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        writes = []
        real_write = view.write_lines
        view.write_lines = lambda lines, *a, **k: (writes.append(len(lines)),
                                                   real_write(lines, *a, **k))[1]
        for start in range(0, 20_000, 200):  # 20,000 lines arriving faster than the flush
            view.push_lines(f"Training> line {k}" for k in range(start, start + 200))
        assert view.line_count == 0 and view.pending <= 10_000  # queued, not yet written
        await wait_until(pilot, lambda: view.pending == 0 and view.line_count, 30, "a flush")
        assert writes == [5000]  # one write, of the newest 5,000 lines only
        assert view.line_count == 5000 and view.received == 20_000
        assert view.lines[0] == "Training> line 15000" and view.lines[-1] == "Training> line 19999"

        for round_ in range(5):  # then a steady stream: still capped, still batched
            view.push_lines(f"Policy training> {round_}.{k}" for k in range(700))
            await pilot.pause(0.02)
        await wait_until(pilot, lambda: view.pending == 0, 30, "the last flush")
        assert len(writes) <= 6 and sum(writes) == 5000 + 3500
        assert view.line_count == 5000 and view.lines[-1] == "Policy training> 4.699"
        assert view.is_vertical_scroll_end  # it follows the newest line

    text = KindHighlighter()(__import__("rich.text", fromlist=["Text"]).Text(
        mark("ERROR: reward_function raised", "error")))
    assert text.plain.startswith("✗ ERROR") and str(text.spans[0].style) == "bold red"


# --- snapshots from a recorded run ---------------------------------------------------------

def recorded_run(workspace: Path, name: str = "recorded", created: float = T0):
    """A finished run whose log is the recorded trainer log; no trainer process."""
    from drtui.files import render

    session = tiny_session(workspace, name)
    session.hyperparameters.term_cond_max_episodes = 24
    run = store.create(workspace, session, render.render(session), provider="local",
                       runner="embedded", now=created)
    run.log_path.write_bytes(gzip.decompress(RECORDED.read_bytes()))
    run.update(status="finished", started=created + 2.0, ended=created + 2.0 + 754.0,
               pid=None, host="local", iteration=24)
    return run


def _show_recorded(run_id_prefix: str = "recorded"):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        run = store.find(app.workspace, run_id_prefix)
        app.show_monitor(run)
        await wait_until(pilot, lambda: (p := monitor_panel(app)) and p.loaded and
                         not p.following and p.log_view.pending == 0 and p.log_view.line_count
                         and p._drawn == (p.model.charts_version, p.model.track_version,
                                          p.model.status_version), 120, "the recorded run")
        await pilot.pause(0.3)
    return run_before


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"),
                                  pytest.param((120, 40), id="120x40")])
def test_monitor_snapshot(snap_compare, workspace, size):
    recorded_run(workspace)
    app = make_app(workspace)
    app.monitor_clock = lambda: CLOCK
    assert snap_compare(app, terminal_size=size, run_before=_show_recorded())


def test_runs_screen_snapshot(snap_compare, workspace, utc):
    recorded_run(workspace)
    from drtui.files import render

    session = tiny_session(workspace, "second")
    store.create(workspace, session, render.render(session), provider="local",
                 runner="embedded", now=T0 + 3600)

    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("f6")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "RunsScreen" and
                         pilot.app.screen.selected_run() is not None, 30, "the runs list")
        await pilot.pause(0.2)

    assert snap_compare(make_app(workspace), terminal_size=(80, 24), run_before=run_before)


def test_status_line_shows_remote_backend_cost_eta_and_failure():
    from drtui.events import Cost, EpisodeEnd, IterationEnd, Status
    from drtui.widgets.run_model import RunModel
    from drtui.widgets.run_panel import status_text

    model = RunModel("r1", provider="aws-ec2", runner="embedded", host="i-0abc")
    model.progress.started, model.progress.time_limit_s = T0, 3600.0
    model.progress.max_episodes = 100
    model.fold_all([EpisodeEnd(1, "training", 1.0, progress=50.0)] * 10 + [
        IterationEnd(1, 10, 3.0, 0.5, 42.0, 1.0, 0.25, None, -0.01, 2.2),
        Cost(1.234, 0.9)])
    text = str(status_text(model, T0 + 60))
    assert "▶ running  iteration 1  episodes 10  elapsed 0:01:00  ETA 0:09:00" in text
    assert "progress 42.0%  completion 25.0%  best eval —" in text
    assert "backend aws-ec2/embedded on i-0abc  cost $1.23 ($0.90/h)" in text
    assert model.iterations == [1] and model.completion == [25.0]

    model.error = "instance i-0abc terminated"
    model.fold(Status("failed", "log ended"))
    text = str(status_text(model, T0 + 600))
    assert text.startswith("✗ failed") and "ETA —" in text
    assert "✗ instance i-0abc terminated" in text


def test_status_line_shows_the_curriculum_stage_and_each_tasks_progress():
    from drtui.events import StageChange, TaskIteration
    from drtui.widgets.run_model import RunModel
    from drtui.widgets.run_panel import status_text

    model = RunModel("r2")
    before = model.status_version
    model.fold_all([StageChange(2, 3, "wide", "world reInvent2019_wide"),
                    TaskIteration(1, 1, 2, "1:reinvent_base", 4, 55.0, 0.25, 3.0),
                    TaskIteration(1, 2, 2, "2:reInvent2019_wide", 4, 12.5, 0.0, 1.0)])
    assert model.status_version > before  # the status line is redrawn
    text = str(status_text(model, T0))
    assert "stage 2/3 wide" in text
    assert "tasks 1:reinvent_base=55.0% 2:reInvent2019_wide=12.5%" in text


async def test_one_tab_per_run_and_several_runs_at_once(workspace):
    from textual.widgets import TabbedContent

    first = recorded_run(workspace, "first", created=T0)
    second = recorded_run(workspace, "second", created=T0 + 60)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.show_monitor(first)
        await wait_until(pilot, lambda: monitor_panel(app), 30, "the first tab")
        app.show_monitor(second)
        app.show_monitor(first)  # already watched: its tab again, not a second one
        monitor = app.screen
        await wait_until(pilot, lambda: (a := monitor.panel(first.id)) and
                         (b := monitor.panel(second.id)) and a.loaded and b.loaded and
                         not a.following and not b.following and  # and their logs flushed
                         a.log_view.pending == b.log_view.pending == 0, 120,
                         "both runs replayed")
        tabs = monitor.query_one(TabbedContent)
        assert tabs.tab_count == 2 and monitor.panel().run.id == first.id
        a, b = monitor.panel(first.id), monitor.panel(second.id)
        assert a is not b and a.model.iterations == b.model.iterations == list(range(1, 25))
        assert a.log_view.line_count == b.log_view.line_count > 0
        await pilot.press("escape")  # leaving the monitor keeps it (and its tabs)
        await pilot.pause()
        assert app.get_screen("monitor") is monitor and monitor.panel(second.id) is b


async def test_ctrl_a_on_the_runs_screen_analyses_the_highlighted_run(workspace):
    from drtui.screens.analysis import AnalysisScreen

    run = recorded_run(workspace)
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RunsScreen" and
                         app.screen.selected_run() is not None, 30, "the runs list")
        await pilot.press("ctrl+a")
        await wait_until(pilot, lambda: isinstance(app.screen, AnalysisScreen) and
                         app.screen.report is not None, 120, "the run's analysis")
        assert app.screen.path == run.path
        assert app.screen.sub_title == "analysis: drtui-run"
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", 10,
                         "back on the runs screen")
