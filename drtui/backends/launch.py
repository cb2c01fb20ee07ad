"""Start, follow, stop and resume runs: the one place that ties a session, the run store and
a backend together. The headless CLI and the TUI both call these.

The lifecycle (see drtui/backends/base.py): start acquires a host (a failed launch releases
what was created); events follows the log until the training process ends, then concludes
the run: the runner collects its files into the run folder and the provider releases the
machine (a cloud instance is terminated). stop = runner.stop (the model is saved first),
then conclude. attach, stop and is_alive never create a machine (acquire(create=False)), and
a run already concluded is replayed from its local files without touching any host.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from drtui.backends.base import Host, HostGone, HostUnreachable, Provider, Runner
from drtui.errors import DrtuiError
from drtui.events import Cost, Event, LogLine, Status
from drtui.runstore import owner, store
from drtui.runstore.store import ACTIVE, Run

COST_EVERY_S = 15.0
RECONNECT_FOR_S = 600.0  # keep trying to reach a host this long before giving up following
RECONNECT_DELAY_S = 2.0


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


class RunUnusable(DrtuiError):
    """The run's state cannot be acted on (damaged state.json, or a trainer already on it)."""

    exit_code = 2


def _backend(run: Run) -> tuple[Provider, Runner]:
    if run.status == "damaged":
        raise RunUnusable(run.state.get("error") or f"{run.path / 'state.json'}: damaged")
    provider, runner = run.state.get("provider"), run.state.get("runner")
    if not isinstance(provider, str) or not isinstance(runner, str):
        raise RunUnusable(f"{run.path / 'state.json'}: provider and runner must be names "
                          f"(strings); found {provider!r} and {runner!r}")
    return backend_for(provider, runner)


def create_run(workspace: Path, session_path: Path, *,
               warn: Callable[[list], None] | None = None,
               changes: dict[str, Any] | None = None) -> Run:
    """Check the session (with `changes` to its keys, for this run only), render its files
    and make the run folder; `warn` is given the check's warnings, if any."""
    from drtui.files import render
    from drtui.session import check

    # the one check (the runner's own rules and the reward run included), before a run
    # folder is made
    session, warnings = check.load(session_path, changes=changes)
    if warn is not None and warnings:
        warn(warnings)
    files = render.render(session, base_dir=Path(session_path).parent, check=False)
    backend_for(session.backend.provider, session.backend.runner)  # refuses an unlaunchable one
    return store.create(workspace, session, files, provider=session.backend.provider,
                        runner=session.backend.runner, base_dir=Path(session_path).parent)


async def start(run: Run, *, resume: bool = False) -> Host:
    """Acquire a host and launch training on it. If anything fails, the run is marked
    failed and whatever acquire created is released."""
    provider, runner = _backend(run)
    async with _run_lock(run, owner.LAUNCH_LOCK):  # one launch of a run at a time
        await _refuse_if_training(run, provider, runner)
        host = None
        try:
            host = await provider.acquire(run)
            run.update(released=False)
            await runner.launch(run, host, resume=resume)
        except BaseException as err:
            run.update(status="failed", error=str(err) or type(err).__name__, ended=time.time())
            try:
                await provider.release(run)
            finally:
                if host is not None:
                    await host.close()
            raise
    return host


async def _refuse_if_training(run: Run, provider: Provider, runner: Runner) -> None:
    """Two launches (two `run --resume`, a resume beside a live trainer) never start two
    trainers on one folder: the second is refused, naming the live one, and the run's state
    is left as the live trainer wrote it."""
    run.reload()
    why = owner.busy(run.path, run.state)
    if why is None and run.status in ACTIVE and not run.state.get("released") and \
            run.state.get("provider") != "local":
        try:
            host = await provider.acquire(run, create=False)
        except HostGone:
            host = None
        if host is not None:
            try:
                if await runner.alive(run, host):
                    why = f"run {run.id} is still training on {host.name}"
            finally:
                await host.close()
    if why:
        raise RunUnusable(f"{why}; `drtui runs attach {run.id}` follows it")


async def events(run: Run, host: Host | None = None, *, poll: float = 0.25,
                 emit_steps: bool = True, cost_every: float = COST_EVERY_S
                 ) -> AsyncIterator[Event]:
    """The run's events from its saved log offset until the training process ends; then the
    run is concluded (files collected, machine released) before the last Status. While the
    provider charges by the hour, a Cost event comes first and then every `cost_every` s.
    The stream owns `host` and closes it when it ends."""
    provider, runner = _backend(run)
    if run.state.get("released"):  # concluded: its files are here, its machine gone
        from drtui.backends.local import LocalHost

        if host is not None:
            await host.close()
        async for event in _follow(run, LocalHost(), str(run.log_path), _dead, poll,
                                   emit_steps, runner):
            yield event
        return
    try:
        host = host or await provider.acquire(run, create=False)
    except HostGone as gone:
        yield _gone(run, gone)
        return
    per_hour = provider.hourly_cost(run)

    async def alive() -> bool:
        return await runner.alive(run, host)

    stream = _follow(run, host, runner.log_path(run), alive, poll, emit_steps, runner)
    if per_hour > 0:
        stream = _with_cost(stream, run, per_hour, cost_every)
    try:
        async for event in stream:
            if isinstance(event, Status) and event.message == "log ended":
                await conclude(run, host)
                event = Status(run.reload().status, event.message)
            yield event
    finally:
        await stream.aclose()  # before the host goes: the cost pump must not read from it
        await host.close()


async def stop(run: Run, *, grace: float = 30.0, finish: bool = True) -> None:
    """Stop a run: the trainer saves its model and exits; then (finish) conclude it.
    finish=False when a follower in this process concludes the run as its log ends."""
    if run.state.get("released"):
        return  # it ended and its machine is gone
    provider, runner = _backend(run)
    try:
        host = await provider.acquire(run, create=False)
    except HostGone as gone:
        _gone(run, gone)
        return
    try:
        await runner.stop(run, host, grace=grace)
        if finish:
            await conclude(run, host)
    finally:
        await host.close()


async def is_alive(run: Run) -> bool:
    if run.state.get("released"):
        return False
    provider, runner = _backend(run)
    try:
        host = await provider.acquire(run, create=False)
    except HostGone:
        return False
    try:
        return await runner.alive(run, host)
    finally:
        await host.close()


async def conclude(run: Run, host: Host) -> None:
    """After training ended: collect its files and release the machine, once, even when a
    follower and a stop (in this process or another) get there together."""
    provider, runner = _backend(run)
    async with _run_lock(run):
        if run.reload().state.get("released"):
            return
        await runner.collect(run, host)
        await provider.release(run)
        run.update(released=True)


# -- helpers ---------------------------------------------------------------------------------

async def _dead() -> bool:
    return False


def _gone(run: Run, gone: HostGone) -> Status:
    if run.status in ACTIVE:
        run.update(status="failed", error=str(gone), ended=time.time())
    return Status(run.status, str(gone))


async def _follow(run: Run, host: Host, log_path: str, alive, poll: float,
                  emit_steps: bool, runner: Runner | None = None) -> AsyncIterator[Event]:
    """watch.follow, picked up again from the saved offset when the host drops: the saved
    offset and the replayed parser make the events go on with no gap and no repeat."""
    from drtui.backends.watch import follow

    lost_since = None
    while True:
        try:
            parser = runner.log_parser(run, emit_steps=emit_steps) if runner else None
            async for event in follow(run, host, alive=alive, poll=poll, log_path=log_path,
                                      emit_steps=emit_steps, parser=parser):
                lost_since = None
                yield event
            return
        except (HostUnreachable, OSError) as err:
            if isinstance(err, TimeoutError):
                raise
            now = time.monotonic()
            lost_since = lost_since or now
            if now - lost_since > RECONNECT_FOR_S:
                raise
            yield LogLine(f"lost the connection to {host.name} ({err}); reconnecting "
                          "(training goes on there)", level="warning", source="drtui")
            await asyncio.sleep(RECONNECT_DELAY_S)


def cost_of(run: Run, per_hour: float) -> Cost:
    started = run.state.get("started") or run.state.get("created") or time.time()
    hours = max(0.0, time.time() - float(started)) / 3600.0
    return Cost(round(hours * per_hour, 6), per_hour)


async def _with_cost(stream: AsyncIterator[Event], run: Run, per_hour: float,
                     every: float) -> AsyncIterator[Event]:
    """The stream's events with a Cost event now and every `every` seconds, quiet log or
    not: the stream is read by a task into a queue."""
    done = object()
    queue: asyncio.Queue = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        try:
            async for event in stream:
                await queue.put(event)
        except Exception as err:  # noqa: BLE001 - handed to the reader, raised there
            await queue.put(err)
            return
        await queue.put(done)

    task = asyncio.create_task(pump())
    try:
        next_cost = time.monotonic()
        while True:
            if time.monotonic() >= next_cost:
                yield cost_of(run, per_hour)
                next_cost = time.monotonic() + every
            try:
                item = await asyncio.wait_for(queue.get(),
                                              max(0.0, next_cost - time.monotonic()))
            except TimeoutError:
                continue
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item
            if isinstance(item, Status) and item.message == "log ended":
                return  # the last word: no cost after it
    finally:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - already reported
            pass


@asynccontextmanager
async def _run_lock(run: Run, name: str = "backend.lock"):
    """An exclusive lock on the run's backend work across processes (flock, polled so the
    event loop keeps running)."""
    import fcntl

    with open(run.path / name, "a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
