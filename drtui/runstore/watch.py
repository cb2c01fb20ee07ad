"""Follow a run: its log lines -> events, appended to events.jsonl, with the log offset saved
after each batch so that a restarted drtui (or a new SSH connection) continues exactly where
the last one stopped: no line lost, none repeated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from drtui.backends.base import Host
from drtui.events import Event, Status
from drtui.logs.parser import LogParser
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
    offset = int(run.state.get("log_offset", 0))
    if offset:
        await _replay(host, path, offset, parser)
    events_file = open(run.events_path, "a", encoding="utf-8") if record else None
    try:
        while True:
            chunk = await host.read_from(path, offset)
            batch: list[Event] = []
            for line in chunk.lines:
                batch.extend(parser.feed(line))
            if events_file is not None and batch:
                events_file.write("".join(json.dumps(e.to_json()) + "\n" for e in batch))
                events_file.flush()
            if chunk.offset != offset:
                offset = chunk.offset
                run.update(log_offset=offset, iteration=parser.iteration)
            for event in batch:
                yield event
            if not chunk.lines:
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
    yield Status(run.reload().status, "log ended")
