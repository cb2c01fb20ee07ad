"""Paths typed into a served drtui stay inside its workspace.

serve-ssh starts each drtui with DRTUI_WORKSPACE_ONLY=1 (drtui.sandbox): then every path a
field names (the review's session file and output folder, the import folder, the reward file,
the tune screen's save path) must resolve, symlinks followed, to a place inside the workspace.
`../` and absolute paths elsewhere are refused with a message, never followed. The sandbox
enforces the same below; this says so at the field, before anything is tried.
"""

from __future__ import annotations

import os
from pathlib import Path

from drtui.sandbox import WORKSPACE_ONLY_ENV


def confined() -> bool:
    """True in a served drtui, where paths must stay inside the workspace."""
    return os.environ.get(WORKSPACE_ONLY_ENV) == "1"


def field_path(text: str, base: Path) -> Path:
    """What a path field's text names: ~ expanded, relative to `base`."""
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else Path(base) / path


def outside_problem(what: str, path: Path, workspace: Path) -> str | None:
    """None when `path` is inside `workspace` (or confinement is off); else the message."""
    if not confined():
        return None
    root = Path(workspace).resolve()
    try:
        Path(path).resolve().relative_to(root)
    except ValueError:
        return (f"{what} {path} is outside the workspace {root}: this drtui reads and writes "
                "only inside it")
    return None
