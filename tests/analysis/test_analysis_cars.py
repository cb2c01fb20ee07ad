"""Analysis of a drtui run says whose simtrace it reads: the trainer traces car 0 of its
parallel cars, while the monitor and TensorBoard count every car's episodes."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from drtui.analysis.load import load
from drtui.logs import protocol

RECORDED = Path(__file__).parents[1] / "tui" / "data" / "recorded-run.log.gz"  # 4 cars


def _run(tmp_path: Path, log: str) -> Path:
    run = tmp_path / "recorded-20261205-055311"
    (run / "logs").mkdir(parents=True)
    (run / "logs" / "trainer.log").write_text(log)
    (run / "state.json").write_text('{"status": "finished"}')
    (run / "session.toml").write_text('[track]\nworld = "reinvent_base"\n')
    return run


def test_a_run_of_four_cars_says_its_simtrace_is_car_0s(tmp_path):
    with gzip.open(RECORDED, "rt") as fh:
        log = fh.read()
    loaded = load(_run(tmp_path, log))
    said = [n for n in loaded.notes if "simtrace holds car 0" in n]
    assert said == ["the simtrace holds car 0 of the run's 4 cars (drtui's trainer traces one "
                    "car; the monitor and TensorBoard count all 4): episodes, steps and laps "
                    "here are car 0's"]
    assert set(loaded.steps["worker"]) == {0}


def test_a_run_that_traced_every_car_or_drove_one_says_nothing(tmp_path):
    with gzip.open(RECORDED, "rt") as fh:
        log = fh.read()
    first = log.splitlines()[0]
    for header in (protocol.trainer_header_line("r", "reinvent_base", 4, True, "48x36", "cpu",
                                                1, 7),
                   protocol.trainer_header_line("r", "reinvent_base", 1, False, "48x36", "cpu",
                                                1, 7)):
        shutil.rmtree(tmp_path, ignore_errors=True)
        tmp_path.mkdir()
        loaded = load(_run(tmp_path, log.replace(first, header, 1)))
        assert not [n for n in loaded.notes if "simtrace holds" in n], header


def test_the_header_line_reads_back():
    line = protocol.trainer_header_line("r-1", "Spain_track", 8, False, "80x60", "cpu", 2, 3)
    m = protocol.TRAINER_HEADER.search(line)
    assert (m.group(1), m.group(2)) == ("8", "car 0")
