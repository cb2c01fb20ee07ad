"""Start, follow, stop and resume runs: the one place that ties a session, the run store and
a backend together. The headless CLI and the TUI both call these."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from drtui.backends.base import Host, Provider, Runner
from drtui.errors import DrtuiError
from drtui.events import Event
from drtui.runstore import store
from drtui.runstore.store import Run


class BackendUnavailable(DrtuiError):
    exit_code = 2


def backend_for(provider: str, runner: str) -> tuple[Provider, Runner]:
    """The provider and runner objects for a session's backend settings."""
    from drtui.backends import registry

    provider_cls = registry.provider_class(provider)
    runner_cls = registry.runner_class(provider, runner)
    if provider_cls is None or runner_cls is None:
        raise BackendUnavailable(
            f"backend {provider}/{runner} cannot launch runs in this version of drtui; "
            "`drtui generate` writes its files, and provider local with runner embedded "
            "trains here")
    return provider_cls(), runner_cls()


def create_run(workspace: Path, session_path: Path) -> Run:
    """Validate the session, render its files and make the run folder."""
    from drtui.files import render
    from drtui.session import store as sessions

    session = sessions.load(session_path)
    files = render.render(session, base_dir=Path(session_path).parent)
    backend_for(session.backend.provider, session.backend.runner)  # refuse before creating
    return store.create(workspace, session, files, provider=session.backend.provider,
                        runner=session.backend.runner)


async def start(run: Run, *, resume: bool = False) -> Host:
    provider, runner = backend_for(run.state["provider"], run.state["runner"])
    host = await provider.acquire(run)
    await runner.launch(run, host, resume=resume)
    return host


async def events(run: Run, host: Host | None = None, *, poll: float = 0.25,
                 emit_steps: bool = True) -> AsyncIterator[Event]:
    """The run's events from its saved log offset until the training process ends."""
    from drtui.runstore.watch import follow

    provider, runner = backend_for(run.state["provider"], run.state["runner"])
    host = host or await provider.acquire(run)

    async def alive() -> bool:
        return await runner.alive(run, host)

    async for event in follow(run, host, alive=alive, poll=poll, emit_steps=emit_steps):
        yield event


async def stop(run: Run, *, grace: float = 30.0) -> None:
    provider, runner = backend_for(run.state["provider"], run.state["runner"])
    host = await provider.acquire(run)
    await runner.stop(run, host, grace=grace)


async def is_alive(run: Run) -> bool:
    provider, runner = backend_for(run.state["provider"], run.state["runner"])
    return await runner.alive(run, await provider.acquire(run))
