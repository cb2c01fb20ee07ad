"""The Session: everything a DeepRacer model needs, as one pydantic model.

Field-level rules (types, ranges, names) live on the fields; rules that tie sections
together (sensors x network, algorithm x action space, research network x backend,
hyperparameter ranges per algorithm, reward template parameters) are in validate.py so that
every broken rule gets its own message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from drtui.session import backend as _backend
from drtui.session.actions import ActionSpace, Generator
from drtui.session.base import EnvStr, Section
from drtui.session.research import Research

if TYPE_CHECKING:
    from drtui.session.backend import BackendBase as Backend
else:  # built from the provider descriptors (session/providers.py)
    from drtui.session.backend import Backend

SCHEMA_VERSION = 1
RaceType = Literal["TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT"]
Algorithm = Literal["clipped_ppo", "sac"]
_MODEL_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")


class ModelInfo(Section):
    name: str
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str) -> str:
        if not _MODEL_NAME.fullmatch(value):
            raise ValueError("must be 1-64 characters of A-Z, a-z, 0-9 and '-' "
                             f"(got {value!r})")
        return value

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or len(value) > 500:
            raise ValueError("must be one line of at most 500 characters")
        return value


class LidarConfig(Section):
    """DISCRETIZED_SECTOR_LIDAR settings, as model_metadata.json's lidar_config."""

    num_sectors: int = Field(default=8, ge=1, le=64)
    num_values_per_sector: int = Field(default=8, ge=1, le=64)
    clipping_dist: float = Field(default=2.0, ge=0.15, le=12.0)

    @field_validator("num_sectors")
    @classmethod
    def _divides_64(cls, value: int) -> int:
        if 64 % value:
            raise ValueError("must divide the lidar's 64 beams (1, 2, 4, 8, 16, 32, 64); "
                             f"got {value}")
        return value


class Car(Section):
    name: EnvStr = Field(default="FastCar", min_length=1, max_length=64)
    color: Literal["Black", "Grey", "Blue", "Red", "Orange", "White", "Purple"] = "Red"
    body_shell: EnvStr = "deepracer"
    sensors: list[str] = ["FRONT_FACING_CAMERA"]
    lidar_config: LidarConfig | None = None


class Track(Section):
    world: EnvStr = "reInvent2019_track"
    reverse: bool = False  # drive the track backwards (DR_TRAIN_REVERSE_DIRECTION)
    # a route .npy of the session's own (relative to the session file), driven instead of
    # the world's shipped route by drtui's simulator, reward check, map and analysis
    route: str | None = Field(default=None, min_length=1)


class ObjectPosition(Section):
    progress: float = Field(ge=0.0, le=1.0, description="fraction of the lap")
    lane: Literal[-1, 1] = Field(description="-1 outer lane, 1 inner lane (as simapp places them)")


class ObjectAvoidance(Section):
    number_of_obstacles: int = Field(default=6, ge=1, le=12)
    min_distance_between_obstacles: float = Field(default=2.0, ge=0.5, le=10.0)
    randomize_obstacle_locations: bool = False
    is_obstacle_bot_car: bool = False
    obstacle_type: Literal["box_obstacle", "deepracer_box_obstacle", "amazon_box_obstacle"] = \
        "box_obstacle"
    # fixed positions; when given they replace number_of_obstacles
    object_positions: list[ObjectPosition] = []


class HeadToBot(Section):
    number_of_bot_cars: int = Field(default=3, ge=1, le=6)
    bot_car_speed: float = Field(default=0.2, ge=0.1, le=4.0)
    min_distance_between_bot_cars: float = Field(default=2.0, ge=0.5, le=10.0)
    randomize_bot_car_locations: bool = False
    is_lane_change: bool = False
    lower_lane_change_time: float = Field(default=3.0, ge=0.5, le=60.0)
    upper_lane_change_time: float = Field(default=5.0, ge=0.5, le=60.0)
    lane_change_distance: float = Field(default=1.0, ge=0.1, le=5.0)
    penalty_seconds: float = Field(default=5.0, ge=0.0, le=60.0)

    @model_validator(mode="after")
    def _times(self) -> HeadToBot:
        if self.lower_lane_change_time > self.upper_lane_change_time:
            raise ValueError("lower_lane_change_time must not exceed upper_lane_change_time")
        return self


class Race(Section):
    type: RaceType = "TIME_TRIAL"
    object_avoidance: ObjectAvoidance = ObjectAvoidance()
    head_to_bot: HeadToBot = HeadToBot()


class Network(Section):
    architecture: str = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"


class Hyperparameters(Section):
    """Every key simapp reads; None means the algorithm's default (catalog.algorithms)."""

    batch_size: int | None = None
    beta_entropy: float | None = None
    discount_factor: float | None = None
    e_greedy_value: float | None = None
    epsilon_steps: int | None = None
    exploration_type: str | None = None
    loss_type: str | None = None
    lr: float | None = None
    num_episodes_between_training: int | None = None
    num_epochs: int | None = None
    stack_size: int | None = None
    term_cond_avg_score: float | None = None
    term_cond_max_episodes: int | None = None
    sac_alpha: float | None = None

    @field_validator("*")
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        from drtui.catalog.algorithms import HYPERPARAMETERS

        # types and what the simulator fails on; ranges are session rules (validate.py),
        # warnings for an imported model that simapp trains as it is
        if value is not None and info.field_name is not None:
            problem = HYPERPARAMETERS[info.field_name].simapp_problem(value, algorithm=None)
            if problem:
                raise ValueError(problem)
        return value


class Reward(Section):
    """Exactly one of: a template with parameters, a path to a reward_function.py (relative
    to the session file), or the code inline."""

    template: str | None = None
    params: dict[str, float | int | bool] = {}
    file: str | None = None
    code: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Reward:
        given = [k for k in ("template", "file", "code") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of template, file or code "
                             f"(got {', '.join(given) or 'none'})")
        if self.params and self.template is None:
            raise ValueError("params only apply to a template")
        return self


class Training(Section):
    algorithm: Algorithm = "clipped_ppo"
    workers: int = Field(default=1, ge=1, le=16)
    time_limit_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    best_model_metric: Literal["progress", "reward", "laptime"] = "progress"
    change_start_position: bool = True
    start_position_offset: float = Field(default=0.0, ge=0.0, le=1.0)
    round_robin_advance_dist: float = Field(default=0.05, ge=0.0, le=1.0)
    alternate_direction: bool = False
    domain_randomization: bool = False
    min_eval_trials: int = Field(default=5, ge=1, le=100)
    max_steps_per_iteration: int | None = Field(default=None, ge=100, le=1_000_000)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)  # numpy's and torch's seed range


class WorkerOverride(Section):
    """A worker (2..workers) that trains on another track or race: worker-N.env."""

    worker: int = Field(ge=2, le=16)
    track: Track | None = None
    race: Race | None = None
    car_color: Literal["Black", "Grey", "Blue", "Red", "Orange", "White", "Purple"] | None = None
    alternate_direction: bool | None = None
    change_start_position: bool | None = None
    round_robin_advance_dist: float | None = Field(default=None, ge=0.0, le=1.0)
    start_position_offset: float | None = Field(default=None, ge=0.0, le=1.0)
    domain_randomization: bool | None = None


class Evaluation(Section):
    number_of_trials: int = Field(default=3, ge=1, le=100)
    is_continuous: bool = True
    max_resets: int = Field(default=100, ge=0, le=10_000)
    off_track_penalty: float = Field(default=5.0, ge=0.0, le=60.0)
    collision_penalty: float = Field(default=5.0, ge=0.0, le=60.0)
    checkpoint: Literal["best", "last"] = "last"
    reverse_direction: bool = False
    save_mp4: bool = False
    reset_behind_dist: float = Field(default=1.0, ge=0.0, le=5.0)
    debug_reward: bool = False
    # the opponent in a head-to-model evaluation
    opponent_model_prefix: EnvStr = "rl-deepracer-sagemaker"
    opponent_car_name: EnvStr = "FasterCar"
    opponent_body_shell: EnvStr = "deepracer"


_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Imported(Section):
    """What `drtui import` read, so that generate writes the same run back (empty for a
    session made in drtui).

    The env tables hold every key of the imported system.env, run.env and worker-N.env
    ("2", "3", ... -> keys), each with its text after '=' exactly as written, in file order.
    generate writes them back in that order: a key drtui models is rewritten only when the
    session's value differs from what its text evaluates to; every other key as written.
    The JSON fields hold the imported model_metadata.json and hyperparameters.json as they
    were (JSON text: TOML cannot hold JSON's null); keys drtui does not model come from
    them unchanged. notes: what drtui had to change or could not read, "key: old -> new".
    """

    notes: list[str] = []
    system_env: dict[str, str] = {}
    run_env: dict[str, str] = {}
    worker_env: dict[str, dict[str, str]] = {}
    model_metadata: str = ""
    hyperparameters: str = ""

    @field_validator("system_env", "run_env")
    @classmethod
    def _env_lines(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not _ENV_KEY.fullmatch(key):
                raise ValueError(f"{key!r} is not an env variable name")
            if "\n" in text:
                raise ValueError(f"{key}: an env value is one line")
        return value

    @field_validator("worker_env")
    @classmethod
    def _worker_lines(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for worker, table in value.items():
            if not worker.isdigit() or not 2 <= int(worker) <= 16:
                raise ValueError(f"worker {worker!r}: workers are numbered 2..16")
            for key, text in table.items():
                # prepare-config reads worker-N.env as `dict(line.split('='))`
                if "=" in key or "=" in text or "\n" in text or not key:
                    raise ValueError(f"worker {worker} {key}: one '=' a line, on one line")
        return value

    @field_validator("model_metadata", "hyperparameters")
    @classmethod
    def _json_object(cls, value: str) -> str:
        import json

        if value:
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc})") from None
            if not isinstance(parsed, dict):
                raise ValueError("must be a JSON object")
        return value


class Session(Section):
    schema_version: int = SCHEMA_VERSION
    model: ModelInfo
    track: Track = Track()
    race: Race = Race()
    car: Car = Car()
    action_space: ActionSpace = ActionSpace(generator=Generator())
    network: Network = Network()
    training: Training = Training()
    hyperparameters: Hyperparameters = Hyperparameters()
    reward: Reward = Reward(template="centerline")
    evaluation: Evaluation = Evaluation()
    workers: list[WorkerOverride] = []
    backend: Backend = Backend()
    research: Research = Research()
    # model_metadata.json "version"; DRfC writes "5". "" writes none: a 2019 file without
    # one, which simapp reads as version 2 (with "sensor") or 1 (without)
    metadata_version: str | int = "5"
    imported: Imported = Imported()

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"this drtui reads schema_version {SCHEMA_VERSION}; got {value}")
        return value

    def effective_hyperparameters(self) -> dict[str, Any]:
        """Every hyperparameter key with this session's value or its algorithm's default."""
        from drtui.catalog.algorithms import defaults

        values = defaults(self.training.algorithm)
        values.update({k: v for k, v in self.hyperparameters.model_dump().items()
                       if v is not None})
        return values

    @property
    def is_imported(self) -> bool:
        """Made by `drtui import`: simapp's own rules apply to its metadata, not drtui's
        stricter ones for new models."""
        return bool(self.imported.model_metadata)

    def worker_override(self, worker: int) -> WorkerOverride | None:
        return next((w for w in self.workers if w.worker == worker), None)


def _new_backend() -> None:
    """A provider was registered: the [backend] table takes the rebuilt model."""
    info = Session.model_fields["backend"]
    info.annotation, info.default = _backend.Backend, _backend.Backend()
    Session.model_rebuild(force=True)


_backend.on_change(_new_backend)
