"""DeepRacer's log vocabulary in one place: each line kind's writer (what drtui's trainer
prints) beside the pattern the parser reads it with (the same pattern reads DRfC's, the
console's and DeepRacer on AWS's logs, old formats and new). tests/test_log_protocol.py
writes every kind and parses it back.

The kinds (SIM_TRACE_LOG steps are sim/logs.py's printf; camera frames are logs/camera.py):

    Training> Name=main_level/agent, Worker=0, Episode=12, Total reward=..., Steps=...,
        Training iteration=0[, Progress=..., Status=..., Time=...]   an episode (Testing>: eval)
    Policy training> Surrogate loss=..., KL divergence=..., Entropy=..., training epoch=N
    Checkpoint> Saving in path=['./checkpoint/agent/N_Step-M.ckpt']   an iteration's end
    Resuming from checkpoint N_Step-M.ckpt: iteration N complete, ...  (drtui's resume)
    ## agent: Starting evaluation phase / ## agent: Finished evaluation phase. Success rate = ...
    [BestModelSelection] Number of evaluations: K Evaluation episode progress: [...]
    ## drtui: iteration N: E episodes, ...      drtui's summary of an iteration
    ## drtui: task k/n WORLD: iteration ...     one task's share (multi-task)
    ## drtui: curriculum stage k/n "name": ...  a curriculum stage began
    ## agent: Training ended (why) after N iterations; last checkpoint NAME
"""

from __future__ import annotations

import re
from collections.abc import Sequence

AGENT = "main_level/agent"
TRACE_TAG = "SIM_TRACE_LOG:"
EVAL_START_MARK = "Starting evaluation phase"  # real logs print it with other prefixes too
EVAL_START = f"## agent: {EVAL_START_MARK}"
# DeepRacer on AWS has no log stream: its runner writes what it polls as these lines
# (drtui/backends/droa.py): a status change, or one training metrics record (an episode).
DROA_STATUS, DROA_METRIC = "DROA_STATUS ", "DROA_METRIC "

EPISODE = re.compile(r"(Training|Testing)> Name=[^,]*, Worker=(\d+), Episode=(\d+), "
                     r"Total reward=([-+0-9.eE]+|nan|inf), Steps=(\d+), Training iteration=(\d+)"
                     # drtui's trainer adds these, since it traces only one of its cars
                     r"(?:, Progress=([-+0-9.eE]+))?(?:, Status=(\w+))?"
                     r"(?:, Time=([0-9.]+))?")  # simulated seconds (drtui's trainer)
POLICY = re.compile(r"Policy training> Surrogate loss=([^,]+), KL divergence=([^,]+), "
                    r"Entropy=([^,]+), training epoch=(\d+)(?:, learning_rate=([^,\s]+))?")
TASK = re.compile(r"## drtui: task (\d+)/(\d+) (\S+): iteration (\d+), (\d+) episodes, "
                  r"mean progress ([-0-9.]+)%, laps ([-0-9.]+), mean reward ([-+0-9.eE]+|-)")
STAGE = re.compile(r'curriculum stage (\d+)/(\d+) "([^"]*)": (.*)')
CHECKPOINT = re.compile(r"Checkpoint> Saving in path=\['?[^\]]*?(\d+)_Step-(\d+)\.ckpt")
EVAL_DONE = re.compile(r"Finished evaluation phase\. Success rate = ([-+0-9.eE]+), "
                       r"Avg Total Reward = ([-+0-9.eE]+|nan)")
RESUMED = re.compile(r"^Resuming from checkpoint (\d+)_Step-(\d+)\.ckpt: iteration (\d+) complete")
EVAL_PROGRESS = re.compile(r"Evaluation episode progress: \[([^\]]*)\]")
TRAINING_EPISODE = re.compile(r"^Training> Name=[^,]*, Worker=\d+, Episode=(\d+),", re.M)
# drtui's trainer's first line: how many cars drive, and which of them the simtrace holds
# (logs before "simtrace of" always held car 0's alone)
TRAINER_HEADER = re.compile(r"^## drtui trainer: run \S+, world \S+, (\d+) cars"
                            r"(?:, simtrace of (every car|car 0))?", re.M)


def trainer_header_line(run: str, world: str, cars: int, trace_all: bool, camera: str,
                        device: str, threads: int, seed: int) -> str:
    traced = "every car" if trace_all else "car 0"
    return (f"## drtui trainer: run {run}, world {world}, {cars} cars, simtrace of {traced}, "
            f"camera {camera} (internal), device {device}, threads {threads}, seed {seed}")


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def episode_line(phase: str, worker: int, episode: int, reward: float, steps: int,
                 iteration: int, progress: float, status: str, time_s: float) -> str:
    """An episode's end as simapp prints it (`iteration` 0-based, as simapp's Training
    iteration), plus the progress, status and simulated time drtui's trainer adds."""
    kind = "Training" if phase == "training" else "Testing"
    return (f"{kind}> Name={AGENT}, Worker={worker}, Episode={episode}, "
            f"Total reward={reward:.2f}, Steps={steps}, Training iteration={iteration}, "
            f"Progress={progress:.2f}, Status={status}, Time={time_s:.2f}")


def policy_line(loss: float, kl: float, entropy: float, epoch: int,
                learning_rate: float) -> str:
    return (f"Policy training> Surrogate loss={loss}, KL divergence={kl}, Entropy={entropy}, "
            f"training epoch={epoch}, learning_rate={learning_rate}")


def checkpoint_line(name: str) -> str:
    """`name` is N_Step-M.ckpt: checkpoint N after M env steps in all."""
    return f"Checkpoint> Saving in path=['./checkpoint/agent/{name}']"


def resumed_line(name: str, iteration: int) -> str:
    return (f"Resuming from checkpoint {name}: iteration {iteration} complete, training "
            f"continues with iteration {iteration + 1}")


def eval_done_line(success_rate: float, mean_reward: float) -> str:
    return (f"## agent: Finished evaluation phase. Success rate = {success_rate}, "
            f"Avg Total Reward = {mean_reward:.2f}")


def eval_progress_line(progress: Sequence[float]) -> str:
    return (f"[BestModelSelection] Number of evaluations: {len(progress)} "
            f"Evaluation episode progress: {list(progress)}")


def task_line(task: int, total: int, name: str, iteration: int, episodes: int,
              progress: float | None, laps: float | None, reward: float | None) -> str:
    """`task` 1-based; progress in %, laps as a fraction of episodes."""
    return (f"## drtui: task {task}/{total} {name}: iteration {iteration}, {episodes} "
            f"episodes, mean progress {_fmt(progress, 2)}%, laps {_fmt(laps, 3)}, "
            f"mean reward {_fmt(reward, 3)}")


def iteration_line(iteration: int, episodes: int, progress: float | None,
                   laps: float | None, reward: float | None, steps: int, wall_s: float) -> str:
    """drtui's summary of an iteration, after its checkpoint (progress in %, laps a fraction)."""
    return (f"## drtui: iteration {iteration}: {episodes} episodes, mean progress "
            f"{_fmt(progress, 1)}%, laps {_fmt(laps, 2)}, mean reward {_fmt(reward, 1)}, "
            f"{steps} env steps in {wall_s:.1f} s ({steps / max(wall_s, 1e-9):.0f}/s)")


def stage_line(index: int, total: int, name: str, description: str) -> str:
    """`index` 1-based."""
    return f"## drtui: curriculum stage {index}/{total} \"{name}\": {description}"


def training_ended_line(why: str, iterations: int, last: str | None) -> str:
    return f"## agent: Training ended ({why}) after {iterations} iterations; last checkpoint {last}"
