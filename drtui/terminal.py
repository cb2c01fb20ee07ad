"""The CLI's output: one rich Console and one table style for every command.

On a terminal, tables fit its width and fold long cells (a world name is wrapped, never cut
to "2022_reinvent_…"); in a pipe or a file nothing is wrapped or cut at all, so
`drtui list tracks | cat` prints every name and every column whole.
"""

from __future__ import annotations

import sys
from typing import Any

PIPE_WIDTH = 10_000  # no terminal: as wide as the longest row needs


def console(stderr: bool = False, file: Any = None):
    from rich.console import Console

    stream = file or (sys.stderr if stderr else sys.stdout)
    tty = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=file, stderr=stderr, highlight=False, soft_wrap=True,
                   width=None if tty else PIPE_WIDTH)


def table(*headers: str, **kwargs: Any):
    """A rich Table whose cells fold rather than end in an ellipsis."""
    from rich.table import Table

    out = Table(**kwargs)
    for header in headers:
        out.add_column(header, overflow="fold")
    return out
