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
from drtui.files import envfile
from drtui.session.model import Race, Session, Track
from drtui.problem import Problem

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


def hyperparameters_json(session: Session) -> str:
    hp = session.effective_hyperparameters()
    from drtui.catalog.algorithms import HYPERPARAMETERS

    typed = {k: HYPERPARAMETERS[k].type(v) for k, v in hp.items()}  # 64.0 never becomes "64.0"
    return _render("hyperparameters.json.j2", hyperparameters=typed)


def model_metadata_json(session: Session) -> str:
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
    return _render("model_metadata.json.j2", **ctx)


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
    from drtui.reward import templates

    return templates.render(r.template, r.params)


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


def run_env_values(session: Session) -> dict[str, Any]:
    s, t, ev = session, session.training, session.evaluation
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
    env.update({
        "DR_LOCAL_S3_MODEL_PREFIX": prefix,
        "DR_LOCAL_S3_PRETRAINED": False,
        "DR_LOCAL_S3_PRETRAINED_PREFIX": "rl-sagemaker-pretrained",
        "DR_LOCAL_S3_PRETRAINED_CHECKPOINT": "last",
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


def system_env_values(session: Session) -> dict[str, Any]:
    d = session.backend.drfc
    return {
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
        "DR_SIMAPP_VERSION": d.simapp_version,
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


def worker_env_values(session: Session, worker: int) -> dict[str, Any]:
    """worker-N.env: worker 1's track and race settings, with this worker's overrides."""
    o = session.worker_override(worker)
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
    from drtui.session.store import atomic_write

    written = []
    for name, text in files.items():
        path = Path(out_dir) / (name if flat else relative_path(name))
        atomic_write(path, text)
        written.append(path)
    return written
