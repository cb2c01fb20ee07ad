"""Every input kind is detected and loaded; garbled trace lines are counted and skipped; any
other file is refused with exit 2 and the list of what was expected."""

from __future__ import annotations

import json

import pytest
from analysis_helpers import (
    CONSOLE_EVAL_LOG,
    DRFC_CSV,
    DROA_CSV,
    DROA_LOG,
    EVAL_METRICS,
    LOGS,
    SAGEMAKER_LOG,
    SIMTRACE,
    TRAINING_METRICS,
)

from drtui.analysis.detect import detect
from drtui.analysis.load import load
from drtui.cli import main

CONTINUOUS_CSV = SIMTRACE / "droa-continuous-training-0-iteration-first2episodes.csv"


def _rows(path) -> int:
    return len(path.read_text().splitlines()) - 1


@pytest.mark.parametrize("path, kind, steps", [
    (DRFC_CSV, "simtrace-csv", 529),  # 17 columns
    (DROA_CSV, "simtrace-csv", 53),  # 19 columns
    (CONTINUOUS_CSV, "simtrace-csv", 41),  # [steer speed] actions
    (DROA_LOG, "simulation-log", 53),  # ROS 2 prefixes
    (CONSOLE_EVAL_LOG, "simulation-log", 247),
    (LOGS / "sim-trace-log-lines-mixed-formats.txt", "simulation-log", 12),
], ids=["csv17", "csv19", "csv-continuous", "droa-log", "console-log", "mixed-lines"])
def test_trace_files(path, kind, steps):
    loaded = load(path)
    assert loaded.kind == kind and len(loaded.steps) == steps and loaded.garbled == 0
    if path.suffix == ".csv":
        assert steps == _rows(path)


def test_mixed_formats_keep_their_order_and_values():
    df = load(LOGS / "sim-trace-log-lines-mixed-formats.txt").steps
    lines = [ln.split("SIM_TRACE_LOG:")[1].split(",")
             for ln in (LOGS / "sim-trace-log-lines-mixed-formats.txt").read_text().splitlines()]
    # sorted by episode and step within each log's records, as deepracer-utils sorts them
    assert sorted(df["x"].tolist()) == sorted(float(f[2]) for f in lines)
    cont = df[df["action"] == -1]  # continuous: action -1, values in steering/speed columns
    assert len(cont) == sum(f[7].startswith("[") for f in lines)
    assert set(cont["steering_angle"]) == {-25.0, 4.99}


def test_continuous_csv_actions():
    df = load(CONTINUOUS_CSV).steps
    assert (df["action"] == -1).all() and df["steering_angle"].iloc[0] == -25.0


def test_garbled_lines_are_counted_and_skipped(tmp_path):
    good = DROA_LOG.read_text().splitlines()
    trace = [ln for ln in good if "SIM_TRACE_LOG:" in ln]
    bad = [
        trace[3][: len(trace[3]) // 2],  # cut short
        trace[4].replace(",False,", ",Flase,", 1),  # not a boolean
        trace[5].replace("SIM_TRACE_LOG:0,", "SIM_TRACE_LOG:zero,", 1),  # not a number
        "SIM_TRACE_LOG:" + trace[6].split("SIM_TRACE_LOG:")[1] + trace[7],  # two glued
    ]
    path = tmp_path / "robomaker.log"
    path.write_text("\n".join(good + bad) + "\n")
    loaded = load(path)
    assert loaded.garbled == 4 and loaded.trace_lines == len(trace) + 4
    assert len(loaded.steps) == len(trace)
    assert "4 of" in loaded.notes[0]


def test_a_long_and_a_short_line_whose_commas_cancel_out(tmp_path):
    """The fast path trusts a block whose comma count is lines x (fields - 1): one line with a
    fields too many and one with as many too few add up to that, and must still be found."""
    good = DROA_LOG.read_text().splitlines()
    trace = [ln for ln in good if "SIM_TRACE_LOG:" in ln]
    long_line = trace[10] + ",0,0,0"  # 22 and 16 fields: no format has either
    short_line = trace[11].rsplit(",", 3)[0]
    path = tmp_path / "robomaker.log"
    path.write_text("\n".join(trace[:10] + [long_line, short_line] + trace[12:]) + "\n")
    loaded = load(path)
    assert loaded.garbled == 2 and len(loaded.steps) == len(trace) - 2
    assert loaded.steps["steps"].tolist() == load(DROA_LOG).steps["steps"].drop([10, 11]).tolist()


def test_training_log_episodes_and_iterations():
    loaded = load(SAGEMAKER_LOG)
    assert loaded.kind == "training-log" and loaded.steps is None
    text = SAGEMAKER_LOG.read_text()
    assert len(loaded.log_episodes[loaded.log_episodes["phase"] == "training"]) == \
        text.count("Training> Name=")
    assert loaded.iteration_events and loaded.iteration_events[0].iteration == 0
    assert loaded.iteration_events[0].policy_loss is not None


def test_metrics_files():
    tm = load(TRAINING_METRICS)
    assert tm.kind == "training-metrics"
    raw = json.loads(TRAINING_METRICS.read_text())["metrics"]
    assert len(tm.metrics) == len(raw)
    ev = load(EVAL_METRICS)
    assert ev.kind == "evaluation-metrics" and len(ev.eval_metrics) == 3
    assert ev.eval_metrics["time"].tolist() == [14.792, 13.801, 14.731]


@pytest.mark.parametrize("name, kind, steps, world", [
    ("drfc-single", "drfc-model", 2 * 529, "reinvent_base"),
    ("drfc-multi", "drfc-model", 529 + 53, "reinvent_base"),
    ("droa-folder", "droa-logs", 53, "Spain_track"),
    ("droa-archive", "droa-logs", 53, "Spain_track"),
    ("console-folder", "console-logs", 53, "Spain_track"),
    ("console-archive", "console-logs", 53, "Spain_track"),
])
def test_folders_and_archives(layouts, name, kind, steps, world):
    loaded = load(layouts[name])
    assert detect(layouts[name]).kind == kind
    assert loaded.kind == kind and len(loaded.steps) == steps and loaded.world == world


def test_drfc_folder_parts(layouts):
    single = load(layouts["drfc-single"])
    assert sorted(single.steps["iteration"].unique()) == [0, 1]
    assert single.steps["unique_episode"].nunique() == 40
    assert single.eval_metrics is not None and len(single.metrics) > 0
    multi = load(layouts["drfc-multi"])
    assert sorted(multi.steps["worker"].unique()) == [0, 1]
    assert sorted(multi.metrics["worker"].unique()) == [0, 1]
    assert multi.steps["unique_episode"].nunique() == 20 + 3


def test_drtui_run_folder(sim_run):
    loaded = load(sim_run)
    assert loaded.kind == "drtui-run" and loaded.world == "reinvent_base"
    rows = sum(_rows(p) for p in (sim_run / "metrics" / "training-simtrace").iterdir())
    assert len(loaded.steps) == rows == 240
    assert sorted(loaded.steps["iteration"].unique()) == [0, 1]
    assert len(loaded.metrics) == len(json.loads(
        (sim_run / "metrics" / "TrainingMetrics.json").read_text())["metrics"])


@pytest.mark.parametrize("content", [
    b"[project]\nname = 'x'\n",  # TOML
    b'{"metrics": 3}',  # JSON, not metrics
    b"\x89PNG\r\n\x1a\n\x00\x00binary",
    b"",
], ids=["toml", "json", "binary", "empty"])
def test_non_logs_exit_2(tmp_path, capsys, content):
    path = tmp_path / "thing.log"
    path.write_bytes(content)
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not a DeepRacer log" in err and "expected one of" in err and "simtrace CSV" in err


def test_folder_without_logs_and_missing_path_exit_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no DeepRacer logs found" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse's own refusal, also exit 2
        main(["analyze", str(DRFC_CSV), "--sections", "0"])
    assert exc.value.code == 2
    assert "--sections must be at least 1" in capsys.readouterr().err


def test_streaming_blocks_give_the_same_steps():
    """Blocks of any size (lines cut at block ends are completed) parse to the same table."""
    from drtui.analysis import simtrace

    whole = simtrace.parse_log(DROA_LOG).frame
    small = simtrace.parse_blocks(simtrace.read_blocks(DROA_LOG, block_bytes=997)).frame
    assert small.equals(whole) and len(whole) == 53


def test_metrics_without_a_needed_field_exit_2_naming_it(tmp_path, capsys):
    """A metrics JSON missing a field the tables read: exit 2 naming the entry and the field
    (alone), or skipped with a note (in a folder)."""
    raw = json.loads(TRAINING_METRICS.read_text())
    del raw["metrics"][1]["elapsed_time_in_milliseconds"]
    path = tmp_path / "TrainingMetrics.json"
    path.write_text(json.dumps(raw))
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err
    assert "metrics[1]: missing elapsed_time_in_milliseconds" in err and "Traceback" not in err
    folder = tmp_path / "model"
    (folder / "metrics").mkdir(parents=True)
    (folder / "training-simtrace").mkdir()
    (folder / "metrics" / "TrainingMetrics.json").write_text(json.dumps(raw))
    (folder / "training-simtrace" / "0-iteration.csv").write_bytes(DRFC_CSV.read_bytes())
    loaded = load(folder)
    assert loaded.metrics is None and len(loaded.steps) == 529
    assert any("metrics[1]: missing elapsed_time_in_milliseconds, skipped" in n
               for n in loaded.notes)


def test_a_simtrace_csv_row_with_too_many_fields_is_skipped(tmp_path, capsys):
    head, *rows = DRFC_CSV.read_text().splitlines()
    path = tmp_path / "0-iteration.csv"
    path.write_text("\n".join([head, *rows[:4], ",".join(["1"] * 21), *rows[4:], ""]))
    assert len(load(path).steps) == len(rows)
    broken = tmp_path / "broken.csv"  # an unclosed quote: nothing to read
    broken.write_text("\n".join([head, rows[0], '1,"2,3', ""]))
    assert main(["analyze", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.csv: not a readable simtrace CSV" in err and "Traceback" not in err
