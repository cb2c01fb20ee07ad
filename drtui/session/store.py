"""Session files: TOML on disk, read with the key path of every problem, written atomically."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.fsio import atomic_write
from drtui.problem import Problem, errors
from drtui.session.model import Session
from drtui.session.validate import problems_in

HEADER = ("# drtui session: a DeepRacer model. Edit freely; `drtui validate` checks it.\n"
          "# Reference: `drtui list tracks|sensors|networks|algorithms|rewards|backends`.\n")


def read_data(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem("", f"{path}: no such session file")]) from None
    except UnicodeDecodeError:
        raise InvalidInput([Problem("", f"{path}: not a UTF-8 text file")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput([Problem("", f"{path}: not valid TOML: {exc}")]) from None


def load(path: Path, *, check: bool = True) -> Session:
    """Read and validate a session file; InvalidInput lists every problem."""
    session, problems = problems_in(read_data(path))
    if session is None or (check and errors(problems)):
        raise InvalidInput(errors(problems) or problems)
    return session


def to_data(session: Session) -> dict[str, Any]:
    data = session.model_dump(mode="json", exclude_none=True)
    # keep only the settings of the chosen provider and runner; defaults fill the rest
    backend = data["backend"]
    chosen = {session.backend.provider.replace("-", "_"), "drfc" if
              session.backend.runner == "drfc" else ""}
    defaults = Session.model_fields["backend"].default.model_dump(mode="json", exclude_none=True)
    for key in list(backend):
        if isinstance(backend[key], dict) and key not in chosen and backend[key] == defaults[key]:
            del backend[key]
    # research methods that are all off: no table at all
    if session.research == Session.model_fields["research"].default:
        del data["research"]
    # a session not made by `drtui import` has nothing imported: no table at all
    if session.imported == Session.model_fields["imported"].default:
        del data["imported"]
    else:
        data["imported"] = {k: v for k, v in data["imported"].items() if v not in ("", [], {})}
    # empty tables and lists are the defaults: leave them out of the file
    for table, key in (("", "workers"), ("reward", "params"),
                       ("race.object_avoidance", "object_positions")):
        parent = data
        for part in filter(None, table.split(".")):
            parent = parent[part]
        if parent.get(key) in ([], {}):
            del parent[key]
    return data


def dumps(session: Session, previous: str | None = None) -> str:
    """The session as TOML. With `previous` (the file's text as it is on disk), the file is
    edited in place: its comments, key order and layout stay, only changed values are
    rewritten (a hand-edited session saved from the studio keeps every comment)."""
    data = to_data(session)
    if previous is not None:
        kept = _edited(previous, data)
        if kept is not None:
            return kept
    return HEADER + "\n" + _fresh(data)


def save(session: Session, path: Path) -> None:
    try:
        previous = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = None
    atomic_write(path, dumps(session, previous))


def _fresh(data: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(data, multiline_strings=True)


def _edited(previous: str, data: dict[str, Any]) -> str | None:
    """`previous` with `data`'s values; None when it is not TOML or the edit would not read
    back as exactly `data` (then the file is written afresh: never a wrong value)."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(previous)
        _merge(doc, data)
        text = tomlkit.dumps(doc)
        same = tomllib.loads(text) == data
    except (TOMLKitError, tomllib.TOMLDecodeError, ValueError, TypeError):
        return None
    return text if same else None


def _merge(table, new: dict[str, Any]) -> None:
    """Make tomlkit `table` hold `new`, touching only what differs."""
    import tomlkit

    for key in [k for k in table if k not in new]:
        del table[key]
    for key, value in new.items():
        old = table.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        elif old is None or _plain(old) != value:
            # formatted as a fresh save would write it (multi-line strings, tables)
            table[key] = tomlkit.parse(_fresh({key: value}))[key]


def _plain(item):
    return item.unwrap() if hasattr(item, "unwrap") else item
