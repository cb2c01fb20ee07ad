"""The log parser on every sample log, old and new formats. Expected values are computed here
from the raw lines with plain string handling, independently of the parser."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from drtui.events import Checkpoint, EpisodeEnd, EvaluationEnd, IterationEnd, PolicyUpdate, Step
from drtui.logs.parser import LogParser, level_of, parse_lines, parse_step

LOGS = Path(__file__).parent / "data" / "logs"
ALL_LOGS = sorted(LOGS.iterdir())


def lines(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


def trace_fields(line: str) -> list[str]:
    return line.split("SIM_TRACE_LOG:", 1)[1].split(",")


@pytest.mark.parametrize("path", ALL_LOGS, ids=lambda p: p.name)
def test_every_trace_line_becomes_a_step(path):
    raw = [ln for ln in path.read_text().splitlines() if "SIM_TRACE_LOG:" in ln]
    steps = [e for e in parse_lines(raw) if isinstance(e, Step)]
    assert len(steps) == len(raw)
    for line, step in zip(raw, steps):
        f = trace_fields(line)
        assert step.episode == int(f[0]) and step.x == float(f[2]) and step.y == float(f[3])
        assert step.progress == float(f[11]) and step.done == (f[9] == "True")
        assert step.closest_waypoint == int(f[12]) and step.track_len == float(f[13])


def test_trace_formats_15_17_19_fields_and_continuous_actions():
    raw = lines("sim-trace-log-lines-mixed-formats.txt")
    counts = {len(trace_fields(ln)) for ln in raw}
    assert {17, 19} <= counts
    steps = [parse_step(ln) for ln in raw]
    continuous = [s for s, ln in zip(steps, raw) if "[" in trace_fields(ln)[7]]
    assert continuous and all(isinstance(s.action, tuple) and len(s.action) == 2
                              for s in continuous)
    nineteen = [s for s, ln in zip(steps, raw) if len(trace_fields(ln)) == 19]
    assert all(s.wall_clock is not None and s.obstacle_crash_counter is not None
               for s in nineteen)
    # a 2019-era 15-field line (tstamp was epoch time then)
    old = parse_step("SIM_TRACE_LOG:3,12,2.1,0.5,10.0,-15.0,1.0,2,0.5,False,True,5.2,4,17.71,"
                     "1555554451.1110387")
    assert old.episode_status is None and old.tstamp == 1555554451.1110387
    # an older continuous line printed the action with a comma
    comma = parse_step("SIM_TRACE_LOG:0,2,1.0,2.0,3.0,4.99,2.00,[4.98, 2.0],0.8,False,True,"
                       "0.8,1,16.60,36.2,in_progress,0.00")
    assert comma.action == (4.98, 2.0) and comma.reward == 0.8 and comma.progress == 0.8
    assert parse_step("no trace here") is None


def test_sagemaker_log_iterations():
    raw = lines("droa-simapp6-sagemaker-training-continuous-ppo.log")
    events = parse_lines(raw)
    iterations = [e for e in events if isinstance(e, IterationEnd)]
    # expected: split the log at checkpoint lines with N >= 1
    blocks, current, policy = [], [], []
    for line in raw:
        m = re.search(r"Training> .*Total reward=([-0-9.e]+)", line)
        if m:
            current.append(float(m.group(1)))
        if line.startswith("Policy training>"):
            policy.append(float(line.split("Entropy=")[1].split(",")[0]))
        m = re.search(r"Checkpoint> Saving in path=\['\./checkpoint_sagemaker/agent/"
                      r"(\d+)_Step-(\d+)", line)
        if m and int(m.group(1)) >= 1:
            blocks.append((int(m.group(1)), int(m.group(2)), current, policy))
            current, policy = [], []
    assert len(iterations) == len(blocks) > 10
    for it, (number, steps, rewards, entropies) in zip(iterations, blocks):
        assert it.iteration == number and it.total_steps == steps
        assert it.episodes == len(rewards)
        assert it.mean_reward == pytest.approx(statistics.fmean(rewards))
        assert it.entropy == pytest.approx(statistics.fmean(entropies))
    updates = [e for e in events if isinstance(e, PolicyUpdate)]
    assert len(updates) == sum(ln.startswith("Policy training>") for ln in raw)
    assert [c.name for c in events if isinstance(c, Checkpoint)][0] == "0_Step-0.ckpt"


def test_console_sagemaker_log():
    events = parse_lines(lines("console-sagemaker-training-excerpt.log"))
    its = [e for e in events if isinstance(e, IterationEnd)]
    assert [i.iteration for i in its] == [1, 2, 3]
    assert all(i.episodes == 20 and i.policy_loss is not None for i in its)


def test_robomaker_log_episodes_progress_and_boundary():
    raw = lines("droa-simapp6-simulation-training-iteration-boundary-excerpt.log")
    events = parse_lines(raw)
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    done = [trace_fields(ln) for ln in raw if "SIM_TRACE_LOG:" in ln
            and trace_fields(ln)[9] == "True"]
    training = [e for e in ends if e.phase == "training"]
    assert [e.progress for e in training] == [float(f[11]) for f in done]
    assert [e.status for e in training] == [f[15] for f in done]
    testing = [e for e in ends if e.phase == "evaluation"]
    assert [e.reward for e in testing] == [
        float(re.search(r"Total reward=([-0-9.]+)", ln).group(1))
        for ln in raw if "Testing>" in ln]
    # the iteration closes where the evaluation phase starts
    boundary = next(i for i, ln in enumerate(raw) if "Starting evaluation phase" in ln)
    before = [trace_fields(ln) for ln in raw[:boundary] if "SIM_TRACE_LOG:" in ln
              and trace_fields(ln)[9] == "True"]
    it = next(e for e in events if isinstance(e, IterationEnd))
    assert it.episodes == len(before) < len(done)
    assert it.mean_progress == pytest.approx(statistics.fmean(float(f[11]) for f in before))
    evals = [e for e in events if isinstance(e, EvaluationEnd)]
    assert [e.mean_reward for e in evals if e.mean_reward is not None] == [0.98, 0.78]
    best = [e for e in evals if e.episodes]
    assert best[0].mean_progress == pytest.approx(1.153631562664573)


def test_episode_reward_and_time_from_trace():
    raw = lines("droa-simapp6-simulation-training-start-excerpt.log")
    ends = [e for e in parse_lines(raw) if isinstance(e, EpisodeEnd)]
    episode0 = [trace_fields(ln) for ln in raw if "SIM_TRACE_LOG:" in ln
                and trace_fields(ln)[0] == "0"]
    assert ends[0].episode == 1
    assert ends[0].reward == pytest.approx(sum(float(f[8]) for f in episode0))
    assert ends[0].time_s == pytest.approx(float(episode0[-1][14]) - float(episode0[0][14]))
    assert ends[0].steps == int(episode0[-1][1])


def test_evaluation_log_as_evaluation_phase():
    events = parse_lines(lines("console-robomaker-evaluation-lap1-excerpt.log"),
                         phase="evaluation")
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    assert len(ends) == 1 and ends[0].phase == "evaluation"
    assert ends[0].status == "lap_complete" and ends[0].complete
    assert not [e for e in events if isinstance(e, IterationEnd)]


def test_lines_and_levels():
    parser = LogParser(source="robomaker-1")
    (line,) = parser.feed("Traceback (most recent call last):")
    assert line.level == "error" and line.source == "robomaker-1"
    assert level_of("RuntimeWarning: invalid value") == "warning"
    assert level_of("Reset agent finished") == "info"
    assert parser.feed("") == [] and parser.feed("   \n") == []


def test_events_serialise_to_json():
    import json

    events = parse_lines(lines("console-sagemaker-training-excerpt.log"))
    for e in events:
        data = e.to_json()
        assert data["event"] == type(e).__name__
        json.dumps(data)


def test_drtui_trainer_lines_count_every_car():
    """drtui traces car 0 only; its Training> lines carry the other cars' progress."""
    raw = [
        "SIM_TRACE_LOG:0,1,1.0,1.0,0.0,0.00,1.00,0,0.0000,False,True,1.0000,1,23.12,0.0,prepare,0.00,0,1.0",
        "SIM_TRACE_LOG:0,2,1.1,1.0,0.0,0.00,1.00,0,1.0000,True,False,4.0000,1,23.12,0.1,off_track,0.00,0,1.1",
        "Training> Name=main_level/agent, Worker=0, Episode=1, Total reward=1.00, Steps=2, "
        "Training iteration=0, Progress=4.00, Status=off_track",
        "Training> Name=main_level/agent, Worker=1, Episode=2, Total reward=9.00, Steps=9, "
        "Training iteration=0, Progress=100.00, Status=lap_complete",
        "Checkpoint> Saving in path=['./checkpoint/agent/1_Step-9.ckpt']",
    ]
    events = parse_lines(raw)
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    assert [(e.worker, e.progress) for e in ends] == [(0, 4.0), (1, 100.0)]
    it = next(e for e in events if isinstance(e, IterationEnd))
    assert it.episodes == 2 and it.completion_rate == 0.5


def test_drtui_trainer_episode_times_and_camera_frames():
    """Time= is an episode's simulated seconds (a lap time where it completes); a
    CAMERA_FRAME line becomes a CameraFrame for the monitor, never a listed log line; with
    emit_steps=False (analysis, tuning) it is dropped."""
    from drtui.events import CameraFrame, LogLine
    from drtui.logs.camera import frame_line, frame_pixels

    frame = frame_line(0, 3, 40, 4, 2, bytes(range(0, 240, 30)))
    raw = [
        "Training> Name=main_level/agent, Worker=1, Episode=2, Total reward=9.00, Steps=9, "
        "Training iteration=0, Progress=100.00, Status=lap_complete, Time=12.47",
        frame,
        "Testing> Name=main_level/agent, Worker=0, Episode=1, Total reward=148.02, Steps=407, "
        "Training iteration=13, Progress=100.00, Status=lap_complete, Time=27.07",
    ]
    events = parse_lines(raw)
    ends = [e for e in events if isinstance(e, EpisodeEnd)]
    assert [(e.phase, e.status, e.time_s) for e in ends] == [
        ("training", "lap_complete", 12.47), ("evaluation", "lap_complete", 27.07)]
    frames = [e for e in events if isinstance(e, CameraFrame)]
    assert len(frames) == 1 and (frames[0].episode, frames[0].step) == (3, 40)
    assert frame_pixels(frames[0]) == bytes(range(0, 240, 30))
    assert not [e for e in events if isinstance(e, LogLine) and "CAMERA_FRAME" in e.text]
    assert not [e for e in parse_lines(raw, emit_steps=False) if isinstance(e, CameraFrame)]


def test_headless_json_leaves_out_steps_frames_and_lines_and_the_eta_says_its_goal():
    import asyncio
    import io
    import json

    from rich.console import Console

    from drtui.events import CameraFrame, LogLine
    from drtui.headless import Progress, print_events, summary_table
    from drtui.logs.camera import frame_line, parse_frame

    events = [LogLine("hello"), parse_frame(frame_line(0, 1, 2, 2, 1, b"\x00\xff")),
              EpisodeEnd(1, "training", 3.0, progress=10.0)]
    assert isinstance(events[1], CameraFrame)

    async def stream():
        for event in events:
            yield event

    out = io.StringIO()
    progress = Progress(started=0.0, max_episodes=10)
    asyncio.run(print_events(stream(), progress=progress, title="t", as_json=True, out=out))
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["EpisodeEnd"]
    assert progress.eta_target(60.0) == (540.0, "episodes")
    text = io.StringIO()
    Console(file=text, width=120).print(summary_table(progress, "t"))
    assert "to 10 episodes (term_cond_max_episodes)" in text.getvalue()
