"""The one message the research editors post: set one key path of the draft (EMPTY removes
it, so the core's default applies). The step answers with its own edit(), so every change
is validated and its problems land beside the field that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class ResearchEdited(Message):
    path: str  # dotted session-file key path, e.g. "research.curriculum.stages"
    value: Any  # the new value, or form_field.EMPTY to remove the key
