"""The CLI's output: one rich Console and one table style for every command.

On a terminal, tables fit its width and fold long cells, but for their key columns (a world
name, a progress), which stay whole while the others fold around them; in a pipe or a file
nothing is wrapped or cut at all, so
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


def table(*headers: str, keep: tuple[str, ...] = (), **kwargs: Any):
    """A rich Table whose cells fold rather than end in an ellipsis; the `keep` columns (the
    key ones: a world name, progress) never wrap, so on a narrow terminal the others fold
    around them."""
    from rich.table import Table

    out = Table(**kwargs)
    for header in headers:
        if header in keep:
            out.add_column(header, no_wrap=True, overflow="fold", min_width=len(header))
        else:
            out.add_column(header, overflow="fold")
    return out


def fitted(headers: list[str], rows: list[list[str]], *, title: str, ids: tuple[str, ...] = (),
           width: int | None = None, **kwargs: Any):
    """The rows as one table, or, where that is wider than `width` (the terminal's; a pipe
    has no limit), as several that each fit: every part repeats the `ids` columns (what
    names a row) and every cell is whole, never folded or cut to an ellipsis."""
    from rich.console import Group
    from rich.measure import Measurement

    con = console()
    width = width or con.width
    wide = con.options.update(width=PIPE_WIDTH)

    def build(shown: list[int], part: int):
        names = [headers[i] for i in shown]
        t = table(*names, keep=tuple(names),
                  title=title if part == 0 else f"{title} (continued)", **kwargs)
        for row in rows:
            t.add_row(*(row[i] for i in shown))
        return t

    def fits(shown: list[int]) -> bool:
        return Measurement.get(con, wide, build(shown, 0)).maximum <= width

    key = [i for i, h in enumerate(headers) if h in ids]
    parts: list[list[int]] = [[]]
    for i in range(len(headers)):
        if i in key:
            continue
        if parts[-1] and not fits(sorted(key + parts[-1] + [i])):
            parts.append([])
        parts[-1].append(i)
    out = [build(sorted(key + part), k) for k, part in enumerate(parts)]
    return out[0] if len(out) == 1 else Group(*out)
