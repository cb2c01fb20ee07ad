"""Logs in DeepRacer's formats, and the episode picture."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
from sim_helpers import sim_config

from drtui.sim.env import DeepRacerSim
from drtui.sim.logs import (
    SIMTRACE_COLUMNS,
    SimTraceCsv,
    SimTraceLog,
    TrainingMetrics,
    metrics_file_name,
    write_episode_png,
)
from drtui.sim.png import encode_png, read_png_header

LOGS = Path(__file__).parents[1] / "data" / "logs"
NUM = r"-?\d+"
# simapp 6: %d,%d,%.4f,%.4f,%.4f,%.2f,%.2f,%s,%.4f,%s,%s,%.4f,%d,%.2f,%s,%s,%.2f,%d,%.4f
LINE = re.compile(
    rf"^SIM_TRACE_LOG:{NUM},{NUM},{NUM}\.\d{{4}},{NUM}\.\d{{4}},{NUM}\.\d{{4}},{NUM}\.\d{{2}},"
    rf"{NUM}\.\d{{2}},(\d+|\[\S+ \S+\]),{NUM}\.\d{{4}},(True|False),(True|False),{NUM}\.\d{{4}},"
    rf"\d+,\d+\.\d{{2}},[0-9.e+-]+,[a-z_]+,{NUM}\.\d{{2}},\d+,\d+\.\d{{4}}$"
)


def run(oval, steps=40, **kw):
    sim = DeepRacerSim(sim_config(oval, num_cars=2, record_paths=True, **kw), lambda p: 0.5)
    sim.reset()
    records, ends = [], []
    for t in range(steps):
        n = len(sim.cfg.actions or ())
        _, _, _, _, info = sim.step([t % n, n - 1] if n else [[5.0, 1.0]] * 2)
        records.append(sim.last)
        ends += info["episodes"]
    return sim, records, ends


def test_sim_trace_log_lines_have_simapp_formats(oval):
    from drtui.logs.parser import parse_step

    sim, records, _ = run(oval, actions=((-30.0, 1.0), (0.0, 1.0), (30.0, 2.0)))
    out = io.StringIO()
    log = SimTraceLog(out)
    for r in records:
        log.write(r)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 * len(records)
    for line in lines:
        assert LINE.match(line), line
        assert len(line.split(":", 1)[1].split(",")) == 19
    first = parse_step(lines[0])
    assert (first.episode, first.steps, first.action, first.reward) == (0, 1, 0, 0.0)
    assert first.episode_status == "prepare" and first.track_len == round(sim.track.length, 2)
    assert first.x == round(float(records[0].x[0]), 4)


def test_continuous_actions_print_as_brackets(oval):
    _, records, _ = run(
        oval, steps=3, actions=None, steering_range=(-30.0, 30.0), speed_range=(0.5, 2.0)
    )
    out = io.StringIO()
    SimTraceLog(out, cars=[1]).write(records[-1])
    line = out.getvalue().strip()
    assert LINE.match(line) and ",[5.0 1.0]," in line


def test_simtrace_csv_per_iteration(oval, tmp_path):
    _, records, _ = run(oval, actions=((-30.0, 1.0), (0.0, 1.0), (30.0, 2.0)))
    with SimTraceCsv(tmp_path / "training-simtrace") as writer:
        for i, r in enumerate(records):
            if i in (0, 20):
                writer.start_iteration(i // 20)
            writer.write(r)
    for k in (0, 1):
        with open(tmp_path / "training-simtrace" / f"{k}-iteration.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert tuple(rows[0]) == SIMTRACE_COLUMNS and len(rows) == 40
    sample_header = (
        (
            Path(__file__).parents[1]
            / "data"
            / "simtrace"
            / "droa-training-0-iteration-first3episodes.csv"
        )
        .read_text()
        .splitlines()[0]
    )
    assert ",".join(SIMTRACE_COLUMNS) == sample_header
    row = rows[0]
    assert row["steps"].endswith(".0") and row["done"] in ("True", "False")
    assert float(row["X"]) == float(records[20].x[0])


def test_training_metrics_json(oval, tmp_path):
    _, _, ends = run(oval, steps=200, actions=((30.0, 2.0),))  # circles off the track
    assert len(ends) >= 2
    metrics = TrainingMetrics(tmp_path / "metrics" / metrics_file_name(0))
    for end in ends:
        if end.car == 0:
            metrics.add(end)
    data = json.loads((tmp_path / "metrics" / "TrainingMetrics.json").read_text())
    sample = json.loads((LOGS / "drfc-3workers-TrainingMetrics.json").read_text())
    assert set(data) == set(sample) and data["version"] == 2.0
    assert set(data["metrics"][0]) == set(sample["metrics"][0])
    first = data["metrics"][0]
    assert (first["episode"], first["trial"], first["phase"]) == (1, 1, "training")
    assert first["episode_status"] == "Off track" and isinstance(first["reward_score"], int)
    assert first["elapsed_time_in_milliseconds"] == first["metric_time"] - first["start_time"]
    assert metrics_file_name(2) == "TrainingMetrics_2.json"


def test_episode_png_is_a_valid_png(oval, tmp_path):
    sim, _, ends = run(oval, steps=200, actions=((30.0, 2.0),))
    end = ends[0]
    assert end.path and len(end.path) == end.steps
    path = write_episode_png(tmp_path / "episode.png", sim.track, end)
    data = path.read_bytes()
    header = read_png_header(data)
    assert header["bit_depth"] == 8 and header["colour_type"] == 2
    # walk the chunks: CRCs hold and IDAT inflates to height rows of 1 + 3 * width bytes
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == header["height"] * (1 + 3 * header["width"])
    pixels = (
        np.frombuffer(raw, np.uint8)
        .reshape(header["height"], -1)[:, 1:]
        .reshape(header["height"], header["width"], 3)
    )
    assert (pixels == (230, 60, 50)).all(-1).any()  # the off-track path is drawn in red


def test_grey_png_round_trip():
    img = (np.arange(12 * 7) % 256).astype(np.uint8).reshape(7, 12)
    data = encode_png(img)
    assert read_png_header(data) == {"width": 12, "height": 7, "bit_depth": 8, "colour_type": 0}
    raw = zlib.decompress(data[data.index(b"IDAT") + 4 :])
    assert np.array_equal(np.frombuffer(raw, np.uint8).reshape(7, 13)[:, 1:], img)


def test_run_logs_write_deepracer_layout(oval, tmp_path):
    from drtui.sim.logs import RunLogs

    sim = DeepRacerSim(
        sim_config(oval, num_cars=2, actions=((30.0, 2.0),), record_paths=True), lambda p: 1.0
    )
    sim.reset()
    out = io.StringIO()
    logs = RunLogs(sim, tmp_path, stream=out, pictures=True)
    for t in range(120):
        if t == 60:
            logs.start_iteration(1)
        _, _, _, _, info = sim.step([0, 0])
        logs.step(info)
    logs.close()
    assert len(out.getvalue().splitlines()) == 120  # car 0 only
    for folder in ("training-simtrace", "training-simtrace-1"):
        for k in (0, 1):
            rows = (tmp_path / folder / f"{k}-iteration.csv").read_text().splitlines()
            assert len(rows) == 61
    metrics = json.loads((tmp_path / "metrics" / "TrainingMetrics_1.json").read_text())["metrics"]
    assert (
        metrics and metrics[-1]["trial"] < metrics[-1]["episode"]
    )  # trial restarts each iteration
    assert min(p.name for p in (tmp_path / "episodes").iterdir()) == "car0-episode0.png"
