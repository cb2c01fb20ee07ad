"""A live training log that keeps up with thousands of lines a second.

Lines pushed in are only queued; a 10 Hz timer writes each batch in one go (Textual's Log
renders only the visible rows, so a batch costs about a list extend). The view keeps the
newest MAX_LINES lines, and the queue never holds more than that either, so a burst costs no
more than a screenful of work. Each line is coloured by its level and kind, and errors and
warnings also carry a ✗ / ! mark, so nothing relies on colour alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
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


WRAP_INDENT = "  "  # a wrapped line's continuation rows start with it


def wrap_line(line: str, width: int) -> list[str]:
    """A log line as rows of at most `width` cells: cut at the last space that leaves a
    row at least half full, else at the width; continuation rows are indented."""
    if width < 8 or cell_len(line) <= width:
        return [line]
    rows, rest, room = [], line, width
    while cell_len(rest) > room:
        cut = set_cell_size(rest, room)
        head = cut[: cut.rfind(" ") + 1] if cut.rfind(" ") >= room // 2 else cut
        rows.append(head.rstrip())
        rest = rest[len(head):].lstrip(" ")
        room = width - len(WRAP_INDENT)
    if rest:
        rows.append(rest)
    return rows[:1] + [WRAP_INDENT + r for r in rows[1:]]


class LogView(Log):
    """Lines longer than the view wrap onto indented rows (nothing is cut at 80 columns); a
    resize wraps the kept lines again."""

    DEFAULT_CSS = """
    LogView { height: 1fr; min-height: 3; overflow-x: hidden; }
    """

    def __init__(self, *, max_lines: int = MAX_LINES, flush_s: float = FLUSH_S, **kwargs) -> None:
        super().__init__(highlight=True, max_lines=max_lines, **kwargs)
        self.highlighter = KindHighlighter()
        self.flush_s = flush_s
        self._pending: list[str] = []
        self._kept: deque[str] = deque(maxlen=max_lines)  # the lines as pushed, unwrapped
        self._wrap_width = 0
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
    def kept(self) -> int:
        """Log lines kept (before wrapping; line_count counts the rows they wrap onto)."""
        return len(self._kept)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        if not self._pending:
            return
        batch = self._pending[-self.max_lines:]
        self._pending = []
        self._kept.extend(batch)
        self.write_lines(self._wrapped(batch))
        self.written += len(batch)
        self.batches += 1

    def _view_width(self) -> int:
        return self.scrollable_content_region.width

    def _wrapped(self, lines: list[str]) -> list[str]:
        width = self._wrap_width = self._view_width()
        if width < 8 or not any(len(line) > width for line in lines):  # the usual case
            return lines
        return [row for line in lines for row in wrap_line(line, width)]

    def on_resize(self) -> None:
        if self._kept and self._view_width() != self._wrap_width:
            self.clear()
            self.write_lines(self._wrapped(list(self._kept)))
