"""What a follower recorded (events.jsonl) read back by `runs attach` (headless) and by the
monitor (the run model): an ended run's clock stops, killed included, and lines that are torn,
not JSON objects or not text are skipped, never a crash."""

from __future__ import annotations

import json

from drtui.events import IterationEnd, Status, event_from_line
from drtui.files import render
from drtui.headless import Progress, fold_recorded
from drtui.runstore import store
from drtui.session.starter import starter
from drtui.widgets.run_model import RunModel, load_history


def _run(tmp_path, status: str):
    session = starter("recorded")
    run = store.create(tmp_path, session, render.render(session), provider="local",
                       runner="embedded", now=1.0e9)
    run.update(status=status, started=1.0e9, ended=1.0e9 + 90)
    lines = [json.dumps(IterationEnd(it, 4, 1.0, 0.0, 20.0, 1.0, 0.0, None).to_json())
             for it in (1, 2)]
    lines[1:1] = ['["a", "list"]', '{"event": "Status", "state": "running", "mess']
    run.events_path.write_text("\n".join(lines) + "\n")
    return run


def test_a_killed_runs_clock_stops_where_it_ended(tmp_path):
    run = _run(tmp_path, "killed")
    progress = fold_recorded(run, Progress(started=1.0e9))
    assert progress.status == "killed" and progress.ended == 1.0e9 + 90
    assert progress.elapsed() == 90 and progress.eta_s() is None
    assert progress.iteration == 2


def test_the_monitor_skips_what_is_not_an_event_and_text_that_is_not_utf8(tmp_path):
    run = _run(tmp_path, "finished")
    with open(run.events_path, "ab") as fh:
        fh.write(b"\x80\x81 not text\n")
    model = RunModel(run.id)
    load_history(run, model)
    assert model.iterations == [1, 2]


def test_one_line_decoder_for_both():
    assert event_from_line('{"event": "Status", "state": "failed"}') == Status("failed")
    for raw in ('["a"]', '{"event": "Nope"}', '{"event": "Status", "sta', "\ufffd\ufffd", "7"):
        assert event_from_line(raw) is None
