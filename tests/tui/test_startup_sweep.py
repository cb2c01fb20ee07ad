"""The studio's start-up sweep: a workspace whose runs used a cloud provider is checked for
machines that no active run owns, and the user is warned; a workspace that never used a
cloud asks none (no provider's sweep is called)."""

from __future__ import annotations

import time

import pytest
from tui_helpers import make_app

from drtui.backends.sweep import Orphan
from drtui.runstore import store
from drtui.session.providers import ProviderSpec, register, unregister

CALLS: list[str] = []


class FakeCloud:
    """A provider whose sweep reports one running and one stopped machine."""

    async def sweep(self, workspace):
        CALLS.append(str(workspace))
        return [Orphan("fake-cloud", "i-0123", "eu-west-1", "running", "", "old-run", 1.5),
                Orphan("fake-cloud", "i-0456", "eu-west-1", "stopped", "", "", None)]


@pytest.fixture
def fake_cloud():
    """FakeCloud registered as a provider (a descriptor), for this test only."""
    register(ProviderSpec("fake-cloud", "A cloud of the sweep tests.", ("embedded",),
                          f"{__name__}:FakeCloud"))
    try:
        yield
    finally:
        unregister("fake-cloud")


def _run_with_provider(workspace, provider: str) -> None:
    from drtui.files import render
    from drtui.session.starter import starter

    s = starter("sweep-test")
    store.create(workspace, s, render.render(s), provider=provider, runner="embedded")


async def _notes(app, pilot, seconds: float = 60.0) -> list:
    """The notifications once the sweep worker (started at mount) has finished."""
    await pilot.pause(0.1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [w for w in app.workers if w.group == "sweep" and not w.is_finished]:
            break
        await pilot.pause(0.1)
    await pilot.pause(0.2)
    return list(app._notifications)


async def test_a_running_orphan_is_announced_at_start(workspace, fake_cloud):
    CALLS.clear()
    _run_with_provider(workspace, "fake-cloud")
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        notes = await _notes(app, pilot)
    assert CALLS == [str(workspace)]
    warned = [n for n in notes if "still running with no active run" in n.title]
    assert len(warned) == 1 and warned[0].title.startswith("! 1 cloud machine ")
    assert "fake-cloud i-0123 (running, $1.50/h, run old-run)" in warned[0].message
    assert "i-0456" not in warned[0].message  # stopped: not billing for compute
    assert "drtui runs sweep --terminate" in warned[0].message


async def test_a_workspace_that_never_used_a_cloud_asks_none(workspace, fake_cloud):
    CALLS.clear()
    _run_with_provider(workspace, "local")
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        notes = await _notes(app, pilot)
    assert CALLS == []
    assert not [n for n in notes if "still running" in n.title]
