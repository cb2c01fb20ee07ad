"""The simulator's logs in DeepRacer's formats (deepracer-simapp markov/metrics/s3_metrics.py),
so drtui's log parser, monitor and analysis read an embedded run like a real one:

- `SimTraceLog`: one `SIM_TRACE_LOG:` line per car and step (19 fields, simapp 6's printf);
- `SimTraceCsv`: `<iteration>-iteration.csv` files, the same record with Python `str` values;
- `TrainingMetrics`: TrainingMetrics.json, rewritten after every episode;
- `write_episode_png`: the track with a car's path;
- `RunLogs`: all of them for a running simulator, in DeepRacer's folder layout.

Each car of a batch plays the part of one DeepRacer worker: its episodes count on their own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from drtui.sim.episode import STATUS_LABELS, STATUS_NAMES

SIM_TRACE_FORMAT = ("SIM_TRACE_LOG:%d,%d,%.4f,%.4f,%.4f,%.2f,%.2f,%s,%.4f,%s,%s,%.4f,%d,%.2f,"
                    "%s,%s,%.2f,%d,%.4f")
SIMTRACE_COLUMNS = ("episode", "steps", "X", "Y", "yaw", "steer", "throttle", "action", "reward",
                    "done", "all_wheels_on_track", "progress", "closest_waypoint", "track_len",
                    "tstamp", "episode_status", "pause_duration", "obstacle_crash_counter",
                    "wall_clock")
METRICS_VERSION = 2.0


def step_rows(record, cars: Iterable[int] | None = None) -> list[tuple]:
    """The 19 simtrace values of each selected car for one StepRecord, in column order."""
    r = record
    cols = (r.episode.tolist(), r.steps.tolist(), r.x.double().tolist(), r.y.double().tolist(),
            r.yaw_deg.double().tolist(), r.steer.double().tolist(), r.throttle.double().tolist(),
            r.action, r.reward.double().tolist(), r.done.tolist(),
            r.all_wheels_on_track.tolist(), r.progress.double().tolist(),
            r.closest_waypoint.tolist(), r.tstamp.tolist(), r.status.tolist())
    picked = range(len(cols[0])) if cars is None else cars
    # one track length, or one per car (multi-task: drtui.sim.multi)
    lengths = r.track_length if isinstance(r.track_length, list) else [r.track_length] * len(
        cols[0])
    return [(cols[0][i], float(cols[1][i]), cols[2][i], cols[3][i], cols[4][i], cols[5][i],
             cols[6][i], cols[7][i], cols[8][i], cols[9][i], cols[10][i], cols[11][i],
             cols[12][i], lengths[i], cols[13][i], STATUS_NAMES[cols[14][i]], 0.0, 0,
             r.wall_clock) for i in picked]


def sim_trace_line(row: tuple) -> str:
    """A SIM_TRACE_LOG line from one step_rows() row."""
    return SIM_TRACE_FORMAT % row


class SimTraceLog:
    """Writes SIM_TRACE_LOG lines to a text stream (stdout in DeepRacer)."""

    def __init__(self, stream: TextIO, cars: Iterable[int] | None = None):
        self.stream = stream
        self.cars = None if cars is None else list(cars)

    def write(self, record) -> None:
        rows = step_rows(record, self.cars)
        self.stream.write("".join(sim_trace_line(row) + "\n" for row in rows))


class SimTraceCsv:
    """Writes `<folder>/<iteration>-iteration.csv` simtrace files (one per training iteration)."""

    def __init__(self, folder: str | os.PathLike, cars: Iterable[int] | None = None):
        self.folder = Path(folder)
        self.cars = None if cars is None else list(cars)
        self._fh: TextIO | None = None
        self.path: Path | None = None

    def start_iteration(self, iteration: int) -> Path:
        self.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{iteration}-iteration.csv"
        # kept open across steps (closed by close() / the context manager)
        self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._fh.write(",".join(SIMTRACE_COLUMNS) + "\n")
        return self.path

    def write(self, record) -> None:
        if self._fh is None:
            self.start_iteration(0)
        self._fh.write("".join(",".join(str(v) for v in row) + "\n"
                               for row in step_rows(record, self.cars)))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SimTraceCsv:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TrainingMetrics:
    """TrainingMetrics.json of one worker (car), rewritten after every episode."""

    def __init__(self, path: str | os.PathLike, best_model_metric: str = "progress"):
        self.path = Path(path)
        self.best_model_metric = best_model_metric
        self.metrics: list[dict] = []
        self.episodes = 0  # training episodes so far (simapp counts from 1)
        self.trial = 0  # episodes in the current iteration

    def start_iteration(self) -> None:
        self.trial = 0

    def add(self, end, phase: str = "training") -> dict:
        """Record an EpisodeEnd and rewrite the file."""
        if phase == "training":
            self.episodes += 1
            self.trial += 1
        label = STATUS_LABELS[STATUS_NAMES.index(end.status)]
        entry = {
            "reward_score": round(end.reward),
            "metric_time": round(end.end_time * 1000),
            "start_time": round(end.start_time * 1000),
            "elapsed_time_in_milliseconds": round((end.end_time - end.start_time) * 1000),
            "episode": self.episodes,
            "trial": self.trial,
            "phase": phase,
            "completion_percentage": int(end.progress),
            "episode_status": label,
        }
        self.metrics.append(entry)
        self.write()
        return entry

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"metrics": self.metrics, "version": METRICS_VERSION,
                                   "best_model_metric": self.best_model_metric}), encoding="utf-8")
        tmp.replace(self.path)


def metrics_file_name(worker: int) -> str:
    """TrainingMetrics.json for worker 0, TrainingMetrics_<n>.json for the others."""
    return "TrainingMetrics.json" if worker == 0 else f"TrainingMetrics_{worker}.json"


class RunLogs:
    """Everything DeepRacer writes while it trains, for a DeepRacerSim, in an S3-like folder:

        <folder>/training-simtrace/<k>-iteration.csv     car 0 (car i: training-simtrace-<i>/)
        <folder>/metrics/TrainingMetrics.json            car 0 (car i: TrainingMetrics_<i>.json)
        <folder>/episodes/car<i>-episode<e>.png          with pictures=True (record_paths on)

    and SIM_TRACE_LOG lines of the `trace_cars` (default: car 0, like one worker's log) on
    `stream`. Call `step(info)` after every sim.step and `start_iteration(k)` at iteration
    boundaries (a trainer's business: DeepRacer's is every num_episodes_between_training).
    """

    def __init__(self, sim, folder: str | os.PathLike, stream: TextIO | None = None,
                 trace_cars: Iterable[int] = (0,), pictures: bool = False,
                 best_model_metric: str = "progress"):
        self.sim, self.folder = sim, Path(folder)
        self.log = SimTraceLog(stream, trace_cars) if stream is not None else None
        self.csvs = [SimTraceCsv(self.folder / ("training-simtrace" + (f"-{i}" if i else "")), [i])
                     for i in range(sim.n)]
        self.metrics = [TrainingMetrics(self.folder / "metrics" / metrics_file_name(i),
                                        best_model_metric) for i in range(sim.n)]
        self.pictures = pictures
        self.start_iteration(0)

    def start_iteration(self, iteration: int) -> None:
        for csv_file, metrics in zip(self.csvs, self.metrics):
            csv_file.start_iteration(iteration)
            metrics.start_iteration()

    def step(self, info: dict) -> None:
        record = self.sim.last
        if self.log is not None:
            self.log.write(record)
        for csv_file in self.csvs:
            csv_file.write(record)
        for end in info.get("episodes", ()):
            self.metrics[end.car].add(end)
            if self.pictures and end.path:
                name = f"car{end.car}-episode{end.episode}.png"
                write_episode_png(self.folder / "episodes" / name, self.sim.track, end)

    def close(self) -> None:
        for csv_file in self.csvs:
            csv_file.close()


def write_episode_png(path: str | os.PathLike, track, end) -> Path:
    """The picture of an episode (EpisodeEnd recorded with record_paths) on its track."""
    from drtui.sim.png import episode_picture, write_png

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    route = track.route[::-1] if end.reversed else track.route
    return write_png(path, episode_picture(route, end.path or [], end.status))
