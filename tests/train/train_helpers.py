"""Shared by the trainer tests: the trainer run to its end in this process."""

from __future__ import annotations

import io
import os
import signal

import pytest

torch = pytest.importorskip("torch")

from tiny_session import FAST  # noqa: E402  (the fast trainer settings, shared)


def train_in_process(run_path, **settings: str) -> str:
    """Train the run to its iteration limit in this process with FAST settings (DRTUI_* keyword
    arguments override them); its log. The trainer's signal handlers and torch's thread count
    are put back afterwards."""
    from drtui.train.trainer import Trainer

    out = io.StringIO()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    threads = torch.get_num_threads()
    try:
        code = Trainer(run_path, out=out, env={**os.environ, **FAST, **settings}).run()
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
        torch.set_num_threads(threads)
    assert code == 0, out.getvalue()[-2000:]
    return out.getvalue()
