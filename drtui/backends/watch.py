"""Follow a run: its log lines -> events, appended to events.jsonl, with the log offset saved
after each batch so that a restarted drtui (or a new SSH connection) continues exactly where
the last one stopped: no line lost, none repeated.

One follower of a run records (events.jsonl, the offset): it holds RUN_DIR/follower.lock.
Any other follower at the same time only reads: the same events, nothing written twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

from drtui.backends.base import Host
from drtui.events import Event, LogLine, Status
from drtui.logs.parser import LogParser
from drtui.runstore import owner
from drtui.runstore.store import Run


async def _replay(host: Host, path: str, upto: int, parser: LogParser) -> None:
    """Rebuild the parser's state (iteration counters) from the lines already consumed."""
    offset = 0
    while offset < upto:
        chunk = await host.read_from(path, offset, limit=min(1 << 22, upto - offset))
        if not chunk.lines:
            break
        for line in chunk.lines:
            parser.feed(line)
        offset = chunk.offset


async def follow(run: Run, host: Host, *, alive, poll: float = 0.25,
                 log_path: str | None = None, record: bool = True,
                 emit_steps: bool = True, parser=None) -> AsyncIterator[Event]:
    """Events of a run from its saved offset until `alive()` is false and the log is drained.

    alive: an async callable telling whether the training process still runs.
    parser: a fresh parser for the runner's log (Runner.log_parser); a LogParser by default.
    """
    path = log_path or str(run.log_path)
    parser = parser or LogParser(source=run.state.get("runner", ""), emit_steps=emit_steps)
    recorder = await _take_recording(run) if record else None
    if recorder is not None:
        run.reload()  # the offset where the last recorder stopped, maybe moments ago
    if record and recorder is None:
        record = False
        yield LogLine("another drtui is following this run and records its events; this one "
                      "only reads", level="info", source="drtui")
    offset, note = await _start_offset(run, host, path, record)
    if note:
        yield LogLine(note, level="warning", source="drtui")
    if offset:
        await _replay(host, path, offset, parser)
    events_file = (open(run.events_path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
                   if record else None)
    try:
        while True:
            chunk = await host.read_from(path, offset)
            batch: list[Event] = []
            for line in chunk.lines:
                batch.extend(parser.feed(line))
            if events_file is not None and batch:
                events_file.write("".join(json.dumps(e.to_json()) + "\n" for e in batch))
                events_file.flush()
            moved = chunk.offset != offset
            if moved:
                offset = chunk.offset
                if record:
                    run.update(log_offset=offset, iteration=parser.iteration)
            for event in batch:
                yield event
            if not chunk.lines and not moved:  # (moved without lines: an overlong line skipped)
                if not await alive():
                    # one last read: the process may have written its final lines as it ended
                    final = await host.read_from(path, offset)
                    if not final.lines:
                        break
                    continue
                await asyncio.sleep(poll)
    finally:
        if events_file is not None:
            events_file.close()
        if recorder is not None:
            os.close(recorder)
    yield Status(run.reload().status, "log ended")


async def _take_recording(run: Run, wait: float = 1.0) -> int | None:
    """The follower lock's fd, or None when another follower keeps it (a follower that was
    just dropped lets go within moments: wait that long)."""
    deadline = time.monotonic() + wait
    while (fd := owner.try_lock(run.path / owner.FOLLOWER_LOCK)) is None:
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.05)
    return fd


async def _start_offset(run: Run, host: Host, path: str, record: bool
                        ) -> tuple[int, str | None]:
    """The saved log offset, checked: not a whole number from 0, or past the log's end (the
    log was replaced): the follow starts over from 0 at once, saying so, and the events
    recorded from the old offset are kept aside in events.jsonl.before-<time>."""
    raw = run.state.get("log_offset", 0)
    offset = raw if isinstance(raw, int) and not isinstance(raw, bool) else -1
    size = await host.size(path) if offset > 0 else None
    if offset >= 0 and (size is None or offset <= size):
        return offset, None
    why = (f"is past the end of the log ({size} bytes)" if offset > 0 else
           "is not a byte offset (a whole number from 0)")
    kept = ""
    if not record:
        return 0, f"state.json: log_offset {raw!r} {why}: reading the log from its start"
    if run.events_path.exists():
        aside = run.events_path.with_name(f"events.jsonl.before-{int(time.time())}")
        os.replace(run.events_path, aside)
        kept = f"; the events recorded before are kept in {aside.name}"
    run.update(log_offset=0, iteration=0)
    return 0, f"state.json: log_offset {raw!r} {why}: following the log from its start{kept}"
