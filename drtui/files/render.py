# Over 450 lines: every DRfC file of a session, and the imported-file round trip those same files
# share.
"""Session -> the files DeepRacer training reads, rendered from jinja2 templates in
drtui/assets/templates with StrictUndefined, so a missing value fails loudly.

Layout on disk is deepracer-for-cloud's: custom_files/{hyperparameters.json,
model_metadata.json, reward_function.py} and run.env, system.env, worker-N.env beside it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from drtui.errors import InvalidInput
from drtui.files import env_keys, envfile
from drtui.fsio import atomic_write
from drtui.problem import Problem
from drtui.session.model import Race, Session, Track, Training

CUSTOM_FILES = ("hyperparameters.json", "model_metadata.json", "reward_function.py")
SIMAPP_SOURCE = "awsdeepracercommunity/deepracer-simapp"


@cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("drtui.assets", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["json"] = lambda v: json.dumps(v)
    env.filters["env"] = envfile.format_value
    return env


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def relative_path(name: str) -> str:
    """Where a file of the set lives under the output folder."""
    return f"custom_files/{name}" if name in CUSTOM_FILES else name


def _typed(key: str, value: Any) -> Any:
    """A hyperparameter as its spec types it; a float-typed key given as a whole number
    stays a whole number (DRfC's file writes 0 and 1, simapp float()s them)."""
    from drtui.catalog.algorithms import HYPERPARAMETERS

    spec = HYPERPARAMETERS[key].type
    if spec is float and isinstance(value, int) and not isinstance(value, bool):
        return value
    return spec(value)


def same_hyperparameter(key: str, original: Any, value: Any) -> bool:
    """Whether an imported file's value means the session's (as drtui's importer read it)."""
    from drtui.catalog.algorithms import HYPERPARAMETERS

    try:
        spec = HYPERPARAMETERS[key].type
        read = spec(original.lower() if isinstance(original, str) and spec is str else original)
    except (TypeError, ValueError):
        return False
    return read == value


def hyperparameters_json(session: Session) -> str:
    hp = session.effective_hyperparameters()
    original = session.imported.hyperparameters
    if not original:
        typed = {k: _typed(k, v) for k, v in hp.items()}  # 64.0 never becomes "64.0"
        return _render("hyperparameters.json.j2", hyperparameters=typed)
    # imported: the file as it was, but for the values the session changed; a key the file
    # left out stays out (simapp's own default applies) unless the session sets it
    data = json.loads(original)
    changed = False
    for key, value in hp.items():
        if key in data:
            if not same_hyperparameter(key, data[key], value):
                data[key], changed = _typed(key, value), True
        elif getattr(session.hyperparameters, key) is not None:
            data[key], changed = _typed(key, value), True
    return json.dumps(data, indent=2) + "\n" if changed else original


def _metadata_values(session: Session) -> dict[str, Any]:
    """The modelled keys of model_metadata.json, as drtui writes them for a new session."""
    return json.loads(_new_model_metadata_json(session))


def _new_model_metadata_json(session: Session) -> str:
    space = session.action_space
    ctx: dict[str, Any] = dict(
        action_space_type=space.type,
        sensors=list(session.car.sensors),
        neural_network=session.network.architecture,
        training_algorithm=session.training.algorithm,
        version=session.metadata_version,
        write_index=space.write_index,
        lidar_config=(session.car.lidar_config.model_dump()
                      if session.car.lidar_config else None),
    )
    if space.type == "discrete":
        ctx["actions"] = space.discrete_actions()
    else:
        ctx["steering"], ctx["speed"] = space.steering_angle, space.speed
    text = _render("model_metadata.json.j2", **ctx)
    if session.metadata_version == "":  # a 2019 file: no version key at all
        data = json.loads(text)
        del data["version"]
        text = json.dumps(data, indent=2) + "\n"
    return text


def _same_metadata(key: str, original: dict[str, Any], session: Session) -> bool:
    """Whether the imported file's key means what the session holds, read as simapp reads it."""
    from drtui.files import metadata

    space = session.action_space
    try:
        if key == "action_space":
            read = metadata.actions(original)
            if space.type == "continuous":
                steering, speed = space.ranges()
                return read == {"steering_angle": (steering.low, steering.high),
                                "speed": (speed.low, speed.high)}
            return read == [(a.steering_angle, a.speed) for a in space.discrete_actions()]
        if key == "action_space_type":
            return metadata.space_type(original) == space.type
        if key == "sensor":
            return metadata.sensors(original) == list(session.car.sensors)
        if key == "neural_network":
            return metadata.network(original) == session.network.architecture
        if key == "training_algorithm":
            return metadata.algorithm(original) == session.training.algorithm
        if key == "lidar_config":
            config = session.car.lidar_config
            return metadata.lidar_config(original) == (config.model_dump() if config else None)
        if key == "version":
            if "version" not in original or session.metadata_version == "":
                return ("version" in original) == (session.metadata_version != "")
            return float(original["version"]) == float(session.metadata_version)
    except (KeyError, TypeError, ValueError):
        return False
    return True  # a key drtui does not model


METADATA_KEYS = ("action_space", "sensor", "neural_network", "training_algorithm",
                 "action_space_type", "lidar_config", "version")


def model_metadata_json(session: Session) -> str:
    original = session.imported.model_metadata
    if not original:
        return _new_model_metadata_json(session)
    # imported: the file as it was (its own numbers, `index` entries and keys drtui does not
    # model such as preprocess_type), but for what the session changed
    data, ours = json.loads(original), _metadata_values(session)
    changed = False
    for key in METADATA_KEYS:
        if key in data or key in ours:
            if not _same_metadata(key, data, session):
                if key in ours:
                    data[key] = ours[key]
                else:
                    data.pop(key, None)
                changed = True
    return json.dumps(data, indent=2) + "\n" if changed else original


def reward_function_py(session: Session, base_dir: Path | None = None) -> str:
    r = session.reward
    if r.code is not None:
        return r.code if r.code.endswith("\n") else r.code + "\n"
    if r.file is not None:
        path = Path(r.file).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput([Problem("reward.file", f"cannot read {r.file}: "
                                                       f"{exc.strerror}")]) from None
    from drtui.session.raceline import reward_code

    if r.template is None:  # the session's rule: exactly one of template, file or code
        raise InvalidInput([Problem("reward", "set exactly one of template, file or code")])
    return reward_code(session, base_dir)


def _object_positions(race: Race) -> str:
    positions = race.object_avoidance.object_positions
    if not positions:
        return ""
    return '"' + ";".join(f"{p.progress!r},{p.lane}" for p in positions) + '"'


def _track_race_env(track: Track, race: Race, *, penalty: bool = True) -> dict[str, Any]:
    oa, h2b = race.object_avoidance, race.head_to_bot
    env: dict[str, Any] = {
        "DR_OA_NUMBER_OF_OBSTACLES": oa.number_of_obstacles,
        "DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES": oa.min_distance_between_obstacles,
        "DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS": oa.randomize_obstacle_locations,
        "DR_OA_IS_OBSTACLE_BOT_CAR": oa.is_obstacle_bot_car,
        "DR_OA_OBSTACLE_TYPE": oa.obstacle_type,
        "DR_OA_OBJECT_POSITIONS": _object_positions(race),
        "DR_H2B_IS_LANE_CHANGE": h2b.is_lane_change,
        "DR_H2B_LOWER_LANE_CHANGE_TIME": h2b.lower_lane_change_time,
        "DR_H2B_UPPER_LANE_CHANGE_TIME": h2b.upper_lane_change_time,
        "DR_H2B_LANE_CHANGE_DISTANCE": h2b.lane_change_distance,
        "DR_H2B_NUMBER_OF_BOT_CARS": h2b.number_of_bot_cars,
        "DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS": h2b.min_distance_between_bot_cars,
        "DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS": h2b.randomize_bot_car_locations,
        "DR_H2B_BOT_CAR_SPEED": h2b.bot_car_speed,
    }
    if penalty:
        env["DR_H2B_BOT_CAR_PENALTY"] = h2b.penalty_seconds
    return env


def model_prefix(session: Session) -> str:
    return session.backend.drfc.model_prefix or session.model.name


def _run_env(session: Session) -> dict[str, Any]:
    s, t, ev, d = session, session.training, session.evaluation, session.backend.drfc
    prefix = model_prefix(s)
    env: dict[str, Any] = {
        "DR_RUN_ID": s.backend.drfc.run_id,
        "DR_WORLD_NAME": s.track.world,
        "DR_RACE_TYPE": s.race.type,
        "DR_CAR_NAME": s.car.name,
        "DR_CAR_BODY_SHELL_TYPE": s.car.body_shell,
        "DR_CAR_COLOR": s.car.color,
        "DR_DISPLAY_NAME": s.car.name,
        "DR_RACER_NAME": s.car.name,
        "DR_ENABLE_DOMAIN_RANDOMIZATION": t.domain_randomization,
        "DR_EVAL_NUMBER_OF_TRIALS": ev.number_of_trials,
        "DR_EVAL_IS_CONTINUOUS": ev.is_continuous,
        "DR_EVAL_MAX_RESETS": ev.max_resets,
        "DR_EVAL_OFF_TRACK_PENALTY": ev.off_track_penalty,
        "DR_EVAL_COLLISION_PENALTY": ev.collision_penalty,
        # DRfC's evaluation script reads DR_COLLISION_PENALTY, not the documented name
        "DR_COLLISION_PENALTY": ev.collision_penalty,
        "DR_EVAL_SAVE_MP4": ev.save_mp4,
        "DR_EVAL_CHECKPOINT": ev.checkpoint,
        "DR_EVAL_OPP_S3_MODEL_PREFIX": ev.opponent_model_prefix,
        "DR_EVAL_OPP_CAR_BODY_SHELL_TYPE": ev.opponent_body_shell,
        "DR_EVAL_OPP_CAR_NAME": ev.opponent_car_name,
        "DR_EVAL_OPP_DISPLAY_NAME": ev.opponent_car_name,
        "DR_EVAL_OPP_RACER_NAME": ev.opponent_car_name,
        "DR_EVAL_DEBUG_REWARD": ev.debug_reward,
        "DR_EVAL_RESET_BEHIND_DIST": ev.reset_behind_dist,
        "DR_EVAL_REVERSE_DIRECTION": ev.reverse_direction,
        "DR_TRAIN_CHANGE_START_POSITION": t.change_start_position,
        "DR_TRAIN_REVERSE_DIRECTION": s.track.reverse,
        "DR_TRAIN_ALTERNATE_DRIVING_DIRECTION": t.alternate_direction,
        "DR_TRAIN_START_POSITION_OFFSET": t.start_position_offset,
        "DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST": t.round_robin_advance_dist,
        "DR_TRAIN_MULTI_CONFIG": bool(s.workers) and t.workers > 1,
        "DR_TRAIN_MIN_EVAL_TRIALS": t.min_eval_trials,
        "DR_TRAIN_BEST_MODEL_METRIC": t.best_model_metric,
    }
    if t.max_steps_per_iteration is not None:
        env["DR_TRAIN_MAX_STEPS_PER_ITERATION"] = t.max_steps_per_iteration
    if d.on_the_spot is not None:
        spot = d.on_the_spot
        env.update({"DR_REGULAR_UPLOAD": spot.regular_upload_minutes,
                    "DR_REGULAR_PHYSICAL_MODEL_UPLOAD": spot.regular_physical_model_upload_minutes,
                    "DR_CONTINUE_ON_SPOT_INTERRUPTION": spot.continue_on_spot_interruption,
                    "DR_IMPORT_MODEL_ON_COMPLETION": spot.import_model_on_completion})
    env.update({
        "DR_LOCAL_S3_MODEL_PREFIX": prefix,
        "DR_LOCAL_S3_PRETRAINED": d.pretrained,
        "DR_LOCAL_S3_PRETRAINED_PREFIX": d.pretrained_prefix,
        "DR_LOCAL_S3_PRETRAINED_CHECKPOINT": d.pretrained_checkpoint,
        "DR_LOCAL_S3_CUSTOM_FILES_PREFIX": "custom_files",
        "DR_LOCAL_S3_TRAINING_PARAMS_FILE": "training_params.yaml",
        "DR_LOCAL_S3_EVAL_PARAMS_FILE": "evaluation_params.yaml",
        # literal values instead of DRfC's $VAR references: identical once expanded
        "DR_LOCAL_S3_MODEL_METADATA_KEY": "custom_files/model_metadata.json",
        "DR_LOCAL_S3_HYPERPARAMETERS_KEY": "custom_files/hyperparameters.json",
        "DR_LOCAL_S3_REWARD_KEY": "custom_files/reward_function.py",
        "DR_LOCAL_S3_METRICS_PREFIX": f"{prefix}/metrics",
        "DR_UPLOAD_S3_PREFIX": f"{prefix}-1",
    })
    env.update(_track_race_env(s.track, s.race))
    return env


def _system_env(session: Session) -> dict[str, Any]:
    d = session.backend.drfc
    images = {"DR_SIMAPP_VERSION": d.simapp_version, "DR_SAGEMAKER_IMAGE": d.sagemaker_image,
              "DR_ROBOMAKER_IMAGE": d.robomaker_image, "DR_COACH_IMAGE": d.coach_image}
    env = {
        "DR_CLOUD": d.cloud,
        "DR_AWS_APP_REGION": d.region,
        "DR_UPLOAD_S3_PROFILE": d.upload_s3_profile,
        "DR_UPLOAD_S3_BUCKET": d.upload_s3_bucket,
        "DR_LOCAL_S3_BUCKET": d.local_s3_bucket,
        "DR_LOCAL_S3_PROFILE": d.local_s3_profile,
        "DR_GUI_ENABLE": False,
        "DR_KINESIS_STREAM_NAME": "",
        "DR_CAMERA_MAIN_ENABLE": True,
        "DR_CAMERA_SUB_ENABLE": False,
        "DR_CAMERA_KVS_ENABLE": True,
        "DR_ENABLE_EXTRA_KVS_OVERLAY": False,
        "DR_SIMAPP_SOURCE": SIMAPP_SOURCE,
        **{k: v for k, v in images.items() if v},  # "": that generation's key is not used
        "DR_MINIO_IMAGE": "latest",
        "DR_ANALYSIS_IMAGE": "cpu",
        "DR_WORKERS": session.training.workers,
        "DR_ROBOMAKER_MOUNT_LOGS": False,
        "DR_CLOUD_WATCH_ENABLE": False,
        "DR_CLOUD_WATCH_LOG_STREAM_PREFIX": "",
        "DR_DOCKER_STYLE": d.docker_style,
        "DR_HOST_X": False,
        "DR_WEBVIEWER_PORT": 8100,
        "DR_QUIET_ACTIVATE": False,
    }
    return env


def _worker_env(session: Session, worker: int | None) -> dict[str, Any]:
    o = session.worker_override(worker) if worker is not None else None
    t = session.training
    track = (o.track if o and o.track else None) or session.track
    race = (o.race if o and o.race else None) or session.race

    def pick(name: str, default: Any) -> Any:
        value = getattr(o, name, None) if o else None
        return default if value is None else value

    env: dict[str, Any] = {
        "DR_WORLD_NAME": track.world,
        "DR_RACE_TYPE": race.type,
        "DR_CAR_COLOR": pick("car_color", session.car.color),
        "DR_ENABLE_DOMAIN_RANDOMIZATION": pick("domain_randomization", t.domain_randomization),
        "DR_TRAIN_CHANGE_START_POSITION": pick("change_start_position", t.change_start_position),
        "DR_TRAIN_REVERSE_DIRECTION": track.reverse,
        "DR_TRAIN_ALTERNATE_DRIVING_DIRECTION": pick("alternate_direction", t.alternate_direction),
        "DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST": pick("round_robin_advance_dist",
                                                  t.round_robin_advance_dist),
        "DR_TRAIN_START_POSITION_OFFSET": pick("start_position_offset", t.start_position_offset),
    }
    env.update(_track_race_env(track, race))
    return env


# Keys drtui writes with values of its own, not from a session setting (derived names and
# prefixes, DRfC's switches drtui leaves at their defaults). A new session gets drtui's
# values; an imported one keeps its text for them, and does not gain those it lacked.
_RUN_FIXED = frozenset({
    "DR_DISPLAY_NAME", "DR_RACER_NAME", "DR_COLLISION_PENALTY", "DR_EVAL_OPP_DISPLAY_NAME",
    "DR_EVAL_OPP_RACER_NAME", "DR_LOCAL_S3_CUSTOM_FILES_PREFIX",
    "DR_LOCAL_S3_TRAINING_PARAMS_FILE", "DR_LOCAL_S3_EVAL_PARAMS_FILE",
    "DR_LOCAL_S3_MODEL_METADATA_KEY", "DR_LOCAL_S3_HYPERPARAMETERS_KEY",
    "DR_LOCAL_S3_REWARD_KEY", "DR_LOCAL_S3_METRICS_PREFIX", "DR_UPLOAD_S3_PREFIX"})
_SYSTEM_FIXED = frozenset({
    "DR_GUI_ENABLE", "DR_KINESIS_STREAM_NAME", "DR_CAMERA_MAIN_ENABLE", "DR_CAMERA_SUB_ENABLE",
    "DR_CAMERA_KVS_ENABLE", "DR_ENABLE_EXTRA_KVS_OVERLAY", "DR_SIMAPP_SOURCE", "DR_MINIO_IMAGE",
    "DR_ANALYSIS_IMAGE", "DR_ROBOMAKER_MOUNT_LOGS", "DR_CLOUD_WATCH_ENABLE",
    "DR_CLOUD_WATCH_LOG_STREAM_PREFIX", "DR_HOST_X", "DR_WEBVIEWER_PORT", "DR_QUIET_ACTIVATE"})


def same_env_value(key: str, text: str | None, value: Any) -> bool:
    """Whether an env value as DRfC reads it (None: drtui cannot evaluate it) means the
    session's value, read the way drtui's importer reads that key."""
    if text is None or isinstance(value, envfile.Verbatim):
        return True
    read = env_keys.reader(key)
    try:
        if read is not None and not isinstance(value, str):
            return read(text) == value
        if isinstance(value, bool):
            return envfile.read_bool(text) == value
        if isinstance(value, (int, float)):
            return float(text) == float(value)
    except ValueError:
        return False
    return text in (value, value.strip('"'))  # object positions are written quoted


def _keep_imported(original: dict[str, str], values: dict[str, Any], fixed: frozenset[str],
                   reference: dict[str, Any], env: dict[str, str] | None) -> dict[str, Any]:
    """An imported env file with the session's values: its own keys in its own order, each
    as written unless drtui models it and the session's value differs from what the text
    evaluates to (env: what activate.sh has exported so far; None for a worker file, which
    prepare-config reads literally); then the keys it lacked whose session value differs
    from reference (drtui's value for a session that changed nothing)."""
    out: dict[str, Any] = {}
    for key, text in original.items():
        read = text if env is None else envfile.expand(text, env)
        keep = key not in values or key in fixed or same_env_value(key, read, values[key])
        out[key] = envfile.Verbatim(text) if keep else values[key]
        if env is not None:
            envfile.evaluate([(key, envfile.format_value(out[key]))], env)
    for key, value in values.items():
        if key not in original and key not in fixed and \
                envfile.format_value(value) != envfile.format_value(reference.get(key, "")):
            out[key] = value
            if env is not None:
                envfile.evaluate([(key, envfile.format_value(value))], env)
    return out


def _unchanged(session: Session) -> Session:
    """A session with drtui's defaults where an import sets nothing (the reference for keys
    an imported file did not have)."""
    return Session(model=session.model, training=Training(workers=session.training.workers))


def exported_env(values: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    """What activate.sh exports from an env file with these values, after env."""
    env = dict(env or {})
    envfile.evaluate([(k, envfile.format_value(v)) for k, v in values.items()], env)
    return env


def system_env_values(session: Session) -> dict[str, Any]:
    values = _system_env(session)
    if not session.imported.system_env:
        return values
    return _keep_imported(session.imported.system_env, values, _SYSTEM_FIXED,
                          _system_env(_unchanged(session)), {})


def run_env_values(session: Session) -> dict[str, Any]:
    values = _run_env(session)
    if not session.imported.run_env:
        return values
    return _keep_imported(session.imported.run_env, values, _RUN_FIXED,
                          _run_env(_unchanged(session)),
                          exported_env(system_env_values(session)))


def worker_env_values(session: Session, worker: int) -> dict[str, Any]:
    """worker-N.env: worker 1's track and race settings, with this worker's overrides."""
    values = _worker_env(session, worker)
    original = session.imported.worker_env.get(str(worker))
    if original is None:
        return values
    return _keep_imported(original, values, frozenset(), _worker_env(session, None), None)


def render(session: Session, base_dir: Path | None = None, *, check: bool = True) -> dict[str, str]:
    """The file set, name -> text, in a stable order. Refuses a session with an error
    (`check=False` when the caller has just checked it)."""
    if check:  # the one check of a session, its reward run on sample params included
        from drtui.session.check import require

        require(session, base_dir)
    name = session.model.name
    files = {
        "hyperparameters.json": hyperparameters_json(session),
        "model_metadata.json": model_metadata_json(session),
        "reward_function.py": reward_function_py(session, base_dir),
        "system.env": _render("system.env.j2", model_name=name,
                              system=system_env_values(session)),
        "run.env": _render("run.env.j2", model_name=name, run=run_env_values(session)),
    }
    if session.workers and session.training.workers > 1:
        for n in range(2, session.training.workers + 1):
            files[f"worker-{n}.env"] = _render("worker.env.j2", model_name=name, worker=n,
                                               env=worker_env_values(session, n))
    return files


def write(files: dict[str, str], out_dir: Path, *, flat: bool = False) -> list[Path]:
    """Write each file atomically; returns the paths written."""
    written = []
    for name, text in files.items():
        path = Path(out_dir) / (name if flat else relative_path(name))
        atomic_write(path, text)
        written.append(path)
    return written
