from __future__ import annotations

import pytest

pytest.importorskip("torch")

from research_helpers import create_run, tiny_session, train  # noqa: E402


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("research-ws")
    run = create_run(workspace, tiny_session())
    train(run)
    return run
