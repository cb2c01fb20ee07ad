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
    """The text DRfC expects for a value: True/False, plain numbers, checked strings; a
    Verbatim value (the user's own text, carried from an imported file) as it is."""
    if isinstance(value, Verbatim):
        if "\n" in value:
            raise ValueError("an env value is one line")
        return str(value)
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


# -- reading as bin/activate.sh does ----------------------------------------------------------
# activate.sh: `for l in $(grep -v '^#' FILE)` (so every whitespace-separated word counts on its
# own), KEY=`cut -f1 -d=`, VALUE=`cut -f2 -d=` (the text up to a second '=' only), then
# `eval "export KEY=VALUE"`: the shell expands $VAR / ${VAR} against what is already exported
# and removes quotes. drtui evaluates that subset itself (it never runs a user's file); any
# other shell syntax ($(...), backticks, ${VAR:-x}, globs, ~, ;) is "cannot evaluate": such a
# value is kept as written and not modelled.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNSAFE = set("`;&|<>()*?[~")


class Verbatim(str):
    """An env value written back exactly as the user wrote it (it may hold $VAR references)."""


def env_words(text: str) -> list[tuple[str, str]]:
    """(KEY, text after the first '=') for every word activate.sh reads, in order. A word
    without '=' is `export WORD=WORD` in DRfC, so its value is the word itself."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        for word in line.split():
            key, sep, rest = word.partition("=")
            out.append((key, rest if sep else word))
    return out


def read_bool(text: str) -> bool:
    """A DRfC switch as drtui reads it: True, true, 1 or yes are on; anything else is off."""
    return text.strip().strip('"').lower() in ("true", "1", "yes")


def is_name(key: str) -> bool:
    """Whether `export KEY=...` assigns a variable (bash refuses other names)."""
    return bool(_NAME.fullmatch(key))


def expand(text: str, env: dict[str, str]) -> str | None:
    """What `eval "export K=TEXT"` stores (TEXT as cut -f2 leaves it), or None when TEXT
    uses shell syntax beyond quotes and $VAR / ${VAR}."""
    text = text.split("=", 1)[0]  # cut -f2 -d= stops at the next '='
    out, i, quote = [], 0, ""
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                out.append(c)
            i += 1
        elif c == "'" and not quote:
            quote, i = "'", i + 1
        elif c == '"':
            quote, i = ("" if quote else '"'), i + 1
        elif c == "\\":
            if i + 1 >= len(text):
                return None
            nxt = text[i + 1]
            if quote and nxt not in '$`"\\':
                out.append(c)
            out.append(nxt)
            i += 2
        elif c == "$":
            name = _NAME.match(text, i + 1)
            if name:
                out.append(env.get(name.group(), ""))
                i = name.end()
            elif text.startswith("{", i + 1):
                braced = _NAME.match(text, i + 2)
                if not braced or not text.startswith("}", braced.end()):
                    return None  # ${VAR:-x}, ${#VAR} and the like
                out.append(env.get(braced.group(), ""))
                i = braced.end() + 1
            elif i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] in "({$?!#@*-"):
                return None  # $1, $(...), $$, $? ...: not a plain variable
            else:
                out.append(c)  # a lone '$' stays as it is
                i += 1
        elif c in _UNSAFE and not quote:
            return None
        elif c == "`":
            return None
        else:
            out.append(c)
            i += 1
    return None if quote else "".join(out)


def evaluate(words: list[tuple[str, str]], env: dict[str, str]) -> dict[str, str | None]:
    """KEY -> value for each word, in order, exporting into env as it goes (as activate.sh
    does). None: drtui cannot evaluate the value (env then holds no value for KEY)."""
    values: dict[str, str | None] = {}
    for key, text in words:
        if not is_name(key):
            continue
        value = expand(text, env)
        values[key] = value
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return values
