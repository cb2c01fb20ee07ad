"""Messages the app posts to its screens (kept out of app.py so that a screen can handle them
without importing the app)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message


@dataclass
class FilesWritten(Message):
    """Posted to the active screen after a write, so the review can refresh its diffs."""

    out_dir: Path
    paths: list[Path]


class SessionSaved(Message):
    """Posted to the active screen after a save, so the review can say it is saved."""
