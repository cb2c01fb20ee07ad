"""drtui's own state folder, outside any workspace: SSH keys a provider issued, per-instance
known_hosts files, and ledgers of the cloud machines drtui created.

It lives outside the workspace so a run folder can be shared, zipped or committed without a
private key in it. `DRTUI_STATE_DIR` moves it (tests point it at a temporary folder).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drtui.fsio import atomic_write


def state_dir() -> Path:
    """$DRTUI_STATE_DIR, else $XDG_STATE_HOME/drtui, else ~/.local/state/drtui (mode 0700)."""
    chosen = os.environ.get("DRTUI_STATE_DIR")
    if chosen:
        root = Path(chosen).expanduser()
    else:
        xdg = os.environ.get("XDG_STATE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state") / "drtui"
    return private_dir(root)


def private_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a file readable by its owner only (0600), atomically: ssh refuses looser keys."""
    path = Path(path)
    private_dir(path.parent)
    atomic_write(path, data)  # mkstemp creates it 0600 before a byte is written
    path.chmod(0o600)
    return path


class Ledger:
    """A JSON map id -> record in the state folder, changed under a file lock, so two drtui
    processes (a TUI and a headless run) never lose each other's entries. Providers without
    resource tags keep here what they created, which is how an orphan sweep finds them."""

    def __init__(self, name: str):
        self.path = state_dir() / "ledgers" / f"{name}.json"

    @contextmanager
    def _locked(self):
        private_dir(self.path.parent)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def entries(self) -> dict[str, dict[str, Any]]:
        with self._locked():
            return self._read()

    def add(self, key: str, **record: Any) -> None:
        with self._locked():
            data = self._read()
            data[str(key)] = {**data.get(str(key), {}), **record, "updated": time.time()}
            write_private(self.path, json.dumps(data, indent=2, sort_keys=True))

    def remove(self, key: str) -> None:
        with self._locked():
            data = self._read()
            if data.pop(str(key), None) is not None:
                write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
