"""Real DeepRacer folders (tests/data/import_corpus, see its PROVENANCE.md) import, and the
files generate writes give DRfC and simapp the same run: read back the way they read them,
every key an original file defined has the same value, or the import notes name it.

system.env and run.env are read by real bash running bin/activate.sh's own loop; worker-N.env
by prepare-config.py's own expression; JSON with json (types kept: 1 is not 1.0).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from drtui.files import render
from drtui.files.importer import import_folder
from drtui.session import store

CORPUS = Path(__file__).parent / "data" / "import_corpus"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())

# deepracer-for-cloud bin/activate.sh, dr-update-env: system.env, then run.env
ACTIVATE = r"""
for f in "$@"; do
  [[ -f "$f" ]] || continue
  LINES=$(grep -v '^#' $f)
  for l in $LINES; do
    env_var=$(echo $l | cut -f1 -d\=)
    env_val=$(echo $l | cut -f2 -d\=)
    eval "export $env_var=$env_val"
  done
done
env -0
"""


def activate(folder: Path, empty: Path) -> dict[str, str]:
    """What activate.sh exports from folder's system.env and run.env (in a clean
    environment, from the empty folder `empty`, so nothing else leaks in)."""
    empty.mkdir(exist_ok=True)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", ACTIVATE, "activate",
         str(folder / "system.env"), str(folder / "run.env")],
        env={"PATH": "/usr/bin:/bin"}, cwd=empty, capture_output=True, check=True)
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k not in ("PWD", "SHLVL", "_", "PATH", "OLDPWD")}


def prepare_config(path: Path) -> dict[str, str]:
    """scripts/training/prepare-config.py's reading of a worker-N.env."""
    with open(path) as fh:
        return dict(tuple(line.split('='))
                    for line in fh.read().splitlines() if not line.startswith('#'))


def strict(value):
    """JSON values compared with their types: an integer written back as 1.0 is a change."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict(v) for v in value]
    return (type(value).__name__, value)


def custom_dir(folder: Path) -> Path:
    return folder / "custom_files" if (folder / "custom_files").is_dir() else folder


def noted(notes: list[str], file: str, key: str) -> bool:
    return any(n.startswith(f"{file} {key}:") for n in notes)


def test_the_corpus_is_real_and_large_enough():
    assert len(FOLDERS) >= 10
    provenance = (CORPUS / "PROVENANCE.md").read_text()
    for name in FOLDERS:
        for path in (CORPUS / name).rglob("*"):
            if path.is_file():
                rel = path.relative_to(CORPUS / name).as_posix()
                assert f"| {name} | {rel} |" in provenance, (name, rel)


@pytest.mark.parametrize("name", FOLDERS)
def test_import_generate_read_back(tmp_path, name):
    source = CORPUS / name
    session, notes = import_folder(source)
    assert session.imported.notes == notes
    # these folders are runs DRfC accepts as they are: drtui has nothing to change in them
    assert [n for n in notes if " -> " in n] == []

    # the session file holds all of it: generate from the saved session
    store.save(session, tmp_path / "session.toml")
    files = render.render(store.load(tmp_path / "session.toml"))
    assert files == render.render(session)
    out = tmp_path / "out"
    render.write(files, out)

    # system.env + run.env, exported by real bash as activate.sh does
    if (source / "run.env").is_file() or (source / "system.env").is_file():
        before, after = activate(source, tmp_path / "cwd"), activate(out, tmp_path / "cwd")
        defined = set()
        for file in ("system.env", "run.env"):
            if (source / file).is_file():
                for line in (source / file).read_text().splitlines():
                    if not line.startswith("#"):
                        defined |= {w.split("=")[0] for w in line.split()}
        checked = 0
        for key in sorted(defined & set(before)):
            if after.get(key) != before[key]:
                assert noted(notes, "system.env", key) or noted(notes, "run.env", key), \
                    f"{key}: {before[key]!r} -> {after.get(key)!r} without a note"
            checked += 1
        assert checked >= 10

    # worker-N.env, read literally by prepare-config
    for path in sorted(source.glob("worker-*.env")):
        if any(n.startswith(f"{path.name}: not imported") for n in notes):
            continue
        before, after = prepare_config(path), prepare_config(out / path.name)
        for key, value in before.items():
            assert after.get(key) == value or noted(notes, path.name, key), (path.name, key)

    # JSON, key by key, types kept
    for file in ("model_metadata.json", "hyperparameters.json"):
        original = custom_dir(source) / file
        if not original.is_file():
            continue
        before = json.loads(original.read_text())
        after = json.loads((out / "custom_files" / file).read_text())
        for key, value in before.items():
            assert strict(after.get(key)) == strict(value) or noted(notes, file, key), \
                (file, key)
    reward = custom_dir(source) / "reward_function.py"
    if reward.is_file():
        assert (out / "custom_files" / "reward_function.py").read_text() == reward.read_text()
