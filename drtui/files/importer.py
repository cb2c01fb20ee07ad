"""DRfC folder -> Session: read custom_files (model_metadata.json, hyperparameters.json,
reward_function.py) and, when present, run.env, system.env and worker-N.env.

The folder may be a DRfC install (custom_files/ beside run.env) or a folder holding the
three custom files directly. Values the session does not model are reported, not dropped
silently.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.files.envfile import read_env_file, read_worker_env
from drtui.session.validate import Problem, problems_in

_TRUE = {"true", "1", "yes"}


def _bool(text: str) -> bool:
    return text.strip().lower() in _TRUE


def _num(text: str) -> float:
    return float(text)


def _custom_dir(folder: Path) -> Path:
    for candidate in (folder / "custom_files", folder):
        if (candidate / "model_metadata.json").is_file():
            return candidate
    raise InvalidInput([Problem("", f"{folder}: no model_metadata.json here or in "
                                    "custom_files/")])


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem("", f"{path.name}: not valid JSON ({exc})")]) from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", type(None): "null"}.get(type(data), "a number")
        raise InvalidInput([Problem("", f"{path.name}: must be a JSON object of keys and "
                                        f"values, not {kind}")])
    return data


_ROOT: list[Path] = []  # the folder being imported (import_folder sets it)


def _read_text(path: Path) -> str:
    """A file of the folder being imported; a symbolic link that leads outside the folder is
    refused (an import must not read /etc/shadow into a session), and so is anything but a
    regular file of at most 16 MiB."""
    import stat

    resolved = path.resolve()
    if _ROOT and not resolved.is_relative_to(_ROOT[-1]):
        raise InvalidInput([Problem("", f"{path.name}: a symbolic link to {resolved}, outside "
                                        f"the folder {_ROOT[-1]}: refused; copy the file in")])
    info = resolved.stat()
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput([Problem("", f"{path.name}: not a regular file")])
    if info.st_size > 16 << 20:
        raise InvalidInput([Problem("", f"{path.name}: {info.st_size} bytes, over the 16 MiB "
                                        "a DRfC file may have")])
    try:
        return resolved.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem("", f"{path.name}: not UTF-8 text ({exc.reason} at byte "
                                        f"{exc.start})")]) from None


def _action_space(meta: dict[str, Any]) -> dict[str, Any]:
    kind = str(meta.get("action_space_type", "discrete")).lower()
    space = meta.get("action_space")
    if kind == "continuous":
        return {"type": "continuous",
                "steering_angle": {"low": float(space["steering_angle"]["low"]),
                                   "high": float(space["steering_angle"]["high"])},
                "speed": {"low": float(space["speed"]["low"]),
                          "high": float(space["speed"]["high"])}}
    actions = [{"steering_angle": float(a["steering_angle"]), "speed": float(a["speed"])}
               for a in space]
    out: dict[str, Any] = {"type": "discrete", "actions": actions}
    if any("index" in a for a in space):
        out["write_index"] = True
    return out


def _hyperparameters(hp: dict[str, Any]) -> dict[str, Any]:
    from drtui.catalog.algorithms import HYPERPARAMETERS

    out = {}
    for key, value in hp.items():
        spec = HYPERPARAMETERS.get(key)
        if spec is None:
            continue  # SageMaker-only keys (s3_bucket, ...) are not part of a model
        out[key] = spec.type(value.lower() if isinstance(value, str) else value)
    return out


def _race_from_env(env: dict[str, str]) -> dict[str, Any]:
    race: dict[str, Any] = {"type": env.get("DR_RACE_TYPE", "TIME_TRIAL")}
    oa_keys = {
        "number_of_obstacles": ("DR_OA_NUMBER_OF_OBSTACLES", int),
        "min_distance_between_obstacles": ("DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES", _num),
        "randomize_obstacle_locations": ("DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS", _bool),
        "is_obstacle_bot_car": ("DR_OA_IS_OBSTACLE_BOT_CAR", _bool),
        "obstacle_type": ("DR_OA_OBSTACLE_TYPE", str),
    }
    h2b_keys = {
        "is_lane_change": ("DR_H2B_IS_LANE_CHANGE", _bool),
        "lower_lane_change_time": ("DR_H2B_LOWER_LANE_CHANGE_TIME", _num),
        "upper_lane_change_time": ("DR_H2B_UPPER_LANE_CHANGE_TIME", _num),
        "lane_change_distance": ("DR_H2B_LANE_CHANGE_DISTANCE", _num),
        "number_of_bot_cars": ("DR_H2B_NUMBER_OF_BOT_CARS", int),
        "min_distance_between_bot_cars": ("DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS", _num),
        "randomize_bot_car_locations": ("DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS", _bool),
        "bot_car_speed": ("DR_H2B_BOT_CAR_SPEED", _num),
        "penalty_seconds": ("DR_H2B_BOT_CAR_PENALTY", _num),
    }
    oa = {k: conv(env[e]) for k, (e, conv) in oa_keys.items() if env.get(e, "") != ""}
    positions = env.get("DR_OA_OBJECT_POSITIONS", "").strip('"')
    if positions:
        oa["object_positions"] = [
            {"progress": float(p.split(",")[0]), "lane": int(float(p.split(",")[1]))}
            for p in positions.split(";") if p]
    race["object_avoidance"] = oa
    race["head_to_bot"] = {k: conv(env[e]) for k, (e, conv) in h2b_keys.items()
                           if env.get(e, "") != ""}
    return race


def _training_from_env(env: dict[str, str], out: dict[str, Any]) -> None:
    t = out.setdefault("training", {})
    simple = {
        "change_start_position": ("DR_TRAIN_CHANGE_START_POSITION", _bool),
        "alternate_direction": ("DR_TRAIN_ALTERNATE_DRIVING_DIRECTION", _bool),
        "start_position_offset": ("DR_TRAIN_START_POSITION_OFFSET", _num),
        "round_robin_advance_dist": ("DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST", _num),
        "domain_randomization": ("DR_ENABLE_DOMAIN_RANDOMIZATION", _bool),
        "min_eval_trials": ("DR_TRAIN_MIN_EVAL_TRIALS", int),
        "best_model_metric": ("DR_TRAIN_BEST_MODEL_METRIC", str),
        "max_steps_per_iteration": ("DR_TRAIN_MAX_STEPS_PER_ITERATION", int),
    }
    for key, (name, conv) in simple.items():
        if env.get(name, "") not in ("", None) and not env[name].startswith("$"):
            t[key] = conv(env[name])


def _session_data(folder: Path, name: str | None) -> tuple[dict[str, Any], list[str]]:
    custom = _custom_dir(folder)
    root = custom.parent if custom.name == "custom_files" else custom
    notes: list[str] = []
    meta = _read_json(custom / "model_metadata.json")
    data: dict[str, Any] = {
        "model": {"name": name or re.sub(r"[^A-Za-z0-9-]", "-", root.resolve().name)[:64]
                  or "imported"},
        "car": {"sensors": list(meta.get("sensor", ["FRONT_FACING_CAMERA"]))},
        "action_space": _action_space(meta),
        "network": {"architecture": meta.get("neural_network",
                                             "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")},
        "training": {"algorithm": str(meta.get("training_algorithm", "clipped_ppo")).lower()},
        "metadata_version": meta.get("version", "5"),
    }
    if "lidar_config" in meta:
        data["car"]["lidar_config"] = meta["lidar_config"]
    if (custom / "hyperparameters.json").is_file():
        data["hyperparameters"] = _hyperparameters(_read_json(custom / "hyperparameters.json"))
    else:
        notes.append("no hyperparameters.json: the algorithm's defaults apply")
    reward = custom / "reward_function.py"
    if reward.is_file():
        data["reward"] = {"template": None, "code": _read_text(reward)}
    else:
        notes.append("no reward_function.py: the centerline template applies")

    run_env = root / "run.env"
    if run_env.is_file():
        _read_text(run_env)  # inside the folder, a regular file
        env = read_env_file(run_env)
        prefix = env.get("DR_LOCAL_S3_MODEL_PREFIX", "")
        if name is None and re.fullmatch(r"[A-Za-z0-9-]{1,64}", prefix):
            data["model"]["name"] = prefix  # in DRfC the model prefix is the model's name
        data["track"] = {"world": env.get("DR_WORLD_NAME", "reInvent2019_track"),
                         "reverse": _bool(env.get("DR_TRAIN_REVERSE_DIRECTION", "False"))}
        data["race"] = _race_from_env(env)
        car = data["car"]
        if env.get("DR_CAR_NAME") and not env["DR_CAR_NAME"].startswith("$"):
            car["name"] = env["DR_CAR_NAME"]
        if env.get("DR_CAR_COLOR"):
            car["color"] = env["DR_CAR_COLOR"]
        if env.get("DR_CAR_BODY_SHELL_TYPE"):
            car["body_shell"] = env["DR_CAR_BODY_SHELL_TYPE"]
        _training_from_env(env, data)
        ev = {"number_of_trials": ("DR_EVAL_NUMBER_OF_TRIALS", int),
              "is_continuous": ("DR_EVAL_IS_CONTINUOUS", _bool),
              "max_resets": ("DR_EVAL_MAX_RESETS", int),
              "off_track_penalty": ("DR_EVAL_OFF_TRACK_PENALTY", _num),
              "collision_penalty": ("DR_EVAL_COLLISION_PENALTY", _num),
              "checkpoint": ("DR_EVAL_CHECKPOINT", str),
              "reverse_direction": ("DR_EVAL_REVERSE_DIRECTION", _bool),
              "save_mp4": ("DR_EVAL_SAVE_MP4", _bool),
              "reset_behind_dist": ("DR_EVAL_RESET_BEHIND_DIST", _num),
              "debug_reward": ("DR_EVAL_DEBUG_REWARD", _bool),
              "opponent_model_prefix": ("DR_EVAL_OPP_S3_MODEL_PREFIX", str),
              "opponent_car_name": ("DR_EVAL_OPP_CAR_NAME", str),
              "opponent_body_shell": ("DR_EVAL_OPP_CAR_BODY_SHELL_TYPE", str)}
        data["evaluation"] = {k: c(env[e]) for k, (e, c) in ev.items()
                              if env.get(e) and not env[e].startswith("$")}
        drfc: dict[str, Any] = {}
        if prefix and prefix != data["model"]["name"]:
            drfc["model_prefix"] = prefix
        if env.get("DR_RUN_ID", "").isdigit():
            drfc["run_id"] = int(env["DR_RUN_ID"])
        data["backend"] = {"provider": "local", "runner": "drfc", "drfc": drfc}
    else:
        notes.append("no run.env: track, race and training settings are drtui's defaults")

    system_env = root / "system.env"
    if system_env.is_file():
        _read_text(system_env)
        env = read_env_file(system_env)
        drfc = data.setdefault("backend", {"provider": "local", "runner": "drfc"}) \
            .setdefault("drfc", {})
        mapping = {"cloud": "DR_CLOUD", "region": "DR_AWS_APP_REGION",
                   "local_s3_bucket": "DR_LOCAL_S3_BUCKET", "local_s3_profile": "DR_LOCAL_S3_PROFILE",
                   "upload_s3_bucket": "DR_UPLOAD_S3_BUCKET",
                   "upload_s3_profile": "DR_UPLOAD_S3_PROFILE",
                   "simapp_version": "DR_SIMAPP_VERSION", "docker_style": "DR_DOCKER_STYLE"}
        for key, name in mapping.items():
            value = env.get(name, "")
            if value and not value.startswith("<"):  # skip DRfC's unfilled placeholders
                drfc[key] = value
        if env.get("DR_WORKERS", "").isdigit():
            data.setdefault("training", {})["workers"] = int(env["DR_WORKERS"])

    workers = []
    for path in sorted(root.glob("worker-*.env")):
        match = re.fullmatch(r"worker-(\d+)\.env", path.name)
        if not match:
            continue
        env = read_worker_env(_read_text(path))
        override: dict[str, Any] = {"worker": int(match.group(1))}
        if env.get("DR_WORLD_NAME"):
            override["track"] = {"world": env["DR_WORLD_NAME"],
                                 "reverse": _bool(env.get("DR_TRAIN_REVERSE_DIRECTION", "False"))}
        override["race"] = _race_from_env(env)
        if env.get("DR_CAR_COLOR"):
            override["car_color"] = env["DR_CAR_COLOR"]
        t: dict[str, Any] = {}
        _training_from_env(env, {"training": t})
        for key in ("alternate_direction", "change_start_position", "round_robin_advance_dist",
                    "start_position_offset", "domain_randomization"):
            if key in t:
                override[key] = t[key]
        workers.append(override)
    if workers:
        data["workers"] = workers
    return data, notes


def import_folder(folder: Path, name: str | None = None):
    """(Session, notes) from a DRfC folder; InvalidInput if the result breaks a rule."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput([Problem("", f"{folder}: not a folder")])
    _ROOT.append(folder.resolve())
    try:
        data, notes = _session_data(folder, name)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput([Problem("", f"{folder}: unexpected DRfC file content: {exc}")]) from None
    finally:
        _ROOT.pop()
    session, problems = problems_in(data)
    if session is None or problems:
        raise InvalidInput(problems)
    return session, notes
