"""Errors the user can act on. The CLI prints them and exits 2 (bad input) or 1 (failure);
no traceback reaches the user for either."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class DrtuiError(Exception):
    exit_code = 1


class InvalidInput(DrtuiError):
    """One or more broken rules, each with the key path it concerns."""

    exit_code = 2

    def __init__(self, problems: Iterable[Any]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
