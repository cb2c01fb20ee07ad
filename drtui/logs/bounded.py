"""Bounds on what a trainer writes to its log, so a chatty or runaway reward function cannot
fill the disk or stall the followers.

- every line is cut at LINE_MAX bytes and marked (a follower never waits for a newline that is
  megabytes away);
- `CappedLog`: trainer.log stops taking chatter (SIM_TRACE_LOG, reward prints, warnings) once
  it holds DRTUI_LOG_MAX_MB, but lines that carry events (episodes, policy updates,
  checkpoints, evaluations, errors, drtui's own `## ` lines) are always written: the monitor,
  analysis and resume lose nothing they need;
- `RewardOutput`: what the reward function prints, at most STEP_LINES lines a simulator step
  and RUN_BYTES in the whole run; the excess is counted and reported in one line per
  iteration (`summary()`), never written.
"""

from __future__ import annotations

import io
from typing import TextIO

LINE_MAX = 64 * 1024
CUT_MARK = " [drtui: line cut, {n} bytes long]"
DEFAULT_LOG_MAX_MB = 256
STEP_LINES = 20
RUN_BYTES = 1 << 20
# lines the parser turns into events (drtui.logs.parser): never dropped by the cap
EVENT_PREFIXES = ("Training>", "Testing>", "Policy training>", "Checkpoint>", "## ",
                  "[BestModelSelection]", "ERROR", "Resuming from checkpoint", "DROA_")


def cut(line: str, limit: int = LINE_MAX, total: int | None = None) -> str:
    """The line, cut to `limit` bytes of UTF-8 and marked when longer (`total`: its whole
    length in bytes when only its head is given)."""
    if total is None and len(line) * 4 <= limit:  # fast path: cannot be over the limit
        return line
    data = line.encode("utf-8", errors="replace")
    total = max(total or 0, len(data))
    if total <= limit:
        return line
    return data[:limit].decode("utf-8", errors="ignore") + CUT_MARK.format(n=total)


def _size(line: str) -> int:
    return len(line) if line.isascii() else len(line.encode("utf-8", errors="replace"))


class _LineWriter(io.TextIOBase):
    """A text stream that hands complete lines to `_line`, each cut at LINE_MAX bytes. A
    partial line waits for its newline holding only its head: an endless line costs no
    memory."""

    def __init__(self) -> None:
        self._head, self._total = "", 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pieces = text.split("\n")
        for i, piece in enumerate(pieces):
            if len(self._head) < LINE_MAX:
                self._head += piece[:LINE_MAX - len(self._head)]
            self._total += _size(piece)
            if i < len(pieces) - 1:  # a newline ended this line
                line, total = self._head, self._total
                self._head, self._total = "", 0
                self._line(cut(line, LINE_MAX, total))
        return len(text)

    def flush_partial(self) -> None:
        if self._total:
            self.write("\n")

    def _line(self, line: str) -> None:
        raise NotImplementedError


class CappedLog(_LineWriter):
    """trainer.log with a size cap that drops chatter but keeps event lines."""

    def __init__(self, stream: TextIO, max_bytes: int):
        super().__init__()
        self.stream, self.max_bytes = stream, max_bytes
        self.written = 0
        self.dropped_lines = self.dropped_bytes = 0

    def _line(self, line: str) -> None:
        size = _size(line) + 1
        if self.written + size > self.max_bytes and not line.startswith(EVENT_PREFIXES):
            if not self.dropped_lines:
                self._emit(f"## drtui: trainer.log reached its cap of "
                           f"{self.max_bytes / (1 << 20):g} MiB (DRTUI_LOG_MAX_MB): from here "
                           "only event lines are written (episodes, updates, checkpoints, "
                           "evaluations, errors); the rest is counted")
            self.dropped_lines += 1
            self.dropped_bytes += size
            return
        self._emit(line)

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.written += _size(line) + 1

    def flush(self) -> None:
        self.stream.flush()

    def summary(self) -> str | None:
        if not self.dropped_lines:
            return None
        return (f"## drtui: {self.dropped_lines} lines ({self.dropped_bytes} bytes) over "
                "trainer.log's cap were not written")


class RewardOutput(_LineWriter):
    """sys.stdout and sys.stderr while the reward function runs in the trainer: its prints
    go to the log, capped per step and per run, the excess counted."""

    def __init__(self, log: TextIO, *, step_lines: int = STEP_LINES,
                 run_bytes: int = RUN_BYTES):
        super().__init__()
        self.log, self.step_lines, self.run_bytes = log, step_lines, run_bytes
        self.step_count = 0
        self.run_written = 0
        self.over_lines = self.over_bytes = 0  # since the last summary
        self.total_over = 0

    def next_step(self) -> None:
        self.step_count = 0

    def _line(self, line: str) -> None:
        size = _size(line) + 1
        if self.step_count >= self.step_lines or self.run_written + size > self.run_bytes:
            self.over_lines += 1
            self.over_bytes += size
            self.total_over += 1
            return
        self.step_count += 1
        self.run_written += size
        self.log.write(line + "\n")

    def flush(self) -> None:
        self.log.flush()

    def summary(self) -> str | None:
        """One line counting what was not written since the last call (None: nothing)."""
        if not self.over_lines:
            return None
        line = (f"## drtui: reward_function output: {self.over_lines} lines "
                f"({self.over_bytes} bytes) over its caps ({self.step_lines} lines a step, "
                f"{self.run_bytes / (1 << 20):g} MiB a run) not written")
        self.over_lines = self.over_bytes = 0
        return line
