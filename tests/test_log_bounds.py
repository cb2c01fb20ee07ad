"""Bounded logs and a trainer that user code cannot wedge: a 2 MB line never blocks a
follower, a printing reward leaves trainer.log bounded with its excess counted, a looping
reward ends at the time limit, a reward that exits ends the run as failed, and a bad saved
log offset is handled at once. Real trainer processes under their supervisor."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_session import FAST, tiny_session

from drtui.backends.local import LocalHost, read_lines_from
from drtui.backends.watch import follow
from drtui.events import Checkpoint, IterationEnd, LogLine, Status
from drtui.files import render
from drtui.logs.bounded import LINE_MAX, CappedLog, RewardOutput
from drtui.logs.parser import parse_lines
from drtui.runstore import owner, store
from drtui.session.starter import starter

LOG = Path(__file__).parent / "data" / "logs" / "console-sagemaker-training-excerpt.log"
_PROCS: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap():
    yield
    while _PROCS:
        proc = _PROCS.pop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def make_run(tmp_path: Path, *, reward: str | None = None, iterations: int = 1000,
             minutes: int | None = None) -> store.Run:
    s = tiny_session("bounds", iterations)
    if minutes is not None:
        s.training.time_limit_minutes = minutes
    files = render.render(s)
    if reward is not None:
        files["custom_files/reward_function.py"] = reward
    return store.create(tmp_path, s, files, provider="local", runner="embedded")


def start(run: store.Run, **env: str) -> subprocess.Popen:
    with open(run.log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "drtui.train", str(run.path)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **FAST, **env}, start_new_session=True)
    _PROCS.append(proc)
    return proc


def test_a_line_longer_than_a_read_is_cut_marked_and_skipped(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"first\n" + b"x" * (2 << 20) + b"\nafter one\nafter two\n")
    lines, offset, reads = [], 0, 0
    while offset < path.stat().st_size:
        chunk = read_lines_from(path, offset)
        assert chunk.offset > offset  # every read moves on: nothing waits for a newline
        lines += chunk.lines
        offset, reads = chunk.offset, reads + 1
    assert lines[0] == "first" and lines[-2:] == ["after one", "after two"]
    assert len(lines) == 4
    cut = [ln for ln in lines if "line cut" in ln]
    assert len(cut) == 1 and cut[0].startswith("x" * 1000) and len(cut[0]) < LINE_MAX + 100
    assert reads <= 4


def test_a_negative_offset_is_refused_at_once(tmp_path):
    (tmp_path / "log").write_text("a\n")
    with pytest.raises(ValueError, match="from 0"):
        read_lines_from(tmp_path / "log", -5)


def test_capped_log_keeps_event_lines_and_counts_the_rest():
    sink = io.StringIO()
    log = CappedLog(sink, 2000)
    for i in range(200):
        log.write(f"SIM_TRACE_LOG:{i},chatter chatter chatter\n")
        if i % 50 == 0:
            log.write(f"Checkpoint> Saving in path=['./checkpoint/agent/{i}_Step-{i}.ckpt']\n")
    log.write("y" * (3 * LINE_MAX) + "\n")
    text = sink.getvalue()
    assert len(text) < 2000 + 500
    assert text.count("Checkpoint> Saving") == 4  # every event line, past the cap too
    assert text.count("reached its cap") == 1
    assert "lines (" in log.summary() and log.dropped_lines > 150


def test_reward_output_caps_each_step_and_the_run():
    sink = io.StringIO()
    out = RewardOutput(sink, step_lines=3, run_bytes=1000)
    for step in range(50):
        out.next_step()
        for k in range(10):
            print(f"step {step} line {k}", file=out)
    out.write("z" * (LINE_MAX * 3))  # an endless line held as its head only
    out.flush_partial()
    written = sink.getvalue().splitlines()
    assert all(int(ln.split()[3]) < 3 for ln in written if ln.startswith("step"))
    assert len(sink.getvalue()) <= 1000
    assert "over its caps" in out.summary() and out.summary() is None  # counted once


async def test_a_follower_stays_live_past_a_2mb_line(tmp_path):
    run = store.create(tmp_path, starter("long-line"), render.render(starter("long-line")),
                       provider="local", runner="embedded")
    code = ("import sys, time\nsys.stdout.write('before\\n' + 'L' * (2 << 20) + '\\n')\n"
            "sys.stdout.flush(); time.sleep(0.5)\n"
            "for i in range(50): sys.stdout.write(f'after {i}\\n')\n")
    host = LocalHost()
    pid = await host.start_detached([sys.executable, "-c", code], log_path=str(run.log_path))

    async def alive() -> bool:
        return await host.is_running(pid)

    events = await asyncio.wait_for(
        asyncio.gather(_collect(follow(run, host, alive=alive, poll=0.02))), 60)
    texts = [e.text for e in events[0] if isinstance(e, LogLine)]
    assert texts[0] == "before" and texts[-1] == "after 49" and len(texts) == 52
    assert "line cut" in texts[1] and len(texts[1]) < LINE_MAX + 100
    assert store.load(run.path).state["log_offset"] == run.log_path.stat().st_size


async def _collect(stream):
    return [e async for e in stream]


@pytest.mark.parametrize("offset", [-5, "12", 10 ** 9])
async def test_a_bad_saved_offset_is_handled_at_once(tmp_path, offset):
    run = store.create(tmp_path, starter("offset"), render.render(starter("offset")),
                       provider="local", runner="embedded")
    run.log_path.write_text(LOG.read_text())
    run.events_path.write_text('{"event": "LogLine", "text": "earlier"}\n')
    run.update(log_offset=offset)

    async def dead() -> bool:
        return False

    t0 = time.monotonic()
    events = await asyncio.wait_for(_collect(follow(run, LocalHost(), alive=dead)), 30)
    assert time.monotonic() - t0 < 10
    assert "log_offset" in events[0].text and events[0].level == "warning"
    expected = parse_lines(LOG.read_text().splitlines(), source="embedded")
    assert [e.to_json() for e in events[1:-1]] == [e.to_json() for e in expected]
    aside = list(tmp_path.glob("runs/*/events.jsonl.before-*"))
    assert len(aside) == 1 and "earlier" in aside[0].read_text()  # kept, not lost


PRINTING_REWARD = '''
def reward_function(params):
    if params["steps"] == 2:
        print("B" * (2 << 20))  # a 2 MB line
    for i in range(30):
        print("reward says", params["steps"], i)
    return 1.0
'''


async def test_a_printing_reward_leaves_followers_live_and_the_log_bounded(tmp_path):
    run = make_run(tmp_path, reward=PRINTING_REWARD, iterations=2)
    proc = start(run, DRTUI_LOG_MAX_MB="1")
    host = LocalHost()

    async def alive() -> bool:
        return proc.poll() is None

    events = await asyncio.wait_for(_collect(follow(run, host, alive=alive, poll=0.1)), 300)
    assert proc.wait(30) == 0, run.log_path.read_text()[-3000:]
    text = run.log_path.read_text()
    size = run.log_path.stat().st_size
    assert size < 2.5 * (1 << 20), size  # the 1 MiB cap plus event lines
    assert "reward_function output:" in text and "not written" in text
    assert "B" * 1000 in text and "line cut" in text
    assert [e.iteration for e in events if isinstance(e, IterationEnd)] == [1, 2]
    assert sum(isinstance(e, Checkpoint) for e in events) == 3
    assert isinstance(events[-1], Status) and store.load(run.path).status == "finished"
    assert run.events_path.stat().st_size < 4 * (1 << 20)


LOOPING_REWARD = '''
def reward_function(params):
    while params["steps"] > 5:
        pass
    return 1.0
'''


@pytest.mark.slow  # the shortest time limit is a minute
def test_a_looping_reward_ends_at_the_time_limit(tmp_path):
    run = make_run(tmp_path, reward=LOOPING_REWARD, minutes=1)
    t0 = time.monotonic()
    proc = start(run, DRTUI_LIMIT_GRACE_S="3")
    assert proc.wait(150) == 1
    took = time.monotonic() - t0
    assert 55 < took < 120, took
    state = store.load(run.path).state
    assert state["status"] == "failed" and "time limit (1 min)" in state["error"]
    assert owner.holder(run.path) is None  # the worker is gone too
    assert not owner.same_process(state["worker_pid"], owner.start_time(state["worker_pid"]))


@pytest.mark.parametrize("how, said", [("import os; os._exit(7)", "exited with code 7"),
                                       ("raise SystemExit(4)", "called exit(4)"),
                                       ("import sys; sys.exit()", "called exit(None)")])
def test_a_reward_that_exits_fails_the_run(tmp_path, how, said):
    reward = f"def reward_function(params):\n    if params['steps'] > 3:\n        {how}\n" \
             "    return 1.0\n"
    run = make_run(tmp_path, reward=reward)
    proc = start(run)
    assert proc.wait(120) != 0
    state = store.load(run.path).state
    assert state["status"] == "failed" and said in state["error"], state
    assert owner.holder(run.path) is None
