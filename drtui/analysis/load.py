# Over 450 lines: one loader per DeepRacer input kind (detect.KINDS), sharing the column definitions
# that keep its figures equal to deepracer-utils'.
"""Load any DeepRacer input (see detect.KINDS) into one `Loaded`: the training steps as a
DataFrame with deepracer-utils' columns, TrainingMetrics rows, evaluation laps and, from
training logs, the parser's per-iteration events.

Definitions follow deepracer-utils so figures agree with its notebooks: iterations of a log are
episode // num_episodes_between_training (from the log's hyper-parameters, else 20); simtrace
CSVs take theirs from the file name; several workers get `unique_episode` as DeepRacerLog
numbers them; TrainingMetrics iterations are floor((episode - 1) / max(trial of worker 0)).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from drtui.analysis import simtrace
from drtui.analysis.detect import Detected, Tree, _metrics_kind, detect, iteration_of
from drtui.errors import InvalidInput
from drtui.logs import protocol

DEFAULT_EPISODES_PER_ITERATION = 20
_EPI = re.compile(rb'"num_episodes_between_training":\s*(\d+)')
_WORLD = re.compile(rb"(?:'WORLD_NAME': '|/WORLD_NAME: |WORLD_NAME=)([A-Za-z0-9_.-]+)")
_WORKER_METRICS = re.compile(r"TrainingMetrics(?:_(\d+))?\.json$")
META_BYTES = 4 << 20


@dataclass
class Loaded:
    kind: str
    path: Path
    steps: object | None = None  # DataFrame: training steps (simtrace.COLUMNS + unique_episode)
    eval_steps: object | None = None  # DataFrame: evaluation steps, with a `stream` column
    metrics: object | None = None  # DataFrame: TrainingMetrics rows of every worker
    eval_metrics: object | None = None  # DataFrame: evaluation metrics trials, `stream` column
    log_episodes: object | None = None  # DataFrame: Training>/Testing> episodes of a log
    iteration_events: list = field(default_factory=list)  # IterationEnd of a training log
    log_names: list = field(default_factory=list)  # the training logs read for log_episodes
    world: str | None = None
    world_given: bool = False  # by the user (--world), not read from the input
    episodes_per_iteration: int | None = None
    trace_lines: int = 0
    garbled: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def has_steps(self) -> bool:
        return self.steps is not None and len(self.steps) > 0


# -- pieces ------------------------------------------------------------------------------------

def _log_meta(head: bytes) -> tuple[int | None, str | None]:
    epi = _EPI.search(head)
    world = _WORLD.search(head)
    return (int(epi.group(1)) if epi else None,
            world.group(1).decode() if world else None)


def _log_steps(stream, loaded: Loaded, worker: int = 0):
    """Steps of a SIM_TRACE_LOG log (binary stream); metadata from its first blocks."""
    blocks = simtrace.read_blocks(stream)
    first = next(iter(blocks), b"")
    epi, world = _log_meta(first[:META_BYTES])
    loaded.episodes_per_iteration = loaded.episodes_per_iteration or epi
    loaded.world = loaded.world or world

    def all_blocks():
        yield first
        yield from blocks

    parsed = simtrace.parse_blocks(all_blocks(), worker)
    loaded.trace_lines += parsed.lines
    loaded.garbled += parsed.garbled
    df = parsed.frame
    df["iteration"] = df["episode"] // (loaded.episodes_per_iteration
                                        or DEFAULT_EPISODES_PER_ITERATION)
    return df


def unique_episodes(df):
    """DeepRacerLog's numbering of episodes across workers and iterations (one worker: its
    own episode numbers, which DeepRacer counts on across iterations)."""
    import numpy as np

    if df.empty or df["worker"].nunique() == 1:  # one worker numbers its episodes itself
        df["unique_episode"] = df["episode"]
        return _in_order(df)
    first = df["iteration"].min()
    workers = sorted(df["worker"].unique())
    per_worker, until = {}, {}
    total = 0
    for w in workers:
        sel = df[(df["iteration"] == first) & (df["worker"] == w)]["episode"]
        per_worker[w] = int(sel.max()) + 1 if len(sel) else int(df[df["worker"] == w]
                                                                ["episode"].max()) + 1
        until[w] = total
        total += per_worker[w]
    w = df["worker"].to_numpy()
    epw = np.vectorize(per_worker.get)(w) if len(workers) > 1 else per_worker[workers[0]]
    base = np.vectorize(until.get)(w) if len(workers) > 1 else 0
    df["unique_episode"] = (df["episode"].to_numpy() % epw + base
                            + (df["iteration"].to_numpy() - first) * total + first * total)
    return _in_order(df)


def _in_order(df):
    """Sorted by unique episode, then step (stable); a log's steps usually are already, and
    then are not sorted again."""
    import numpy as np

    ue, steps = df["unique_episode"].to_numpy(), df["steps"].to_numpy()
    d = np.diff(ue)
    if (d >= 0).all() and (np.diff(steps)[d == 0] >= 0).all():
        return df.reset_index(drop=True)
    return df.sort_values(["unique_episode", "steps"], kind="stable").reset_index(drop=True)


# the fields of a metrics entry that the tables read
TRAINING_FIELDS = ("episode", "trial", "phase", "reward_score", "completion_percentage",
                   "episode_status", "elapsed_time_in_milliseconds")
EVALUATION_FIELDS = ("trial", "completion_percentage", "elapsed_time_in_milliseconds")


def metrics_problem(doc: dict, training: bool) -> str | None:
    """The first entry of a metrics JSON without a field the tables read, or None."""
    fields = TRAINING_FIELDS if training else EVALUATION_FIELDS
    for i, entry in enumerate(doc["metrics"]):
        if not isinstance(entry, dict):
            return f"metrics[{i}]: must be an object"
        missing = [f for f in fields if f not in entry]
        if missing:
            return f"metrics[{i}]: missing {', '.join(missing)}"
        wrong = [f for f in fields if f not in _TEXT_FIELDS and not _is_number(entry[f])]
        if wrong:
            return f"metrics[{i}]: {', '.join(wrong)} must be numbers"
        if training and (not isinstance(entry["phase"], str) or
                         not isinstance(entry["episode_status"], str)):
            return f"metrics[{i}]: phase and episode_status must be strings"
        if training and int(entry["trial"]) < 1:
            return f"metrics[{i}]: trial must be 1 or more"
    return None


_TEXT_FIELDS = ("phase", "episode_status")


def _is_number(value) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def metrics_frame(docs: list[tuple[int, dict]]):
    """TrainingMetrics rows as deepracer-utils' TrainingMetrics loads them (one round)."""
    import numpy as np
    import pandas as pd

    frames, epi = [], None
    for worker, doc in sorted(docs, key=lambda d: d[0]):
        df = pd.DataFrame(doc["metrics"])
        if df.empty:
            continue
        if worker == 0 or epi is None:
            epi = max(df["trial"])
        df["iteration"] = np.floor((df["episode"] - 1) / epi).astype(int)
        df["worker"] = worker
        df["reward"] = df["reward_score"]
        df["completion"] = df["completion_percentage"]
        df["complete"] = (df["episode_status"] == "Lap complete").astype(int)
        df["time"] = df["elapsed_time_in_milliseconds"] / 1000
        frames.append(df[["iteration", "episode", "worker", "trial", "phase", "reward",
                          "completion", "time", "complete", "episode_status"]])
    return pd.concat(frames, ignore_index=True) if frames else None


def eval_metrics_frame(docs: list[tuple[str, dict]]):
    import pandas as pd

    frames = []
    for stream, doc in docs:
        df = pd.DataFrame(doc["metrics"])
        if df.empty:
            continue
        df["stream"] = stream
        df["time"] = df["elapsed_time_in_milliseconds"] / 1000
        df["complete"] = (df["completion_percentage"] >= 100).astype(int)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else None


_LOGGED_ITERATION = re.compile(r"(?:Training|Testing)> Name=.*Training iteration=(\d+)")


def _training_log(stream, loaded: Loaded, name: str = "") -> None:
    """Training>/Testing> episodes and iteration summaries (policy loss, entropy) of a log, via
    drtui's parser. Iterations are numbered as the log numbers them, `Training iteration=K`
    (0-based, like the simtraces' K-iteration.csv), not by checkpoint numbers: a cloned model's
    checkpoints go on from its parent's. Logs without those lines (drtui's trainer) count from
    the parser's 1-based count, less one."""
    import pandas as pd

    from drtui.events import EpisodeEnd, IterationEnd
    from drtui.logs.parser import LogParser

    parser = LogParser(emit_lines=False, emit_steps=False)
    rows, logged = [], None
    for raw in io.TextIOWrapper(stream, encoding="utf-8", errors="replace"):
        if simtrace.TAG in raw:  # steps are read in bulk elsewhere; Training> lines end episodes
            continue
        m = _LOGGED_ITERATION.search(raw) if "> Name=" in raw else None
        if m:
            logged = int(m.group(1))
        for ev in parser.feed(raw):
            if isinstance(ev, EpisodeEnd):
                it = int(m.group(1)) if m else (ev.iteration or 1) - 1
                rows.append({"episode": ev.episode, "iteration": it, "worker": ev.worker,
                             "phase": ev.phase, "reward": ev.reward, "steps": ev.steps,
                             "progress": ev.progress})
            elif isinstance(ev, IterationEnd):  # the iteration of the episodes it closes
                ev.iteration = logged if logged is not None else ev.iteration - 1
                loaded.iteration_events.append(ev)
    frame = pd.DataFrame(rows) if rows else None
    if frame is not None and loaded.log_episodes is not None:
        frame = pd.concat([loaded.log_episodes, frame], ignore_index=True)
    loaded.log_episodes = frame if frame is not None else loaded.log_episodes
    if name and rows:
        loaded.log_names.append(name)


def _concat(frames):
    import pandas as pd

    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


JSON_BYTES = 64 << 20  # a metrics JSON larger than this is no DeepRacer file


def _read_json(tree: Tree, rel: str) -> dict | None:
    with tree.open(rel) as fh:
        data = fh.read(JSON_BYTES + 1)
    if len(data) > JSON_BYTES:
        raise ValueError(f"larger than {JSON_BYTES >> 20} MiB")
    return json.loads(data) if _metrics_kind(data) else None


def _worker_of(rel: str) -> int:
    m = re.match(r"^(?:.*/)?(\d+)/training-simtrace/", rel) or re.search(
        r"training-simtrace-(\d+)/", rel)
    return int(m.group(1)) if m else 0


def _tree_simtraces(tree: Tree, pattern: str):
    frames = []
    for rel in tree.match(pattern):
        with tree.open(rel) as fh:
            df = simtrace.read_csv(fh, _worker_of(rel))
        df["iteration"] = iteration_of(rel) or 0
        frames.append(df)
    return _concat(frames)


def eval_stream(name: str) -> str:
    """One name for an evaluation's simtrace folder and its metrics file, as DeepRacerLog names
    the stream: DRfC's evaluation-<stamp>/ and EvaluationMetrics-<stamp>.json, the console's
    <stamp>-<id>/ and evaluation-<stamp>-<id>.json are all <stamp> (14 digits); DeepRacer on
    AWS's names have no such stamp and stay whole."""
    return re.sub(r"^(?:evaluation-|EvaluationMetrics-)?(\d{14})(?:-.*)?$", r"\1", name)


def _tree_eval_simtraces(tree: Tree):
    frames = []
    for rel in tree.match(r"evaluation-simtrace/\d+-iteration\.csv$"):
        with tree.open(rel) as fh:
            df = simtrace.read_csv(fh)
        df["stream"] = eval_stream(rel.split("/evaluation-simtrace/")[0].split("/")[-1])
        frames.append(df)
    df = _concat(frames)
    return None if df is None else df.sort_values(["stream", "episode", "steps"],
                                                  kind="stable").reset_index(drop=True)


def _tree_metrics(tree: Tree, loaded: Loaded) -> None:
    training, evaluation = [], []
    for rel in tree.match(r"(^|/)metrics/.*\.json$|(^|/)(Training|Evaluation)Metrics[^/]*\.json$"):
        try:
            doc = _read_json(tree, rel)
        except (ValueError, UnicodeDecodeError) as err:
            loaded.notes.append(f"{rel}: unreadable JSON ({str(err)[:120]}), skipped")
            continue
        if doc is None:
            continue
        problem = metrics_problem(doc, "phase" in doc["metrics"][0])
        if problem:
            loaded.notes.append(f"{rel}: {problem}, skipped")
            continue
        if "phase" in doc["metrics"][0]:
            m = _WORKER_METRICS.search(rel)
            training.append((int(m.group(1) or 0) if m else 0, doc))
        else:
            evaluation.append((eval_stream(Path(rel).stem), doc))
    loaded.metrics = metrics_frame(training) if training else None
    loaded.eval_metrics = eval_metrics_frame(evaluation) if evaluation else None


_SIM_LOGS = r"(^|/)logs/training/[^/]+-(robomaker|simulation)\.log$"
_SAGEMAKER_LOGS = r"(^|/)logs/training/[^/]+-(sagemaker|training)\.log$"


def _tree(det: Detected, loaded: Loaded) -> None:
    tree = det.tree
    try:
        if det.kind == "drtui-run":
            _drtui_run(tree, loaded)
        _tree_metrics(tree, loaded)
        steps = _tree_simtraces(tree, r"training-simtrace(-\d+)?/\d+-iteration\.csv$")
        logs = tree.match(_SIM_LOGS) or tree.match(r"(^|/)logs/trainer\.log$")
        for rel in logs[:1]:  # metadata (world, episodes per iteration), and steps if no CSV
            with tree.open(rel) as fh:
                if steps is None:
                    steps = _log_steps(fh, loaded)
                else:
                    epi, world = _log_meta(fh.read(META_BYTES))
                    loaded.world = loaded.world or world
                    loaded.episodes_per_iteration = loaded.episodes_per_iteration or epi
                    fh.seek(0)
                    steps = _with_log_only_episodes(steps, fh, rel, loaded)
            if rel.endswith("trainer.log"):
                with tree.open(rel) as fh:
                    _training_log(fh, loaded, rel)
        for rel in tree.match(_SAGEMAKER_LOGS)[:1]:  # Training> episodes, policy loss, entropy
            with tree.open(rel) as fh:
                _training_log(fh, loaded, rel)
        loaded.steps = None if steps is None else unique_episodes(steps)
        _note_iterations_without_steps(loaded)
        loaded.eval_steps = _tree_eval_simtraces(tree)
    finally:
        tree.close()


def _with_log_only_episodes(steps, fh, rel: str, loaded: Loaded):
    """The simtrace CSVs' steps plus the episodes only the simulation log holds (an iteration
    whose CSV is missing, the episodes after the last upload), with a note naming them."""
    import pandas as pd

    log = _log_steps(fh, Loaded(loaded.kind, loaded.path,
                                episodes_per_iteration=loaded.episodes_per_iteration))
    if log.empty:
        return steps
    have = set(zip(steps["worker"], steps["episode"]))
    extra = log[[k not in have for k in zip(log["worker"], log["episode"])]]
    if extra.empty:
        return steps
    its = sorted(int(i) for i in extra["iteration"].unique())
    loaded.notes.append(f"{rel}: {extra['episode'].nunique()} episodes of iteration(s) "
                        f"{_ranges(its)} are in this log but in no simtrace CSV: read from the log")
    return pd.concat([steps, extra], ignore_index=True)


def _note_iterations_without_steps(loaded: Loaded) -> None:
    """Iterations a training log has episodes for that no step trace holds: named in a note,
    since the step tables cannot show them (their Training> lines have no progress)."""
    eps = loaded.log_episodes
    if eps is None or not loaded.has_steps:
        return
    tr = eps[eps["phase"] == "training"]
    missing = sorted(set(int(i) for i in tr["iteration"]) - set(int(i) for i in
                                                                  loaded.steps["iteration"]))
    if missing:
        n = int(tr["iteration"].isin(missing).sum())
        names = ", ".join(loaded.log_names) or "the training log"
        loaded.notes.append(f"{names}: iteration(s) {_ranges(missing)} ({n} episodes) have no "
                            "step trace (no simtrace CSV, not in the simulation log): only "
                            "their Training> rewards are known")


def _ranges(values: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(out)


def _drtui_run(tree: Tree, loaded: Loaded) -> None:
    if "session.toml" in tree.files:
        import tomllib

        with tree.open("session.toml") as fh:
            try:
                session = tomllib.load(fh)
            except tomllib.TOMLDecodeError:
                session = {}
        track, hp = session.get("track"), session.get("hyperparameters")
        world = track.get("world") if isinstance(track, dict) else None
        loaded.world = world if isinstance(world, str) else None
        route = track.get("route") if isinstance(track, dict) else None
        if isinstance(route, str) and route in tree.files and tree.root.is_dir():
            loaded.world = str(tree.root / route)  # the run's own route.npy: its pictures
        epi = hp.get("num_episodes_between_training") if isinstance(hp, dict) else None
        loaded.episodes_per_iteration = int(epi) if isinstance(epi, int) else None
    if "logs/trainer.log" in tree.files:
        with tree.open("logs/trainer.log") as fh:
            head = fh.read(64 << 10).decode("utf-8", errors="replace")
        if (m := protocol.TRAINER_HEADER.search(head)) and int(m.group(1)) > 1 \
                and m.group(2) != "every car":
            cars = int(m.group(1))
            loaded.notes.append(
                f"the simtrace holds car 0 of the run's {cars} cars (drtui's trainer traces "
                f"one car; the monitor and TensorBoard count all {cars}): episodes, steps and "
                "laps here are car 0's")


def guess_world(track_len: float) -> str | None:
    """The shipped track whose centre line is `track_len` long (logs print it to 0.01 m)."""
    import numpy as np

    from drtui.catalog.tracks import load_waypoints, worlds_with_waypoints

    best, best_err = None, 0.05
    for world in sorted(worlds_with_waypoints(), key=lambda w: (w.endswith("_cw"), w)):
        c = load_waypoints(world)[:, :2]
        err = abs(float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum()) - track_len)
        if err < best_err:
            best, best_err = world, err
    return best


# -- entry point -------------------------------------------------------------------------------

def load(path: str | Path, world: str | None = None) -> Loaded:
    """Detect and load `path`. InvalidInput (exit 2) for anything that is not a DeepRacer log."""
    det = detect(path)
    loaded = Loaded(det.kind, det.path, world=world, world_given=world is not None)
    if det.kind == "simtrace-csv":
        steps = simtrace.read_csv(det.path)
        steps["iteration"] = iteration_of("training-simtrace/" + det.path.name) or 0
        loaded.steps = unique_episodes(steps)
    elif det.kind == "simulation-log":
        with open(det.path, "rb") as fh:
            loaded.steps = unique_episodes(_log_steps(fh, loaded))
    elif det.kind == "training-log":
        with open(det.path, "rb") as fh:
            _training_log(fh, loaded)
        if loaded.log_episodes is None:
            raise InvalidInput([f"{det.path}: no Training> episodes in this log"])
    elif det.kind in ("training-metrics", "evaluation-metrics"):
        doc = json.loads(det.path.read_bytes())
        problem = metrics_problem(doc, det.kind == "training-metrics")
        if problem:
            raise InvalidInput([f"{det.path}: {problem}"])
        if det.kind == "training-metrics":
            m = _WORKER_METRICS.search(det.path.name)
            loaded.metrics = metrics_frame([(int(m.group(1) or 0) if m else 0, doc)])
        else:
            loaded.eval_metrics = eval_metrics_frame([(det.path.stem, doc)])
    else:
        _tree(det, loaded)
    if loaded.world is None and loaded.has_steps:
        loaded.world = guess_world(float(loaded.steps["track_len"].iloc[0]))
    if loaded.garbled:
        loaded.notes.append(f"{loaded.garbled} of {loaded.trace_lines} SIM_TRACE_LOG lines "
                            "were garbled and skipped")
    return loaded
