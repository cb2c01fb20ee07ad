"""A DRfC or deepracer-on-the-spot folder -> Session, read the way DRfC and simapp read it.

The folder is a DRfC install (custom_files/ beside run.env) or one folder holding the custom
files and the env files together (deepracer-on-the-spot's custom-files/). Env files are read
as bin/activate.sh reads them: system.env then run.env, each `$VAR` / `${VAR}` expanded
against what is exported so far (envfile.evaluate); worker-N.env literally, as prepare-config
reads it, and only when DRfC reads it (DR_TRAIN_MULTI_CONFIG=True and N <= DR_WORKERS).
model_metadata.json as simapp parses it (files.metadata), refused only for what stops simapp.

The session models what drtui understands and keeps every file's own text in
`session.imported`, so generate writes the same run back. Whatever drtui must change is a
note "file KEY: old -> new", found by generating the files and reading them back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.files import env_keys, envfile, metadata
from drtui.problem import Problem, errors
from drtui.session.validate import problems_in


def _refuse(message: str) -> InvalidInput:
    return InvalidInput([Problem("", message)])


def _custom_dir(folder: Path) -> Path:
    for candidate in (folder / "custom_files", folder):
        if (candidate / "model_metadata.json").is_file():
            return candidate
    raise _refuse(f"{folder}: no model_metadata.json here or in custom_files/")


def _read_json(path: Path) -> tuple[str, Any]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(f"{path.name}: not valid JSON ({exc}); simapp's json.load stops on it "
                      "too") from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", type(None): "null"}.get(type(data), "a number")
        raise _refuse(f"{path.name}: must be a JSON object of keys and values, not {kind}")
    return text, data


_ROOT: list[Path] = []  # the folder being imported (import_folder sets it)
MAX_FILE_BYTES = 16 << 20  # a DRfC file is a page of text


def _read_text(path: Path) -> str:
    """A file of the folder being imported: a symbolic link that leads outside the folder is
    refused (an import must not read /etc/shadow into a session), and so is anything but a
    regular file of at most 16 MiB."""
    import stat

    resolved = path.resolve()
    if _ROOT and not resolved.is_relative_to(_ROOT[-1]):
        raise _refuse(f"{path.name}: a symbolic link to {resolved}, outside the folder "
                      f"{_ROOT[-1]}: refused; copy the file in")
    info = resolved.stat()
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(f"{path.name}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise _refuse(f"{path.name}: {info.st_size} bytes, over the 16 MiB a DRfC file may have")
    return resolved.read_bytes().decode("utf-8")


# -- model_metadata.json ------------------------------------------------------------------------
def _metadata_data(meta: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    problems = metadata.problems(meta)
    if problems:
        raise InvalidInput([Problem("", f"model_metadata.json: {p} (simapp would stop)")
                            for p in problems])
    read = metadata.actions(meta)
    if isinstance(read, dict):  # continuous: the two ranges
        space: dict[str, Any] = {"type": "continuous", **{
            k: {"low": low, "high": high} for k, (low, high) in read.items()}}
    else:
        space = {"type": "discrete",
                 "actions": [{"steering_angle": s, "speed": v} for s, v in read]}
        if any(isinstance(a, dict) and "index" in a for a in meta["action_space"]):
            space["write_index"] = True
    version = meta.get("version", "")
    if isinstance(version, float):
        version = repr(version)
    number = metadata.version_number(meta)
    if "sensor" in meta and number is not None and number < 2:
        notes.append(f"model_metadata.json sensor {meta['sensor']}: simapp ignores it below "
                     "version 2 and drives the front camera; so does this session")
    data: dict[str, Any] = {
        "car": {"sensors": metadata.sensors(meta)},
        "action_space": space,
        "network": {"architecture": metadata.network(meta)},
        "training": {"algorithm": metadata.algorithm(meta)},
        "metadata_version": version,
    }
    config = metadata.lidar_config(meta)
    if config is not None:
        data["car"]["lidar_config"] = config
    return data


def _hyperparameters(hp: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    from drtui.catalog.algorithms import HYPERPARAMETERS

    out: dict[str, Any] = {}
    for key, value in hp.items():
        spec = HYPERPARAMETERS.get(key)
        if spec is None:
            continue  # SageMaker's own keys (s3_bucket, ...): kept in the file, not modelled
        try:
            if spec.type is str:
                out[key] = str(value).lower()
            elif spec.type is int:
                out[key] = env_keys.whole(str(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                out[key] = value  # a whole number stays one
            else:
                out[key] = float(value)
        except ValueError:
            raise _refuse(f"hyperparameters.json {key}: {value!r} is not "
                          f"{'a whole number' if spec.type is int else 'a number'}") from None
    return out


# -- env files ----------------------------------------------------------------------------------
def _env_table(path: Path, notes: list[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(KEY -> text as written, the words activate.sh reads) of a system.env or run.env."""
    raw = _read_text(path)
    if "\r" in raw:
        notes.append(f"{path.name} has Windows line ends: DRfC's activate.sh would keep the CR "
                     "at the end of every value; drtui reads and writes plain line ends")
    words = envfile.env_words(raw)
    table: dict[str, str] = {}
    for key, text in words:
        if not envfile.is_name(key):
            notes.append(f"{path.name} {key}={text}: not a variable name; activate.sh's "
                         "export refuses it, and drtui leaves it out")
            continue
        if key in table:
            notes.append(f"{path.name} {key} is set twice; the last, {text!r}, is kept")
            del table[key]
        table[key] = text
    return table, [(k, t) for k, t in words if envfile.is_name(k)]


def _worker_table(path: Path) -> dict[str, str]:
    """worker-N.env as prepare-config reads it (`dict(line.split('='))` of the lines not
    starting with '#'), refused where that reading fails."""
    table = {}
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if line.startswith("#"):
            continue
        parts = line.split("=")
        if len(parts) != 2:
            raise _refuse(f"{path.name} line {number} {line!r}: prepare-config reads "
                          "KEY=VALUE lines with one '=' and no blank lines, so DRfC stops on it")
        table[parts[0]] = parts[1]
    return table




class _Reader:
    """Reads modelled keys out of an evaluated env, noting the ones it cannot use."""

    def __init__(self, env: Mapping[str, str | None], where: dict[str, str],
                 notes: list[str]):
        self.env, self.where, self.notes = env, where, notes

    def text(self, key: str) -> str | None:
        """KEY's value; None (with a note) when drtui cannot evaluate it, or it is not set."""
        if key in self.env and self.env[key] is None:
            self.notes.append(f"{self.where.get(key, 'env')} {key}: drtui cannot evaluate "
                              "this shell text; it is kept as written and drtui uses its "
                              "own default for its checks")
        return self.env.get(key)

    def take(self, table: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        out = {}
        for field, (key, convert) in table.items():
            text = self.text(key)
            if text is None:
                continue
            if text == "" and convert is not str:
                continue  # an empty number or switch: DRfC's own default applies
            try:
                out[field] = convert(text)
            except ValueError:
                raise _refuse(f"{self.where.get(key, 'env')} {key}={text}: not "
                              f"{'a whole number' if convert is env_keys.whole else 'a number'}"
                              ) from None
        return out




def _race(read: _Reader, env: Mapping[str, str | None]) -> dict[str, Any]:
    race: dict[str, Any] = {"object_avoidance": read.take(env_keys.OBJECT_AVOIDANCE),
                            "head_to_bot": read.take(env_keys.HEAD_TO_BOT)}
    if read.text("DR_RACE_TYPE"):
        race["type"] = env["DR_RACE_TYPE"]
    positions = (read.text("DR_OA_OBJECT_POSITIONS") or "").replace('"', "")
    if positions:
        try:
            race["object_avoidance"]["object_positions"] = [
                {"progress": float(p.split(",")[0]), "lane": int(float(p.split(",")[1]))}
                for p in positions.split(";") if p]
        except (IndexError, ValueError):
            raise _refuse(f"DR_OA_OBJECT_POSITIONS={positions}: positions are "
                          "progress,lane pairs separated by ';'") from None
    return race


def _env_data(data: dict[str, Any], root: Path, name: str | None, notes: list[str]) -> None:
    """Track, race, car, training, evaluation and DRfC settings from the env files."""
    imported = data["imported"]
    exported: dict[str, str] = {}
    values: dict[str, str | None] = {}
    where: dict[str, str] = {}
    for file in ("system.env", "run.env"):
        path = root / file
        if not path.is_file():
            notes.append(f"no {file}: drtui's defaults stand for its settings")
            continue
        table, words = _env_table(path, notes)
        imported[file.replace(".", "_")] = table
        for key, value in envfile.evaluate(words, exported).items():
            values[key], where[key] = value, file
    if not values:
        return
    read = _Reader(values, where, notes)
    data["backend"] = {"provider": "local", "runner": "drfc", "drfc": {}}
    drfc = data["backend"]["drfc"]
    drfc.update(read.take(env_keys.SYSTEM))
    if imported.get("system_env"):
        for field, key in env_keys.IMAGES.items():
            # absent: this DRfC generation does not use the key, and drtui does not add it
            drfc[field] = read.text(key) or ""
    spot = read.take(env_keys.ON_THE_SPOT)
    if spot:
        drfc["on_the_spot"] = spot
    prefix = read.text("DR_LOCAL_S3_MODEL_PREFIX") or ""
    if name is None and re.fullmatch(r"[A-Za-z0-9-]{1,64}", prefix):
        data["model"]["name"] = prefix  # in DRfC the model prefix is the model's name
    if prefix and prefix != data["model"]["name"]:
        drfc["model_prefix"] = prefix
    track = {"world": read.text("DR_WORLD_NAME"),
             "reverse": read.text("DR_TRAIN_REVERSE_DIRECTION")}
    data["track"] = {k: v for k, v in track.items() if v}
    if "reverse" in data["track"]:
        data["track"]["reverse"] = envfile.read_bool(data["track"]["reverse"])
    data["race"] = _race(read, values)
    car = data["car"]
    for field, key in (("name", "DR_CAR_NAME"), ("color", "DR_CAR_COLOR"),
                       ("body_shell", "DR_CAR_BODY_SHELL_TYPE")):
        if read.text(key):
            car[field] = values[key]
    data["training"].update(read.take(env_keys.TRAINING))
    data["training"].update(read.take({"workers": ("DR_WORKERS", env_keys.whole)}))
    data["evaluation"] = read.take(env_keys.EVALUATION)
    _workers(data, root, {k: v for k, v in values.items() if v is not None}, notes)


def _workers(data: dict[str, Any], root: Path, exported: dict[str, str],
             notes: list[str]) -> None:
    """worker-N.env files the way prepare-config uses them: with DR_TRAIN_MULTI_CONFIG=True
    (exactly that text) and N <= DR_WORKERS, each updating the environment the next sees."""
    workers = data["training"].get("workers", 1)
    multi = exported.get("DR_TRAIN_MULTI_CONFIG") == "True" and workers > 1
    found = {int(m.group(1)): p for p in root.glob("worker-*.env")
             if (m := re.fullmatch(r"worker-(\d+)\.env", p.name))}
    for n, path in sorted(found.items()):
        if not multi or not 2 <= n <= workers:
            why = ("DR_TRAIN_MULTI_CONFIG is not True" if not multi
                   else f"DR_WORKERS is {workers}")
            notes.append(f"{path.name}: not imported and not written: DRfC does not read it "
                         f"({why})")
    if not multi:
        return
    env, overrides = dict(exported), []
    for n in range(2, workers + 1):
        if n not in found:
            notes.append(f"worker-{n}.env is missing (DRfC's prepare-config would stop): drtui "
                         "writes one with run.env's track and race")
            continue
        table = _worker_table(found[n])
        data["imported"]["worker_env"][str(n)] = table
        env.update(table)  # prepare-config: os.environ.update(worker's values)
        read = _Reader(env, {k: found[n].name for k in table}, notes)
        override: dict[str, Any] = {"worker": n,
                                    "track": {"world": env.get("DR_WORLD_NAME", ""),
                                              "reverse": envfile.read_bool(
                                                  env.get("DR_TRAIN_REVERSE_DIRECTION", ""))},
                                    "race": _race(read, env)}
        if env.get("DR_CAR_COLOR"):
            override["car_color"] = env["DR_CAR_COLOR"]
        override.update({k: v for k, v in read.take(env_keys.TRAINING).items()
                         if k in ("alternate_direction", "change_start_position",
                                  "round_robin_advance_dist", "start_position_offset",
                                  "domain_randomization")})
        overrides.append(override)
    if overrides:
        data["workers"] = overrides


def _session_data(folder: Path, name: str | None) -> tuple[dict[str, Any], list[str]]:
    custom = _custom_dir(folder)
    root = custom.parent if custom.name == "custom_files" else custom
    notes: list[str] = []
    meta_text, meta = _read_json(custom / "model_metadata.json")
    data: dict[str, Any] = {
        "model": {"name": name or re.sub(r"[^A-Za-z0-9-]", "-", root.resolve().name)[:64]
                  or "imported"},
        **_metadata_data(meta, notes),
        "imported": {"model_metadata": meta_text, "worker_env": {}},
    }
    if (custom / "hyperparameters.json").is_file():
        hp_text, hp = _read_json(custom / "hyperparameters.json")
        if not isinstance(hp, dict):
            raise _refuse("hyperparameters.json: must be a JSON object")
        data["hyperparameters"] = _hyperparameters(hp, notes)
        data["imported"]["hyperparameters"] = hp_text
    else:
        notes.append("no hyperparameters.json: the algorithm's defaults apply")
    reward = custom / "reward_function.py"
    if reward.is_file():
        data["reward"] = {"template": None, "code": _read_text(reward)}
    else:
        notes.append("no reward_function.py: the centerline template applies")
    _env_data(data, root, name, notes)
    return data, notes


def import_folder(folder: Path, name: str | None = None):
    """(Session, notes) from a DRfC folder; InvalidInput if DRfC or simapp would refuse it or
    the session breaks a rule. The notes are kept in session.imported.notes too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _refuse(f"{folder}: not a folder")
    _ROOT.append(folder.resolve())
    try:
        data, notes = _session_data(folder, name)
    except UnicodeDecodeError as exc:
        raise _refuse(f"{folder}: a file is not UTF-8 text ({exc.reason})") from None
    finally:
        _ROOT.pop()
    session, problems = problems_in(data)
    if session is None or errors(problems):
        raise InvalidInput(errors(problems) or problems)
    notes += changes(session)
    notes += [f"warning: {p.path}: {p.message}" for p in problems if not p.is_error]
    notes = list(dict.fromkeys(notes))  # a key read for several workers is named once
    session.imported.notes = notes
    return session, notes


# -- what generate changes ----------------------------------------------------------------------
def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def changes(session) -> list[str]:
    """"file KEY: old -> new" for every value the generated files give differently from the
    imported ones, read back as DRfC and simapp read them."""
    from drtui.files import render

    imported, out = session.imported, []
    before: dict[str, tuple[str, str | None]] = {}
    exported: dict[str, str] = {}
    for file, table in (("system.env", imported.system_env), ("run.env", imported.run_env)):
        for key, value in envfile.evaluate(list(table.items()), exported).items():
            before[key] = (file, value)
    after = render.exported_env(render.system_env_values(session))
    after = render.exported_env(render.run_env_values(session), after)
    for key, (file, old) in before.items():
        if old is not None and after.get(key) != old:
            out.append(f"{file} {key}: {_show(old)} -> "
                       f"{_show(after[key]) if key in after else 'not set'}")
    for worker, table in imported.worker_env.items():
        written = {k: envfile.format_value(v)
                   for k, v in render.worker_env_values(session, int(worker)).items()}
        for key, old in table.items():
            if written.get(key) != old:
                out.append(f"worker-{worker}.env {key}: {_show(old)} -> "
                           f"{_show(written[key]) if key in written else 'not set'}")
    for file, original, text in (
            ("model_metadata.json", imported.model_metadata, render.model_metadata_json(session)),
            ("hyperparameters.json", imported.hyperparameters,
             render.hyperparameters_json(session))):
        if not original:
            continue
        old, new = json.loads(original), json.loads(text)
        for key in old:
            if old[key] != new.get(key, ...):
                out.append(f"{file} {key}: {_show(old[key])} -> "
                           f"{_show(new[key]) if key in new else 'not set'}")
    return out
