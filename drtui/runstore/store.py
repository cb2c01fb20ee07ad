"""The run store: one folder per training run, holding everything needed to follow, resume,
analyse or clean it up after drtui (or the machine it ran on) went away.

    runs/<model>-<YYYYmmdd-HHMMSS>/
        session.toml        the session as it was launched
        files/              the generated DeepRacer files (DRfC layout)
        state.json          provider, runner, host, pid, instance ids, log offset, status
        logs/trainer.log    the training log (DeepRacer formats)
        events.jsonl        parsed events, one JSON object a line
        checkpoints/        model checkpoints (best and last)
        metrics/            TrainingMetrics.json, simtrace CSVs, evaluation metrics
        tb/                 TensorBoard event files

state.json is rewritten atomically on every change, so a killed drtui never leaves it torn.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drtui.fsio import atomic_write
from drtui.problem import Problem

ACTIVE = ("starting", "running", "stopping")
RUN_ROUTE = "route.npy"  # a session's own route file, as its run folder keeps it
# ended: `runs clean` removes these; "killed" is a trainer found dead without a last word,
# "damaged" a run whose state.json cannot be read (removed only when named)
ENDED = ("finished", "stopped", "failed", "killed", "created")
KILLED_MESSAGE = ("the trainer process ended without a last word (killed, out of memory, or the "
                  "machine restarted); `drtui run --resume` continues from its last checkpoint")


class StateError(ValueError):
    """state.json cannot be read as a run's state (the message names the file and the rule)."""


def read_state(path: Path) -> dict[str, Any]:
    """state.json as a dict, or StateError with one line naming the file and what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise StateError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not raw.strip():
        raise StateError(f"{path}: is empty; it must be a JSON object (drtui writes it whole, "
                         "so something else truncated it)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StateError(f"{path}: is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise StateError(f"{path}: must be a JSON object of a run's state, not a "
                         f"{_json_kind(data)}")
    status = data.get("status", "unknown")
    if not isinstance(status, str):
        raise StateError(f"{path}: status must be a string, not a {_json_kind(status)}")
    return data


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


@dataclass
class Run:
    path: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return self.state.get("status", "unknown")

    @property
    def session_path(self) -> Path:
        return self.path / "session.toml"

    @property
    def log_path(self) -> Path:
        return self.path / "logs" / "trainer.log"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    def update(self, **changes: Any) -> None:
        """Change and persist state atomically. The trainer and one or more followers write
        the same file, so each update is a locked read-modify-write of the keys it names:
        a follower saving its log offset never undoes the trainer's status."""
        import fcntl

        with open(self.path / "state.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state_path = self.path / "state.json"
            try:
                current = read_state(state_path)
            except StateError:
                current = {}
                if state_path.exists():  # kept beside, never overwritten unseen
                    os.replace(state_path, state_path.with_name(
                        f"state.json.damaged-{int(time.time())}"))
            current.update(changes)
            current["updated"] = time.time()
            atomic_write(self.path / "state.json", json.dumps(current, indent=2, sort_keys=True))
            self.state = current

    def reload(self) -> Run:
        self.state = read_state(self.path / "state.json")
        return self


def runs_dir(workspace: Path) -> Path:
    return Path(workspace) / "runs"


def create(workspace: Path, session, files: dict[str, str], *, provider: str, runner: str,
           now: float | None = None, base_dir: Path | None = None) -> Run:
    """A new run folder with the session and its files written, status 'created'. A session
    route file (relative to `base_dir`, the session file's folder) is copied in as route.npy,
    which the run's session.toml names."""
    from drtui.files import render
    from drtui.session import store

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now or time.time()))
    base = runs_dir(workspace) / f"{session.model.name}-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, n = base, 1
    while True:  # mkdir is the claim: two drtuis creating runs in one second get two folders
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
    for sub in ("logs", "checkpoints", "metrics", "tb"):
        (path / sub).mkdir()
    if session.track.route:
        from drtui.catalog.tracks import route_path

        atomic_write(path / RUN_ROUTE, route_path(session.track.route, base_dir).read_bytes())
        session = session.model_copy(deep=True)
        session.track.route = RUN_ROUTE
    store.save(session, path / "session.toml")
    render.write(files, path / "files")
    run = Run(path)
    run.update(id=path.name, model=session.model.name, created=now or time.time(),
               provider=provider, runner=runner, status="created", log_offset=0,
               iteration=0)
    return run


def load(path: Path) -> Run:
    return Run(Path(path)).reload()


def damaged(path: Path, why: str) -> Run:
    """A run folder whose state.json cannot be read, listed as such (never hidden, never
    rewritten until a trainer or `runs clean RUN` acts on it)."""
    return Run(Path(path), {"status": "damaged", "error": why})


def look(run: Run) -> Run:
    """The run as it is now: an active local run whose trainer is dead is marked killed
    (whoever looks first), so it ends, can be resumed and `runs clean` removes it."""
    if run.status not in ACTIVE or run.state.get("provider") != "local" or \
            run.state.get("runner") != "embedded":
        return run  # another machine's trainer: its runner checks it over the connection
    from drtui.runstore import owner

    launching = owner.try_lock(run.path / owner.LAUNCH_LOCK)
    if launching is None:
        return run  # a launch is under way: its pid is not recorded yet
    try:
        if owner.trainer_pid(run.path, run.reload().state) is None and run.status in ACTIVE:
            run.update(status="killed", error=KILLED_MESSAGE, ended=time.time())
    finally:
        os.close(launching)
    return run


def list_runs(workspace: Path) -> list[Run]:
    root = runs_dir(workspace)
    if not root.is_dir():
        return []
    runs = []
    for state in sorted(root.glob("*/state.json")):
        try:
            runs.append(look(load(state.parent)))
        except StateError as err:
            runs.append(damaged(state.parent, str(err)))
        except OSError:
            continue  # removed while listing
    return runs


def find(workspace: Path, ref: str) -> Run:
    """A run by path, id or unique id prefix."""
    from drtui.errors import InvalidInput

    candidate = Path(ref)
    if (candidate / "state.json").is_file():
        try:
            return look(load(candidate))
        except StateError as err:
            return damaged(candidate, str(err))
    matches = [r for r in list_runs(workspace) if r.id == ref] or \
              [r for r in list_runs(workspace) if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    why = "no run" if not matches else f"{len(matches)} runs"
    raise InvalidInput([Problem("run", f"{why} matching {ref!r} in {runs_dir(workspace)}")])
