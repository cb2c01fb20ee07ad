"""Every run file drtui reads, corrupted every way we could think of, fed to every command that
reads it: each answer is a clean exit (0, or 1/2 with a message naming the file), never an
internal error, never a hang, and the corrupt file is left as it was (no lost data).

The run is a real one, trained in this process for one iteration; each case works on a copy."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import tarfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from tiny_session import tiny_session  # noqa: E402
from train_helpers import train_in_process  # noqa: E402

from drtui.cli import main  # noqa: E402
from drtui.files import render  # noqa: E402
from drtui.runstore import store  # noqa: E402

HANG_S = 60

JSON_SHAPES = {
    "empty": b"",
    "list": b"[1, 2, 3]",
    "null": b"null",
    "string": b'"hello"',
    "number": b"12",
    "truncated": b'{"a": [1, 2',
    "binary": bytes(range(256)) * 4,
    "nested-lists": b'{"metrics": [[1], [2]], "best_checkpoint": [], "last_checkpoint": 5}',
    "bad-entries": b'{"metrics": [{"episode": "x", "trial": 0, "phase": 3, "reward_score": [], '
                   b'"completion_percentage": null, "episode_status": 1, '
                   b'"elapsed_time_in_milliseconds": true}], "best_checkpoint": {"name": 5}, '
                   b'"last_checkpoint": {"iteration": "x"}, "action_space": [{"speed": "f"}], '
                   b'"sensor": [7], "batch_size": "many"}',
    "wrong-types": b'{"status": 7, "provider": ["local"], "runner": {}, "pid": -1, '
                   b'"log_offset": -9, "metrics": {"x": 1}, "action_space": 3, '
                   b'"sensor": "LIDAR", "neural_network": 5, "version": []}',
}

# file in the run -> the commands that read it
READERS = {
    "state.json": ["runs list", "runs attach", "runs stop", "runs clean", "resume", "evaluate",
                   "export", "analyze"],
    "checkpoints/deepracer_checkpoints.json": ["evaluate", "export", "analyze", "resume"],
    "metrics/TrainingMetrics.json": ["analyze", "resume"],
    "files/custom_files/model_metadata.json": ["export", "import", "analyze"],
    "files/custom_files/hyperparameters.json": ["import", "analyze"],
    "checkpoints/last.pt": ["evaluate-last", "export-last", "resume"],
    "checkpoints/best.pt": ["evaluate", "export"],
    "events.jsonl": ["runs list", "runs attach", "analyze"],
}
CHECKPOINT_SHAPES = {
    "empty": b"",
    "truncated": None,  # the real file's first third
    "random": os.urandom(5000),
    "json": b'{"format": 1}',
    "torch-wrong": None,  # a real torch file of the wrong shape (_torch_wrong)
}


def _torch_wrong() -> bytes:
    buf = io.BytesIO()
    torch.save({"format": 1, "build": {"network": 5, "obs_spec": [1]}, "policy": {"w": 1},
                "iteration": "x", "name": 3, "rng": [], "algorithm": {}}, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("fuzz")
    s = tiny_session("fuzz", iterations=1)
    run = store.create(workspace, s, render.render(s), provider="local", runner="embedded")
    train_in_process(run.path)
    run.update(status="finished", released=True)
    return run.path


class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang


def drtui(*args: str) -> tuple[int, str]:
    """The command in this process: its exit code and output; an internal error (any
    exception but SystemExit from argparse) or a hang fails the test."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    except Hang:
        pytest.fail(f"drtui {' '.join(args)} hung for {HANG_S} s")
    except SystemExit as exit_:
        code = exit_.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    return code, text


def _argv(command: str, workspace: Path, run: Path, out: Path) -> list[str]:
    ws = ["--workspace", str(workspace)]
    return {
        "runs list": ws + ["runs", "list", "--json"],
        "runs attach": ws + ["runs", "attach", run.name, "--json"],
        "runs stop": ws + ["runs", "stop", run.name, "--grace", "1"],
        "runs clean": ws + ["runs", "clean"],
        "resume": ws + ["run", "--resume", run.name, "--detach"],
        "evaluate": ws + ["evaluate", str(run), "--laps", "1", "--json"],
        "evaluate-last": ws + ["evaluate", str(run), "--laps", "1", "--checkpoint", "last",
                               "--json"],
        "export": ws + ["export", str(run), "-o", str(out)],
        "export-last": ws + ["export", str(run), "-o", str(out), "--checkpoint", "last"],
        "analyze": ws + ["analyze", str(run), "--json"],
        "import": ws + ["import", str(run / "files"), "-o", str(out / "imported.toml")],
    }[command]


def _cases():
    for rel, commands in READERS.items():
        shapes = CHECKPOINT_SHAPES if rel.endswith(".pt") else JSON_SHAPES
        for shape in shapes:
            for command in commands:
                yield pytest.param(rel, shape, command, id=f"{rel}-{shape}-{command}")


@pytest.mark.parametrize("rel, shape, command", list(_cases()))
def test_a_corrupt_run_file_gets_a_message(trained, tmp_path, rel, shape, command):
    workspace = tmp_path / "ws"
    run = workspace / "runs" / trained.name
    shutil.copytree(trained, run, ignore=shutil.ignore_patterns("*.lock"))
    target = run / rel
    data = (CHECKPOINT_SHAPES if rel.endswith(".pt") else JSON_SHAPES)[shape]
    if data is None:
        data = _torch_wrong() if shape == "torch-wrong" else \
            target.read_bytes()[: target.stat().st_size // 3]
    if rel == "events.jsonl":  # a journal: garbage between good lines
        good = b'{"event": "LogLine", "level": "info", "source": "embedded", "text": "x"}\n'
        data = good + data + b"\n" + b'{"event": "LogLine"}\n' + good
    target.write_bytes(data)
    os.environ.update({"DRTUI_CARS": "2", "DRTUI_TEACHER": "off", "DRTUI_THREADS": "1",
                       "DRTUI_CAMERA_SIZE": "48x36"})
    code, text = drtui(*_argv(command, workspace, run, tmp_path / "out"))
    assert code in (0, 1, 2), (code, text)
    if code:
        assert text.strip(), "a failure says why"
    if command == "runs clean" and not run.exists():
        return  # a run named or ended is cleaned: its removal is what was asked
    if command == "resume" and code == 0:
        _stop_trainer(run)
    # the corrupt file is left for the user to see, or (a trainer that rewrites it) kept
    # beside it as <name>.damaged-<time>
    kept = [p.read_bytes() for p in target.parent.glob(target.name + ".damaged-*")]
    assert target.read_bytes() == data or data in kept


def _stop_trainer(run: Path) -> None:
    import asyncio

    from drtui.backends import launch

    asyncio.run(launch.stop(store.load(run), grace=30))


def test_analyze_refuses_a_fifo_and_files_that_are_not_regular(tmp_path):
    fifo = tmp_path / "trace.csv"
    os.mkfifo(fifo)
    code, text = drtui("analyze", str(fifo))
    assert code == 2 and "not a regular file" in text
    folder = tmp_path / "model"
    (folder / "metrics").mkdir(parents=True)
    os.mkfifo(folder / "metrics" / "TrainingMetrics.json")
    code, text = drtui("analyze", str(folder))
    assert code in (0, 2) and "Traceback" not in text


def test_an_archive_member_over_the_limit_is_refused_without_reading_it(tmp_path):
    """A small .tar.gz holding a huge member (zeros compress 1000:1): refused by its size
    before a byte of it is read, so memory stays small."""
    import resource

    archive = tmp_path / "logs.tar.gz"

    class Zeros(io.RawIOBase):
        def __init__(self, n):
            self.left = n

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    size = 2 << 30
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("logs/training-simtrace/0-iteration.csv")
        info.size = size
        tar.addfile(info, io.BufferedReader(Zeros(size), 1 << 20))
    assert archive.stat().st_size < 20 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, text = drtui("analyze", str(archive))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert code == 2 and "0-iteration.csv" in text and "limit" in text, text
    assert grown_mb < 500, grown_mb


def test_import_refuses_symlinks_out_of_the_folder(tmp_path, trained):
    folder = tmp_path / "drfc"
    shutil.copytree(trained / "files", folder)
    reward = folder / "custom_files" / "reward_function.py"
    secret = tmp_path / "secret.py"
    secret.write_text("def reward_function(params):\n    return 42.0  # not yours\n")
    reward.unlink()
    reward.symlink_to(secret)
    code, text = drtui("import", str(folder), "-o", str(tmp_path / "s.toml"))
    assert code == 2 and "reward_function.py" in text and "outside" in text, text
    assert not (tmp_path / "s.toml").exists()
