"""A live training log that keeps up with thousands of lines a second.

Lines pushed in are only queued; a 10 Hz timer writes each batch in one go (Textual's Log
renders only the visible rows, so a batch costs about a list extend). The view keeps the
newest MAX_LINES lines, and the queue never holds more than that either, so a burst costs no
more than a screenful of work. Each line is coloured by its level and kind, and errors and
warnings also carry a ✗ / ! mark, so nothing relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

MAX_LINES = 5000
FLUSH_S = 0.1

# (prefix, style): the DeepRacer line kinds, first match wins
KIND_STYLES = (
    ("✗ ", "bold red"),
    ("! ", "yellow"),
    ("Training>", "green"),
    ("Testing>", "blue"),
    ("Policy training>", "cyan"),
    ("Checkpoint>", "bold magenta"),
    ("## agent:", "bold blue"),
    ("[BestModelSelection]", "bold blue"),
    ("SIM_TRACE_LOG", "dim"),
)
MARKS = {"error": "✗ ", "warning": "! "}


class KindHighlighter(Highlighter):
    def highlight(self, text: Text) -> None:
        plain = text.plain
        for prefix, style in KIND_STYLES:
            if plain.startswith(prefix):
                text.stylize(style)
                return


def mark(text: str, level: str) -> str:
    """The line as shown: errors and warnings start with their mark."""
    return MARKS.get(level, "") + text


class LogView(Log):
    DEFAULT_CSS = """
    LogView { height: 1fr; min-height: 3; }
    """

    def __init__(self, *, max_lines: int = MAX_LINES, flush_s: float = FLUSH_S, **kwargs) -> None:
        super().__init__(highlight=True, max_lines=max_lines, **kwargs)
        self.highlighter = KindHighlighter()
        self.flush_s = flush_s
        self._pending: list[str] = []
        self.received = 0  # lines pushed
        self.written = 0  # lines that reached the view (the rest were older than its cap)
        self.batches = 0  # writes to the view

    def on_mount(self) -> None:
        self.set_interval(self.flush_s, self.flush, name="log-flush")

    def push(self, line: str) -> None:
        self._pending.append(line)
        self.received += 1
        if len(self._pending) > 2 * self.max_lines:  # drop what the cap would drop anyway
            del self._pending[: len(self._pending) - self.max_lines]

    def push_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.push(line)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        if not self._pending:
            return
        batch = self._pending[-self.max_lines:]
        self._pending = []
        self.write_lines(batch)
        self.written += len(batch)
        self.batches += 1
