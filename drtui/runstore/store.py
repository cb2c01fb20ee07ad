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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drtui.session.store import atomic_write

ACTIVE = ("starting", "running", "stopping")
RUN_ROUTE = "route.npy"  # a session's own route file, as its run folder keeps it


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
            try:
                current = json.loads((self.path / "state.json").read_text(encoding="utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                current = {}
            current.update(changes)
            current["updated"] = time.time()
            atomic_write(self.path / "state.json", json.dumps(current, indent=2, sort_keys=True))
            self.state = current

    def reload(self) -> Run:
        self.state = json.loads((self.path / "state.json").read_text(encoding="utf-8"))
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
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    (path / "logs").mkdir(parents=True)
    for sub in ("checkpoints", "metrics", "tb"):
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


def list_runs(workspace: Path) -> list[Run]:
    root = runs_dir(workspace)
    if not root.is_dir():
        return []
    runs = []
    for state in sorted(root.glob("*/state.json")):
        try:
            runs.append(load(state.parent))
        except (OSError, json.JSONDecodeError):
            continue  # a folder being created or damaged by hand: not a run to list
    return runs


def find(workspace: Path, ref: str) -> Run:
    """A run by path, id or unique id prefix."""
    from drtui.errors import InvalidInput
    from drtui.session.validate import Problem

    candidate = Path(ref)
    if (candidate / "state.json").is_file():
        return load(candidate)
    matches = [r for r in list_runs(workspace) if r.id == ref] or \
              [r for r in list_runs(workspace) if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    why = "no run" if not matches else f"{len(matches)} runs"
    raise InvalidInput([Problem("run", f"{why} matching {ref!r} in {runs_dir(workspace)}")])
