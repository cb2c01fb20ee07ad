"""A tiny trained run shared by the research tests: reinvent_base, camera + lidar, 4 cars, a
48x36 internal camera, 4 episodes per iteration, no teacher warm start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from tiny_session import FAST
from tiny_session import tiny_session as _tiny


def tiny_session(name: str = "research-test", iterations: int = 1):
    return _tiny(name, iterations)


def create_run(workspace: Path, session):
    from drtui.files import render
    from drtui.runstore import store

    return store.create(workspace, session, render.render(session), provider="local",
                        runner="embedded")


def train(run, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """The trainer as the embedded runner starts it, to the end (its iteration limit)."""
    with open(run.log_path, "ab") as log:
        proc = subprocess.run([sys.executable, "-m", "drtui.train", str(run.path), *args],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, **FAST}, timeout=timeout)
    assert proc.returncode == 0, run.log_path.read_text()[-3000:]
    return proc
