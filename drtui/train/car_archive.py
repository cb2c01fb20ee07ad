"""The car model file's format: a .tar.gz holding agent/model.pb and model_metadata.json at the
root (DRfC's create-car-zip.sh and DeepRacer on AWS's physicalmodel-<name>.tar.gz), written and
read back as the community car software reads it. No TensorFlow, torch or OpenVINO here, so the
exporter (car_export.py) and the loader (car_model.py) both use it.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from drtui.errors import DrtuiError

PB_MEMBER = "agent/model.pb"
METADATA_MEMBER = "model_metadata.json"


class CarArchiveError(DrtuiError):
    exit_code = 2


def archive_bytes(model_pb: bytes, metadata_text: str) -> bytes:
    """The car's .tar.gz: agent/model.pb then model_metadata.json (create-car-zip.sh's order)."""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in ((PB_MEMBER, model_pb), (METADATA_MEMBER, metadata_text.encode())):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), now, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_archive(path: Path | str) -> tuple[bytes, dict[str, Any]]:
    """(model.pb bytes, model_metadata) of a car model file, read as the community car software
    reads one: a .tar.gz / .tar / .gz with exactly one .pb anywhere and model_metadata.json at
    the top."""
    path = Path(path)
    if not path.is_file():
        raise CarArchiveError(f"{path}: no such file")
    try:
        with tarfile.open(path, mode="r:*") as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
            pbs = [n for n in members if n.endswith(".pb")]
            if len(pbs) != 1:
                raise CarArchiveError(f"{path}: a car model holds exactly one .pb file, this one "
                                      f"{len(pbs)} ({', '.join(pbs) or 'none'})")
            if METADATA_MEMBER not in members:
                raise CarArchiveError(f"{path}: no {METADATA_MEMBER} at the top of the archive")
            pb = tar.extractfile(members[pbs[0]]).read()
            text = tar.extractfile(members[METADATA_MEMBER]).read().decode("utf-8")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise CarArchiveError(f"{path}: not a readable .tar.gz/.tar/.gz archive ({err})") from None
    try:
        metadata = json.loads(text)
    except ValueError as err:
        raise CarArchiveError(f"{path}: {METADATA_MEMBER} is not valid JSON ({err})") from None
    if not isinstance(metadata, dict):
        raise CarArchiveError(f"{path}: {METADATA_MEMBER} must hold a JSON object")
    return pb, metadata
