"""DRfC env files: formatting values so DRfC reads them back unchanged, and reading them the
way DRfC does.

run.env / system.env are read by bin/activate.sh: comment lines dropped, the rest split on
whitespace, `cut -d= -f1/-f2`, then `eval "export KEY=VALUE"`. worker-N.env is read by
scripts/training/prepare-config.py: `dict(tuple(line.split('=')) for line in lines if not
line.startswith('#'))`, so no blank lines, no second '=', and no $VAR expansion.
"""

from __future__ import annotations

import re
from pathlib import Path

from drtui.session.base import env_safe

_KEY = re.compile(r"[A-Z][A-Z0-9_]*")
# Object positions are the one DRfC value with ';' (a list); DRfC's docs quote it and
# prepare-config strips the quotes, so it is written quoted and built only from numbers.
_POSITIONS = re.compile(r'"-?[0-9.]+,-?1(;-?[0-9.]+,-?1)*"')


def format_value(value: object) -> str:
    """The text DRfC expects for a value: True/False, plain numbers, checked strings."""
    if isinstance(value, bool):
        text = "True" if value else "False"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"env values are str, int, float or bool, not {type(value).__name__}")
    if _POSITIONS.fullmatch(text):
        return text
    return env_safe(text)


def format_line(key: str, value: object) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"env key {key!r} must be upper-case letters, digits and '_'")
    return f"{key}={format_value(value)}"


def read_env(text: str) -> dict[str, str]:
    """Key/values of a run.env or system.env as DRfC's activate.sh sees them, less $VAR
    expansion (references are kept as written) and with surrounding quotes removed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        for word in line.split():
            key = word.split("=")[0]
            value = word.split("=")[1] if "=" in word else ""
            values[key] = value.strip('"').strip("'")
    return values


def read_worker_env(text: str) -> dict[str, str]:
    """A worker-N.env exactly as prepare-config.py parses it (raises as it would)."""
    return dict(tuple(line.split("=")) for line in text.splitlines()  # type: ignore[misc]
                if not line.startswith("#"))


def read_env_file(path: Path) -> dict[str, str]:
    return read_env(Path(path).read_text(encoding="utf-8"))
