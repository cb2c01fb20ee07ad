"""What a path holds: one of the DeepRacer inputs `drtui analyze` reads, decided from file
names and a peek at the content, never from the extension alone.

Folders and .tar.gz archives are read through one small `Tree` (relative paths, open), so a
console log archive needs no unpacking.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from drtui.errors import InvalidInput

KINDS = {
    "simtrace-csv": "a simtrace CSV (training-simtrace/<n>-iteration.csv, 15-19 columns)",
    "simulation-log": "a robomaker/simulation log with SIM_TRACE_LOG lines",
    "training-log": "a SageMaker training log (Training> / Policy training> lines)",
    "training-metrics": "a TrainingMetrics.json",
    "evaluation-metrics": "an evaluation metrics JSON",
    "drfc-model": "a DRfC model folder (training-simtrace/, metrics/, one or several workers)",
    "console-logs": "an old DeepRacer console log archive (.tar.gz) or folder",
    "droa-logs": "a DeepRacer on AWS log archive (.tar.gz) or folder",
    "drtui-run": "a drtui run folder (runs/<id>: logs/trainer.log, metrics/)",
}
PEEK_BYTES = 256 << 10
# an archive member larger than this is refused by its header's size, before a byte of it is
# read: a small .tar.gz can hold gigabytes of zeros (DRTUI_ANALYZE_MEMBER_MAX_MB)
MEMBER_MAX_MB = 1024


def member_limit() -> int:
    import os

    try:
        return max(1, int(os.environ.get("DRTUI_ANALYZE_MEMBER_MAX_MB", MEMBER_MAX_MB))) << 20
    except ValueError:
        return MEMBER_MAX_MB << 20
_ITERATION_CSV = re.compile(r"(?:^|/)training-simtrace(?:-\d+)?/(\d+)-iteration\.csv$")


@dataclass
class Tree:
    """Files of a folder or an archive by relative path ('/'-separated)."""

    root: Path
    files: list[str] = field(default_factory=list)
    _tar: tarfile.TarFile | None = None
    _prefix: str = ""

    @classmethod
    def of(cls, path: Path) -> Tree:
        if path.is_dir():
            files = sorted(str(p.relative_to(path)).replace("\\", "/")
                           for p in path.rglob("*") if p.is_file())
            return cls(path, files)
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - kept open while the tree is read
        members = [m.name for m in tar.getmembers() if m.isfile()]
        tops = {n.split("/")[0] for n in members if "/" in n}
        prefix = tops.pop() + "/" if len(tops) == 1 and all("/" in n for n in members) else ""
        return cls(path, sorted(n[len(prefix):] for n in members), tar, prefix)

    def open(self, rel: str) -> BinaryIO:
        """The file, streamed (an archive member is decompressed as it is read, and refused
        when its size is over member_limit())."""
        if self._tar is None:
            return open(self.root / rel, "rb")  # noqa: SIM115 - the caller closes it
        member = self._tar.getmember(self._prefix + rel)
        limit = member_limit()
        if member.size > limit:
            raise InvalidInput([f"{self.root}: {rel} is {member.size} bytes, over the limit "
                                f"of {limit >> 20} MiB for an archive member "
                                "(DRTUI_ANALYZE_MEMBER_MAX_MB); extract it and analyse the "
                                "file or folder itself"])
        fh = self._tar.extractfile(member)
        return fh if fh is not None else io.BytesIO(b"")

    def match(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [f for f in self.files if rx.search(f)]

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()


@dataclass
class Detected:
    kind: str
    path: Path
    tree: Tree | None = None  # folders and archives


def _peek(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(PEEK_BYTES)


def _metrics_kind(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    entries = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    if "phase" in entries[0] and "episode" in entries[0]:
        return "training-metrics"
    if "trial" in entries[0] and "completion_percentage" in entries[0]:
        return "evaluation-metrics"
    return None


def _file_kind(path: Path) -> str | None:
    head = _peek(path)
    if head[:2] == b"\x1f\x8b" or tarfile.is_tarfile(path):
        return "archive"
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"episode,steps,") and b"," in first:
        return "simtrace-csv"
    if head.lstrip()[:1] == b"{":
        size_ok = path.stat().st_size <= 64 << 20
        return _metrics_kind(path.read_bytes()) if size_ok else None
    if b"SIM_TRACE_LOG:" in head:
        return "simulation-log"
    if b"Training> Name=" in head or b"Policy training>" in head:
        return "training-log"
    if b"\x00" in head:
        return None
    # a long log may start with pages of set-up output: look further, by lines
    with open(path, "rb") as fh:
        for line in fh:
            if b"SIM_TRACE_LOG:" in line:
                return "simulation-log"
            if b"Training> Name=" in line or b"Policy training>" in line:
                return "training-log"
    return None


def tree_kind(tree: Tree) -> str | None:
    files = tree.files
    if any(f in ("state.json", "session.toml") for f in files) and (
            "logs/trainer.log" in files or any(f.startswith("metrics/") for f in files)):
        return "drtui-run"
    if tree.match(r"^sim-trace/training/training-simtrace/") or tree.match(
            r"^logs/training/[^/]+-robomaker\.log$"):
        return "console-logs"
    if tree.match(r"^sim-trace/(training|evaluation)/[^/]+/(training|evaluation)-simtrace/") \
            or tree.match(r"^logs/(training|evaluation)/[^/]+-simulation\.log$"):
        return "droa-logs"
    if tree.match(r"^(\d+/)?training-simtrace/\d+-iteration\.csv$") or tree.match(
            r"^metrics/TrainingMetrics(_\d+)?\.json$") or tree.match(
            r"^evaluation-\d{14}/evaluation-simtrace/"):
        return "drfc-model"
    return None


def expected() -> str:
    return "expected one of: " + "; ".join(KINDS.values())


def detect(path: str | Path) -> Detected:
    """The kind of input at `path`; InvalidInput (exit 2) naming what was expected if none."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput([f"{path}: no such file or folder"])
    if not path.is_dir() and not path.is_file():  # stat, never open: a FIFO would block
        raise InvalidInput([f"{path}: not a regular file (a FIFO, device or socket); drtui "
                            "analyses regular files, folders and archives only"])
    if path.is_dir():
        tree = Tree.of(path)
        kind = tree_kind(tree)
        if kind is None:
            raise InvalidInput([f"{path}: no DeepRacer logs found in this folder; {expected()}"])
        return Detected(kind, path, tree)
    kind = _file_kind(path)
    if kind == "archive":
        try:
            tree = Tree.of(path)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidInput([f"{path}: unreadable archive ({exc}); {expected()}"]) from None
        kind = tree_kind(tree)
        if kind is None:
            tree.close()
            raise InvalidInput([f"{path}: no DeepRacer logs in this archive; {expected()}"])
        return Detected(kind, path, tree)
    if kind is None:
        raise InvalidInput([f"{path}: not a DeepRacer log; {expected()}"])
    return Detected(kind, path)


def iteration_of(rel: str) -> int | None:
    m = _ITERATION_CSV.search(rel)
    return int(m.group(1)) if m else None
