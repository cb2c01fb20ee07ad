"""Every line kind drtui's trainer writes (drtui.logs.protocol) reads back through the one
parser as the event it stands for, with the values written; and the writers print exactly the
lines of a real run of drtui's trainer (tests/tui/data), so old logs keep parsing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from drtui.events import (
    Checkpoint,
    EpisodeEnd,
    EvaluationEnd,
    IterationEnd,
    PolicyUpdate,
    StageChange,
    TaskIteration,
)
from drtui.logs import protocol
from drtui.logs.parser import LogParser, parse_lines

RECORDED = Path(__file__).parent / "tui" / "data"


def events(lines, **kw):
    return [e for e in parse_lines(lines, emit_lines=False, **kw)]


def test_an_episode_line_round_trips_in_both_phases():
    for phase, kind in (("training", "Training>"), ("evaluation", "Testing>")):
        line = protocol.episode_line(phase, 3, 17, 12.345, 210, 4, 56.78, "off_track", 9.87)
        assert line.startswith(f"{kind} Name=main_level/agent, Worker=3, Episode=17, ")
        (end,) = events([line])
        assert isinstance(end, EpisodeEnd)
        assert (end.phase, end.worker, end.episode, end.reward, end.progress, end.status,
                end.time_s) == (phase, 3, 17, 12.35, 56.78, "off_track", 9.87)


def test_policy_lines_and_the_checkpoint_close_an_iteration():
    lines = [protocol.episode_line("training", 0, 1, 5.0, 100, 0, 100.0, "lap_complete", 8.0),
             protocol.episode_line("training", 1, 2, 3.0, 150, 0, 40.0, "off_track", 5.0),
             protocol.policy_line(-0.25, 0.01, 1.5, 0, 0.0003),
             protocol.policy_line(-0.15, 0.02, 1.4, 1, 0.0003),
             protocol.checkpoint_line("1_Step-250.ckpt")]
    got = events(lines)
    updates = [e for e in got if isinstance(e, PolicyUpdate)]
    assert [(u.epoch, u.surrogate_loss, u.kl_divergence, u.entropy, u.learning_rate)
            for u in updates] == [(0, -0.25, 0.01, 1.5, 0.0003), (1, -0.15, 0.02, 1.4, 0.0003)]
    (ckpt,) = [e for e in got if isinstance(e, Checkpoint)]
    assert (ckpt.iteration, ckpt.total_steps, ckpt.name) == (1, 250, "1_Step-250.ckpt")
    (it,) = [e for e in got if isinstance(e, IterationEnd)]
    assert (it.iteration, it.episodes, it.mean_reward, it.completion_rate,
            it.mean_lap_time_s, it.policy_loss) == (1, 2, 4.0, 0.5, 8.0, pytest.approx(-0.2))


def test_an_evaluation_phase_round_trips():
    lines = [protocol.EVAL_START,
             protocol.episode_line("evaluation", 0, 1, 9.0, 120, 0, 100.0, "lap_complete", 7.5),
             protocol.eval_done_line(0.5, 8.25),
             protocol.eval_progress_line([100.0, 42.5])]
    got = [e for e in events(lines) if isinstance(e, EvaluationEnd)]
    assert (got[0].success_rate, got[0].mean_reward) == (0.5, 8.25)
    assert (got[1].mean_progress, got[1].episodes) == (71.25, [100.0, 42.5])


def test_a_resume_line_sets_the_iteration():
    parser = LogParser(emit_lines=False)
    parser.feed(protocol.resumed_line("3_Step-900.ckpt", 3))
    assert parser.iteration == 3
    line = protocol.episode_line("training", 0, 1, 1.0, 10, 3, 5.0, "off_track", 1.0)
    (end,) = parser.feed(line)
    assert end.iteration == 4


def test_task_and_stage_lines_round_trip():
    (task,) = events([protocol.task_line(2, 3, "Spain_track", 5, 8, 61.25, 0.125, 33.5)])
    assert isinstance(task, TaskIteration)
    assert (task.iteration, task.task, task.total, task.name, task.episodes,
            task.mean_progress, task.completion_rate, task.mean_reward) == \
        (5, 2, 3, "Spain_track", 8, 61.25, 0.125, 33.5)
    (empty,) = events([protocol.task_line(1, 2, "Albert", 1, 0, None, None, None)])
    assert (empty.mean_progress, empty.completion_rate, empty.mean_reward) == (None, None, None)
    (stage,) = events([protocol.stage_line(2, 3, "wide", "world reInvent2019_wide, race TT")])
    assert isinstance(stage, StageChange)
    assert (stage.index, stage.total, stage.name, stage.description) == \
        (2, 3, "wide", "world reInvent2019_wide, race TT")


def test_the_last_logged_episode_is_found_by_the_protocols_pattern():
    text = "\n".join([protocol.episode_line("training", 0, 41, 1.0, 9, 2, 3.0, "off_track", 1.0),
                      protocol.episode_line("evaluation", 0, 99, 1.0, 9, 2, 3.0, "off_track", 1.0),
                      protocol.episode_line("training", 1, 42, 1.0, 9, 2, 3.0, "off_track", 1.0)])
    assert protocol.TRAINING_EPISODE.findall(text) == ["41", "42"]


@pytest.mark.parametrize("kind", ["Training>", "Testing>", "Policy training>", "Checkpoint>",
                                  "[BestModelSelection] Number", "## agent: Finished"])
def test_the_writers_print_a_real_runs_lines(kind):
    """Each kind as a recorded run of drtui's trainer printed it: the writer gives the same
    line from the values the parser reads out of it."""
    with gzip.open(RECORDED / "recorded-run.log.gz", "rt") as fh:
        line = next(line.rstrip("\n") for line in fh if line.startswith(kind))
    if kind in ("Training>", "Testing>"):
        m = protocol.EPISODE.search(line)
        written = protocol.episode_line(
            "training" if kind == "Training>" else "evaluation", int(m.group(2)),
            int(m.group(3)), float(m.group(4)), int(m.group(5)), int(m.group(6)),
            float(m.group(7)), m.group(8), float(m.group(9) or 0))
        if m.group(9) is None:  # recorded before the trainer added the simulated time
            written = written.rsplit(", Time=", 1)[0]
    elif kind == "Policy training>":
        m = protocol.POLICY.search(line)
        written = protocol.policy_line(*(float(m.group(i)) if i != 4 else int(m.group(i))
                                         for i in (1, 2, 3, 4, 5)))
    elif kind == "Checkpoint>":
        m = protocol.CHECKPOINT.search(line)
        written = protocol.checkpoint_line(f"{m.group(1)}_Step-{m.group(2)}.ckpt")
    elif kind.startswith("[BestModelSelection]"):
        m = protocol.EVAL_PROGRESS.search(line)
        written = protocol.eval_progress_line([float(v) for v in m.group(1).split(",")])
    else:
        m = protocol.EVAL_DONE.search(line)
        written = protocol.eval_done_line(float(m.group(1)), float(m.group(2)))
    assert written == line


def test_the_iteration_summary_is_written_as_a_real_run_wrote_it():
    """The numbers that format alone cannot give back (the wall time's rounding) are the
    recorded line's own; the layout must be the same, character for character."""
    with gzip.open(RECORDED / "recorded-run.log.gz", "rt") as fh:
        line = next(ln.rstrip("\n") for ln in fh if ln.startswith("## drtui: iteration "))
    assert line == ("## drtui: iteration 1: 4 episodes, mean progress 11.8%, laps 0.00, mean "
                    "reward 25.1, 272 env steps in 0.4 s (651/s)")
    written = protocol.iteration_line(1, 4, 11.8, 0.0, 25.1, 272, 0.418)
    assert written == line
    assert protocol.iteration_line(3, 0, None, None, None, 0, 1.0) == (
        "## drtui: iteration 3: 0 episodes, mean progress -%, laps -, mean reward -, 0 env "
        "steps in 1.0 s (0/s)")
