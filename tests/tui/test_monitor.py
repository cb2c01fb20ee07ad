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
import math
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
CAMERA = Path(__file__).parent / "data" / "camera-frame.log"  # one CAMERA_FRAME line
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
    run.log_path.write_text(current_format(gzip.decompress(RECORDED.read_bytes()).decode()),
                            encoding="utf-8")
    run.update(status="finished", started=created + 2.0, ended=created + 2.0 + 754.0,
               pid=None, host="local", iteration=24)
    return run


def current_format(log: str) -> str:
    """The recorded log as today's trainer writes it: it was recorded before the trainer added
    Time= (an episode's simulated seconds: its steps after the first at 15 Hz, which is what
    an evaluation line's Steps= counts) and CAMERA_FRAME lines; the frame is one the trainer
    wrote for car 0 (tests/tui/data/camera-frame.log, 48x36), put before the last line."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"Testing> .*, Steps=(\d+), .*Status=\w+$", line)
        if m:
            lines[i] = f"{line}, Time={(int(m.group(1)) - 1) / 15:.2f}"
    lines.insert(len(lines) - 1, CAMERA.read_text(encoding="utf-8").strip())
    return "\n".join(lines) + "\n"


def _show_recorded(run_id_prefix: str = "recorded"):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        run = store.find(app.workspace, run_id_prefix)
        app.show_monitor(run)
        await wait_until(pilot, lambda: (p := monitor_panel(app)) and p.loaded and
                         not p.following and p.log_view.pending == 0 and p.log_view.line_count
                         and p._drawn == (p.model.charts_version, p.model.track_version,
                                          p.model.status_version)
                         and p._camera_drawn == p.model.camera_version, 120, "the recorded run")
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
    assert ("▶ running  iteration 1  episodes 10  elapsed 0:01:00  "
            "ETA 0:09:00 to 100 episodes (term_cond_max_episodes)") in text
    assert "progress 42.0%  lap —  best lap —  completion 25.0%  best eval —" in text
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
        assert a.log_view.kept == b.log_view.kept > 0  # (the hidden tab's rows wrap later)
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


def test_the_eta_says_what_it_counts_to_and_every_line_fits_its_width():
    from drtui.events import EpisodeEnd
    from drtui.widgets.run_model import RunModel
    from drtui.widgets.run_panel import status_text

    model = RunModel("r3")
    model.progress.started, model.progress.time_limit_s = T0, 3600.0
    model.progress.max_episodes = 200
    model.fold_all([EpisodeEnd(k, "training", 1.0, progress=10.0) for k in range(20)])
    # 20 episodes in 2 minutes: 180 to go at 10 a minute is 18 min, before the hour is up
    for width, goal in ((118, "ETA 0:18:00 to 200 episodes (term_cond_max_episodes)"),
                        (78, "ETA 0:18:00 to 200 ep")):
        lines = status_text(model, T0 + 120, width).plain.split("\n")
        assert goal in lines[0] and all(len(line) <= width for line in lines), lines
    model.progress.time_limit_s = 300.0  # now the time limit ends the run first
    assert "ETA 0:03:00 to the 5 min time limit" in str(status_text(model, T0 + 120, 118))
    assert "ETA 0:03:00 to 5 min" in str(status_text(model, T0 + 120, 78))


def test_lap_times_the_last_episodes_reward_per_step_and_why_best_eval_is_ahead():
    from drtui.events import EpisodeEnd, EvaluationEnd, IterationEnd, LogLine, Step
    from drtui.plots.lines import sparkline
    from drtui.widgets.run_model import RunModel
    from drtui.widgets.run_panel import status_text

    def step(k: int, reward: float, done: bool = False) -> Step:
        return Step(3, k, 0.0, 0.0, 0.0, 0.0, 1.0, 2, reward, done, True, k, k, 17.7, k / 15)

    model = RunModel("r4")
    rewards = [0.5, 1.0, 1.0, 0.1, 0.1, 2.0]
    model.fold_all([step(k + 1, r, done=k == len(rewards) - 1) for k, r in enumerate(rewards)]
                   + [step(1, 9.0)])  # the next episode has begun: the last whole one shows
    model.fold_all([
        EpisodeEnd(1, "training", 50.0, progress=100.0, status="lap_complete", time_s=12.5),
        EpisodeEnd(2, "evaluation", 60.0, progress=100.0, status="lap_complete", time_s=11.25),
        EpisodeEnd(3, "training", 5.0, progress=20.0, status="off_track", time_s=2.0),
        EpisodeEnd(4, "training", 55.0, progress=100.0, status="lap_complete", time_s=12.0),
        IterationEnd(1, 3, 3.0, 0.5, 20.0, 1.0, 0.0, None), EvaluationEnd(mean_progress=100.0)])
    text = status_text(model, T0, 118).plain
    assert "progress 20.0%  lap 12.00s  best lap 11.25s  completion 0.0%  best eval 100.0%" \
        in text
    assert f"last episode reward/step {sparkline(rewards, 20)} mean 0.783" in text
    assert "best eval: the policy's greedy laps, no exploration" in text
    assert "(6 steps)" in text
    model.fold(LogLine("## drtui: camera warm start: a PPO teacher on privileged state, ..."))
    assert "best eval: greedy laps of a warm-started policy" in str(status_text(model, T0, 118))
    narrow = status_text(model, T0, 78).plain.split("\n")
    assert all(len(line) <= 78 for line in narrow) and len(narrow) == 3
    assert "eval: warm start, greedy" in narrow[2]


def test_camera_frames_in_half_blocks_keep_their_shape_and_their_greys():
    import base64

    from drtui.events import CameraFrame
    from drtui.logs.camera import frame_line, parse_frame
    from drtui.widgets.run_camera import UPPER_HALF, half_blocks

    # 8x6: the top half white, the bottom half black, a grey column at x=0
    pixels = bytes((128 if x == 0 else 255 if y < 3 else 0) for y in range(6) for x in range(8))
    frame = parse_frame(frame_line(0, 4, 17, 8, 6, pixels))
    assert frame == CameraFrame(0, 4, 17, 8, 6, base64.b64encode(pixels).decode())
    assert parse_frame(frame_line(0, 4, 17, 8, 6, pixels)[:-4]) is None  # torn: no frame
    text = half_blocks(frame, 20, 3)  # room for 16x6 pixels at most: 8x6 doubled is 16x12
    rows = text.plain.split("\n")
    assert len(rows) == 3 and all(row.strip() == UPPER_HALF * 8 for row in rows)
    assert rows[0].index(UPPER_HALF) == 6  # centred: (20 - 8) / 2
    styles = [(span.style.color.triplet, span.style.bgcolor.triplet) for span in text.spans]
    grey, white, black = (128,) * 3, (255,) * 3, (0,) * 3
    assert styles[0] == (grey, grey) and styles[1] == (white, white)
    assert (white, black) in styles  # the middle row: white above, black below
    assert styles[-1] == (black, black)


def test_chart_series_differ_by_symbol_and_the_legend_fits_80_columns():
    from drtui.plots.lines import line_chart_canvas
    from drtui.widgets.run_charts import SHORT

    progress = {"progress %": [10.0, 20.0, 15.0, 30.0], "completion %": [0.0, 0.0, 25.0, 50.0],
                "eval %": [math.nan, 40.0, math.nan, 100.0]}
    for width in (26, 40):
        canvas = line_chart_canvas(progress, width, 8, x=[1, 2, 3, 4], short=SHORT)
        rows = canvas.rows()
        legend = rows[0].strip()
        assert legend in ("⠒ progress % + completion % ◆ eval %",
                          "⠒ progress + laps ◆ eval"), legend
        body = "".join(rows[1:])
        assert body.count("+") == 4 and body.count("◆") == 2  # a symbol on every point
    assert line_chart_canvas({"mean reward": [1.0, 2.0]}, 26, 8).rows()[0].strip() == \
        "■ mean reward"


class WrapApp(App):
    def compose(self):
        from drtui.widgets.log_view import LogView

        yield LogView()


async def test_long_log_lines_wrap_whole_at_80_columns_and_again_on_a_resize():
    from drtui.widgets.log_view import WRAP_INDENT, LogView

    line = ("## agent: Training ended (iteration limit reached) after 24 iterations; last "
            "checkpoint 24_Step-5352.ckpt; best 14_Step-3012.ckpt at 100.0% progress")
    app = WrapApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        view.push_lines(["short line", line])
        await wait_until(pilot, lambda: view.pending == 0 and view.line_count, 10, "a flush")
        rows = list(view.lines)
        assert rows[0] == "short line" and len(rows) == 3
        assert all(len(row) <= 80 for row in rows) and rows[2].startswith(WRAP_INDENT)
        assert " ".join(r.strip() for r in rows[1:]) == line  # every word, in order
        await pilot.resize_terminal(120, 24)
        await wait_until(pilot, lambda: view.line_count == 3 and len(view.lines[1]) > 80, 10,
                         "the lines wrapped again")
        assert view.lines[1].startswith("## agent: Training ended")


def test_history_keeps_the_newest_camera_frame_laps_and_the_warm_start(workspace):
    import json as json_

    from drtui.events import CameraFrame, EpisodeEnd, LogLine
    from drtui.logs.camera import parse_frame
    from drtui.widgets.run_model import RunModel, load_history

    run = recorded_run(workspace)
    frame = parse_frame(CAMERA.read_text(encoding="utf-8"))
    older = CameraFrame(0, 1, 1, 2, 1, "AAA=")
    events = [LogLine("## drtui: camera warm start: a PPO teacher on privileged state"),
              older, EpisodeEnd(1, "evaluation", 9.0, 400, 100.0, "lap_complete", 26.6), frame]
    run.events_path.write_text("".join(json_.dumps(e.to_json()) + "\n" for e in events),
                               encoding="utf-8")
    model = RunModel(run.id)
    lines = load_history(run, model)
    assert model.camera == frame and model.camera_version == 1  # only the newest decoded
    assert model.best_lap_s == model.last_lap_s == 26.6 and model.warm_start == "teacher"
    assert lines == [events[0].text]
