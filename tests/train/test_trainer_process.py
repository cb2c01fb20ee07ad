"""The trainer process, `python -m drtui.train RUN_DIR`: its DeepRacer log, checkpoints,
metrics and state; a SIGKILL and --resume with no gap or duplicate iteration; SIGINT; a
broken reward function; evaluation and ONNX export of what it trained.

Tiny settings: the short reinvent_base track, 4 cars, a 48x36 internal camera, 4 episodes
per iteration, no teacher warm start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tiny_session import tiny_session  # noqa: E402
from train_helpers import FAST, train_in_process  # noqa: E402

from drtui.events import (  # noqa: E402
    CameraFrame,
    Checkpoint,
    EvaluationEnd,
    IterationEnd,
    LogLine,
    PolicyUpdate,
)
from drtui.files import render  # noqa: E402
from drtui.logs.camera import frame_pixels  # noqa: E402
from drtui.logs.parser import parse_lines  # noqa: E402
from drtui.runstore import store  # noqa: E402
from drtui.session.starter import starter  # noqa: E402


def make_run(workspace: Path, *, iterations: int = 1000, reward_code: str | None = None,
             name: str = "proc-test", episodes: int = 4) -> store.Run:
    s = tiny_session(name, iterations, episodes)
    files = render.render(s)
    if reward_code is not None:
        files["custom_files/reward_function.py"] = reward_code
    return store.create(workspace, s, files, provider="local", runner="embedded")


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_trainer_left_running():
    """A test that fails half-way leaves no detached trainer behind (its own session)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended in between
                pass
            proc.wait(30)


def start(run: store.Run, *args: str) -> subprocess.Popen:
    """As the embedded runner starts it: detached, stdout and stderr appended to the log."""
    env = {**os.environ, **FAST}
    with open(run.log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "drtui.train", str(run.path), *args],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    _STARTED.append(proc)
    return proc


def wait_for(proc: subprocess.Popen, run: store.Run, done, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(store.load(run.path).state):
            return
        if proc.poll() is not None:
            tail = run.log_path.read_text()[-3000:]
            raise AssertionError(f"trainer exited {proc.returncode}:\n{tail}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"timed out:\n{run.log_path.read_text()[-3000:]}")


def log_lines(run: store.Run) -> list[str]:
    return run.log_path.read_text(encoding="utf-8").splitlines()


def test_killed_trainer_resumes_without_gap_or_duplicate(tmp_path):
    run = make_run(tmp_path)
    proc = start(run)
    # kill once iteration 2 is checkpointed and iteration 3 has started collecting
    wait_for(proc, run, lambda st: st.get("iteration", 0) >= 2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_at = store.load(run.path).state["iteration"]
    assert store.load(run.path).status == "running"  # nobody got to say otherwise

    proc = start(run, "--resume")
    wait_for(proc, run, lambda st: st.get("iteration", 0) >= killed_at + 2 and
             st.get("status") == "running")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    state = store.load(run.path).state
    assert state["status"] == "stopped"
    last = state["iteration"]

    lines = log_lines(run)
    resumed = [ln for ln in lines if ln.startswith("Resuming from checkpoint")]
    assert resumed == [f"Resuming from checkpoint {killed_at}_Step-"
                       f"{resumed[0].split('_Step-')[1].split(':')[0]}: iteration {killed_at} "
                       f"complete, training continues with iteration {killed_at + 1}"]

    events = parse_lines(lines)
    iterations = [e.iteration for e in events if isinstance(e, IterationEnd)]
    assert iterations == list(range(1, last + 1))  # no gap, no duplicate
    ends = [e for e in events if isinstance(e, IterationEnd)]
    assert all(e.policy_loss is not None and e.entropy is not None for e in ends)
    assert any(e.mean_progress is not None and e.episodes > 0 for e in ends)
    checkpoints = [e for e in events if isinstance(e, Checkpoint)]
    steps = [c.total_steps for c in checkpoints if c.iteration >= 1]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert sum(isinstance(e, PolicyUpdate) for e in events) >= 2 * last
    assert any(isinstance(e, EvaluationEnd) and e.mean_progress is not None for e in events)

    metrics = json.loads((run.path / "metrics" / "TrainingMetrics.json").read_text())
    training = [m for m in metrics["metrics"] if m["phase"] == "training"]
    assert [m["episode"] for m in training] == list(range(1, len(training) + 1))
    assert sorted({m["iteration"] for m in training}) == list(range(1, last + 1))
    assert all(m["iteration"] <= last for m in metrics["metrics"])
    assert metrics["best_model_metric"] == "progress" and metrics["version"] == 2.0

    index = json.loads((run.path / "checkpoints" / "deepracer_checkpoints.json").read_text())
    assert index["last_checkpoint"]["iteration"] == last
    assert index["best_checkpoint"]["name"].endswith(".ckpt")
    assert (run.path / "checkpoints" / "best.pt").is_file()
    csvs = sorted(p.name for p in (run.path / "metrics" / "training-simtrace").glob("*.csv"))
    assert csvs == sorted(f"{k}-iteration.csv" for k in range(last))  # the stopped one removed

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps_logged = []
    for events_file in sorted((run.path / "tb").iterdir()):
        acc = EventAccumulator(str(events_file))
        acc.Reload()
        steps_logged += [s.step for s in acc.Scalars("train/mean_reward")]
    assert sorted(steps_logged) == list(range(1, last + 1))


def test_sigint_in_the_first_iteration_stops_cleanly(tmp_path):
    # a long first iteration (200 episodes over 4 cars), so the signal surely lands in it
    run = make_run(tmp_path, episodes=200)
    proc = start(run)
    # the first episode's end: signal handlers are installed and training has begun (a
    # generous deadline: torch's import and the set-up are slow on a loaded 2-core machine)
    deadline = time.monotonic() + 180
    while "Training>" not in run.log_path.read_text() and time.monotonic() < deadline:
        assert proc.poll() is None, run.log_path.read_text()[-3000:]
        time.sleep(0.1)
    assert "Training>" in run.log_path.read_text(), "no episode ended in 180 s"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    state = store.load(run.path).state
    assert state["status"] == "stopped" and state["iteration"] == 0
    assert (run.path / "checkpoints" / "last.pt").is_file()  # 0_Step-0, written at the start
    assert "Training ended (stop requested) after 0 iterations" in run.log_path.read_text()


BROKEN_REWARD = '''
def reward_function(params):
    if params["steps"] > 3:
        return 1.0 / (params["steps"] - params["steps"])
    return 1.0
'''


def test_a_raising_reward_function_fails_the_run_with_its_message(tmp_path):
    run = make_run(tmp_path, reward_code=BROKEN_REWARD)
    proc = start(run)
    assert proc.wait(120) == 1
    state = store.load(run.path).state
    assert state["status"] == "failed"
    assert "ZeroDivisionError" in state["error"] and "reward_function" in state["error"]
    text = run.log_path.read_text()
    errors = [ln for ln in text.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1 and "ZeroDivisionError: float division by zero" in errors[0]
    assert "line 4" in errors[0]
    assert "Traceback" not in text


def test_a_reward_function_that_does_not_compile_fails_at_once(tmp_path):
    run = make_run(tmp_path, reward_code="def reward_function(params):\n    return (\n")
    proc = start(run)
    assert proc.wait(120) == 1
    state = store.load(run.path).state
    assert state["status"] == "failed" and "SyntaxError" in state["error"]
    assert "Traceback" not in run.log_path.read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two iterations in this process (term_cond_max_episodes caps the iterations)."""
    run = make_run(tmp_path_factory.mktemp("trained"), iterations=2)
    return run, train_in_process(run.path)


def test_the_log_is_deepracer_format(trained):
    run, text = trained
    lines = text.splitlines()
    assert store.load(run.path).status == "finished"
    for prefix in ("SIM_TRACE_LOG:", "Training> Name=main_level/agent, Worker=",
                   "Policy training> Surrogate loss=",
                   "Checkpoint> Saving in path=['./checkpoint/agent/",
                   "## agent: Starting evaluation phase", "Testing> Name=main_level/agent",
                   "## agent: Finished evaluation phase. Success rate = ",
                   "[BestModelSelection] Number of evaluations: 2 Evaluation episode progress: [",
                   "Using the following hyper-parameters", "Sensor list ["):
        assert any(ln.startswith(prefix) for ln in lines), prefix
    traces = [ln for ln in lines if ln.startswith("SIM_TRACE_LOG:")]
    assert all(len(ln.split(",")) == 19 for ln in traces)
    events = parse_lines(lines)
    ends = [e for e in events if isinstance(e, IterationEnd)]
    assert [e.iteration for e in ends] == [1, 2]
    assert all(e.total_steps and e.policy_loss is not None for e in ends)
    policy_lines = [ln for ln in lines if ln.startswith("Policy training>")]
    assert len(policy_lines) == 2 * 2  # num_epochs lines per iteration
    # the camera car 0's policy sees, now and then, as a frame the monitor draws (not listed)
    frames = [e for e in events if isinstance(e, CameraFrame)]
    assert frames and not any(isinstance(e, LogLine) and e.text.startswith("CAMERA_FRAME:")
                              for e in events)
    frame = frames[0]
    assert (frame.car, frame.width, frame.height) == (0, 48, 36)  # DRTUI_CAMERA_SIZE 48x36
    pixels = frame_pixels(frame)
    assert len(pixels) == 48 * 36 and len(set(pixels)) > 8  # a picture, not a flat grey
    assert len(frames) <= 2 + len(traces) // 50  # low rate: one every couple of seconds


def test_evaluate_writes_deepracer_metrics_and_a_picture(trained):
    from drtui.sim.png import read_png_header
    from drtui.train.evaluate import evaluate

    run, _ = trained
    result = evaluate(run.path, laps=2, checkpoint="best")
    data = json.loads(result.metrics_path.read_text())
    assert result.metrics_path.parent == run.path / "metrics" / "evaluation"
    assert result.metrics_path.name.startswith("evaluation-") and len(data["metrics"]) == 2
    keys = {"completion_percentage", "metric_time", "start_time", "elapsed_time_in_milliseconds",
            "episode_status", "crash_count", "immobilized_count", "off_track_count",
            "reversed_count", "reset_count", "trial"}
    assert all(set(m) == keys for m in data["metrics"])
    first, second = data["metrics"]
    assert (first["trial"], second["trial"]) == (1, 2)
    assert second["start_time"] == first["metric_time"]
    assert read_png_header(result.picture_path.read_bytes())["width"] > 100


def test_export_onnx_matches_torch(trained, tmp_path):
    from drtui.train.export import export

    run, _ = trained
    result = export(run.path, tmp_path / "out")
    assert result.onnx_path.stat().st_size > 1000
    meta = json.loads(result.metadata_path.read_text())
    assert meta["training_algorithm"] == "clipped_ppo" and "sensor" in meta
    info = json.loads((tmp_path / "out" / "export.json").read_text())
    assert set(info["inputs"]) == {"camera", "lidar"}
    assert info["inputs"]["camera"]["shape"] == ["batch", 1, 36, 48]
    if result.verified_with in ("onnxruntime", "onnx.reference"):
        assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4


@pytest.mark.parametrize("env,message", [
    ({"DRTUI_CARS": "abc"}, "DRTUI_CARS must be a whole number of at least 1 (got 'abc')"),
    ({"DRTUI_CARS": "0"}, "DRTUI_CARS must be a whole number of at least 1 (got '0')"),
    ({"DRTUI_THREADS": "0"}, "DRTUI_THREADS must be a whole number of at least 1 (got '0')"),
    ({"DRTUI_CAMERA_SIZE": "80by60"},
     "DRTUI_CAMERA_SIZE: camera size must look like 80x60 (width x height), not '80by60'"),
])
def test_a_bad_trainer_setting_is_one_line_naming_the_variable(env, message):
    from drtui.train.trainer import UserError, settings_for

    with pytest.raises(UserError) as err:
        settings_for(starter("settings"), env=env)
    assert str(err.value) == message
    good = settings_for(starter("settings"), env={"DRTUI_CARS": "3", "DRTUI_THREADS": "2"})
    assert (good.cars, good.threads) == (3, 2)
