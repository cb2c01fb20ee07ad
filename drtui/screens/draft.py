"""The wizard's one draft: a plain dict in session-file shape that every step edits.

Pure Python (no Textual), so the rules stay testable without a terminal. Values the user
typed but that do not parse stay in the draft as they were typed; validation (the core's
validate.parse) then names the exact key path, and the step shows it beside the field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from drtui.fsio import atomic_write
from drtui.problem import Problem

REMOVE = object()  # set(path, REMOVE) deletes the key: the core's default applies
_MISSING = object()


@cache
def _defaults(providers: int) -> dict[str, Any]:
    """Every key of a session with its default value (None where the core computes it), for
    the providers registered at generation `providers`."""
    from drtui.session.model import Session

    return Session(model={"name": "x"}).model_dump(mode="json")


def default(path: str) -> Any:
    from drtui.session.providers import generation

    node: Any = _defaults(generation())
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return copy.deepcopy(node)


def _canonical(data: dict[str, Any]) -> str:
    """The draft's values, order aside: 1 and 1.0 differ (the file would), a key removed
    and set again does not."""
    import json

    return json.dumps(data, sort_keys=True, default=repr)


@dataclass
class Draft:
    data: dict[str, Any]
    session_path: Path  # where ctrl+s saves
    output_dir: Path | None = None  # None: a folder named after the model beside the session
    version: int = 0  # bumped by every edit; caches key on it
    saved_version: int | None = None
    workspace: Path | None = None  # set where every path must stay inside it (served)
    # served: places this draft may replace (opened from, saved to, written, or confirmed)
    replace_ok: set[Path] = field(default_factory=set)
    _cache: tuple[Any, Any, list] | None = field(default=None, repr=False)
    _parsed: tuple[int, Any] | None = field(default=None, repr=False)
    _syntax: tuple[int, list] | None = field(default=None, repr=False)
    _saved_data: str | None = field(default=None, repr=False)  # _canonical(data) when saved
    # (reward_key, session.check.RewardReport) of the last reward run on sample params
    reward_result: tuple[Any, Any] | None = field(default=None, repr=False)

    @classmethod
    def from_session(cls, session, session_path: Path, *, saved: bool = False) -> Draft:
        from drtui.session.store import to_data

        draft = cls(to_data(session), Path(session_path))
        if saved:
            draft.mark_saved()
        return draft

    # --- access by dotted key path ------------------------------------------------------

    def get(self, path: str, fallback: Any = REMOVE) -> Any:
        """The draft's value, else `fallback` if given, else the session default."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default(path) if fallback is REMOVE else fallback
            node = node[part]
        return node

    def has(self, path: str) -> bool:
        return self.get(path, fallback=_MISSING) is not _MISSING

    def set(self, path: str, value: Any) -> bool:
        """Set (or with REMOVE delete) a key; True when the draft changed."""
        parts = path.split(".")
        node = self.data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                if value is REMOVE:
                    return False
                child = node[part] = {}
            node = child
        key = parts[-1]
        if value is REMOVE:
            if key not in node:
                return False
            del node[key]
        else:
            if key in node and node[key] == value and type(node[key]) is type(value):
                return False
            node[key] = value
        self.version += 1
        return True

    def replace(self, path: str, value: dict[str, Any]) -> None:
        """Swap a whole table (e.g. the action space when a preset is picked)."""
        self.set(path, REMOVE)
        self.set(path, value)

    # --- validation and derived values ----------------------------------------------------

    def parsed(self):
        """The core's parse of the draft as it stands (validate.Parsed), cached per edit."""
        if self._parsed is None or self._parsed[0] != self.version:
            from drtui.session.validate import parse

            self._parsed = (self.version, parse(copy.deepcopy(self.data)))
        return self._parsed[1]

    def check(self):
        """(Session | None, problems) of the draft as it stands: the core's rules, the
        reward's compiler and, once the app's worker has run it on sample params of the
        draft's track (session.check, as `drtui validate` does), its run-time result."""
        result = self.reward_result
        if self._cache is None or self._cache[0] != (self.version, id(result)):
            parsed = self.parsed()
            problems = parsed.problems + self._reward_syntax()
            if result is not None and result[0] == self.reward_key():
                problems += [p for p in result[1].problems if p not in problems]
            self._cache = ((self.version, id(result)), parsed.session, problems)
        return self._cache[1], self._cache[2] + self._path_problems()

    def _path_problems(self) -> list:
        """Where a served drtui would save, write or read outside its workspace (not cached:
        the paths change without an edit of the data)."""
        if self.workspace is None:
            return []
        from drtui.workspace_paths import outside_problem

        paths = [("session_file", "the session file", self.session_path),
                 ("output_folder", "the output folder", self.out_dir)]
        reward_file = self.get("reward.file", fallback=None)
        if isinstance(reward_file, str) and reward_file.strip():
            paths.append(("reward.file", "the reward file",
                          self.session_path.parent / Path(reward_file).expanduser()))
        return [Problem(key, message) for key, what, path in paths
                if (message := outside_problem(what, path, self.workspace))]

    def problems(self) -> list:
        return self.check()[1]

    def errors(self) -> list:
        return [p for p in self.problems() if p.is_error]

    def session(self):
        return self.check()[0]

    def reward_key(self) -> tuple | None:
        """What a reward run depends on (its source, the file's stamp, track and race), or
        None while the reward cannot run (those keys broken, or the code does not compile)."""
        parsed = self.parsed()
        subject = parsed.session or parsed.stand_in
        if subject is None or parsed.is_broken("reward", "track", "race") or \
                self._reward_syntax():
            return None
        stamp = None
        if subject.reward.file is not None:
            from drtui.session.check import reward_file_path

            try:
                st = reward_file_path(subject.reward.file, self.session_path.parent).stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = "missing"
        from drtui.reward.templates import TEMPLATES

        template = TEMPLATES.get(subject.reward.template or "")
        # a racing-line template's line is planned for the action space's speed range
        speeds = subject.action_space.model_dump_json() if template and template.track else ""
        return (subject.reward.model_dump_json(), stamp, subject.track.model_dump_json(),
                subject.race.model_dump_json(), speeds)

    def pending_reward_check(self):
        """(key, session, base_dir) of a reward run the draft still needs, else None."""
        key = self.reward_key()
        if key is None or (self.reward_result is not None and self.reward_result[0] == key):
            return None
        parsed = self.parsed()
        return key, parsed.session or parsed.stand_in, self.session_path.parent

    def reward_summary(self) -> str | None:
        """The current reward run's one-line summary ("ran on 32 sample positions ..."), or
        None while none matches the draft."""
        result = self.reward_result
        if result is None or result[0] != self.reward_key():
            return None
        return result[1].summary

    def _reward_syntax(self) -> list:
        """A reward that does not compile never reaches a file: compiling is cheap enough to
        do on every edit (running it on sample params is the app's worker's job)."""
        if self._syntax is None or self._syntax[0] != self.version:  # once per edit
            from drtui.session.check import compile_problem

            code = self.get("reward.code", fallback=None)
            problem = compile_problem(code) if isinstance(code, str) else None
            self._syntax = (self.version, [problem] if problem else [])
        return list(self._syntax[1])

    @property
    def model_name(self) -> str:
        name = self.get("model.name", fallback="")
        return name if isinstance(name, str) else str(name)

    @property
    def dirty(self) -> bool:
        """Whether the draft differs from the file it was saved to: a value changed and
        changed back is not an unsaved change."""
        if self.saved_version is None:
            return True
        return self.saved_version != self.version and _canonical(self.data) != self._saved_data

    def mark_saved(self) -> None:
        self.saved_version = self.version
        self._saved_data = _canonical(self.data)

    # --- the autosave: unsaved work survives a crash ------------------------------------

    @property
    def autosave_path(self) -> Path:
        return autosave_path(self.session_path)

    def autosave(self) -> None:
        """Keep the unsaved draft beside its session file (atomic), even one that breaks
        rules and so cannot be saved; nothing to keep once it equals the file."""
        import json
        import time

        if not self.dirty:
            self.autosave_path.unlink(missing_ok=True)
            return
        atomic_write(self.autosave_path, json.dumps(
            {"session_file": self.session_path.name, "kept_at": time.time(),
             "data": self.data}, default=repr, indent=1))

    def restore(self, data: dict[str, Any]) -> None:
        """Take back autosaved work: the draft is the kept data, unsaved."""
        self.data = copy.deepcopy(data)
        self.version += 1

    def default_output_dir(self) -> Path:
        return self.session_path.parent / (self.model_name or "model")

    @property
    def out_dir(self) -> Path:
        return self.output_dir or self.default_output_dir()


def autosave_path(session_path: Path) -> Path:
    """The side file of a session's unsaved draft: hidden, beside it."""
    return session_path.with_name(f".{session_path.name}.draft.json")


def kept_draft(session_path: Path, current: dict[str, Any]) -> tuple[dict[str, Any], float] | None:
    """(data, when) of autosaved work on this session that differs from `current`, else
    None (no side file, an unreadable one, or nothing new in it)."""
    import json

    path = autosave_path(Path(session_path))
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or not isinstance(kept.get("data"), dict):
        return None
    if _canonical(kept["data"]) == _canonical(current):
        return None
    when = kept.get("kept_at")
    return kept["data"], float(when) if isinstance(when, (int, float)) else path.stat().st_mtime
