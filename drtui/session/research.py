"""Research methods on the embedded trainer: `[research]` in the session file.

Each method is off unless its table says otherwise, and none of them reaches a DRfC file:
they change how drtui's own simulator and trainer work (validate.py refuses them on other
runners).

    [research.randomization]   domain randomisation of the simulator, per episode
    [research.transfer]        start from another run's checkpoint (clone a model) or a DRfC
                               model's TensorFlow checkpoint
    [research.curriculum]      stages of tracks / race types / speed limits / reward params,
                               promoted by mean progress over K iterations
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from drtui.session.base import EnvStr, Section

RaceType = Literal["TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT"]


class Randomization(Section):
    """Every amount scales with strength (0 = off, 1 = the largest amounts in
    drtui.sim.randomize); each group can be switched off on its own."""

    enabled: bool = False
    strength: float = Field(default=0.5, ge=0.0, le=1.0)
    lighting: bool = True  # brightness, contrast, road and background grey levels
    camera_noise: bool = True  # pixel noise and blur
    camera_pose: bool = True  # small camera position and angle jitter
    actuation: bool = True  # steering bias and noise, speed scale and noise
    latency_steps: int = Field(default=0, ge=0, le=5)  # actions act k steps late


class Transfer(Section):
    """Start training from the weights of another drtui run (DeepRacer's "clone model",
    DRfC's DR_LOCAL_S3_PRETRAINED), or of a DRfC-trained model's TensorFlow checkpoint (one of
    DeepRacer's three networks, clipped PPO). Layers whose shapes match are copied; a different
    action space gets a new action head. Give exactly one of from_run and drfc_checkpoint."""

    from_run: str = ""  # a run id, or its folder (relative to the workspace)
    # a DRfC model folder (the one holding model/), its model/ folder, or a checkpoint prefix
    # such as model/12_Step-3456.ckpt (relative to the workspace, or absolute)
    drfc_checkpoint: str = ""
    checkpoint: Literal["best", "last"] = "best"

    @model_validator(mode="after")
    def _one_source(self) -> Transfer:
        if bool(self.from_run.strip()) == bool(self.drfc_checkpoint.strip()):
            raise ValueError("give exactly one of from_run (a drtui run) and drfc_checkpoint "
                             "(a DRfC model folder or checkpoint)")
        return self


class CurriculumStage(Section):
    """What changes in this stage; anything not given keeps the session's value."""

    name: EnvStr = ""
    world: EnvStr | None = None
    reverse: bool | None = None
    race_type: RaceType | None = None
    max_speed: float | None = Field(default=None, ge=0.1, le=4.0)  # caps every action's speed
    reward_params: dict[str, float | int | bool] = {}


class Curriculum(Section):
    stages: list[CurriculumStage] = Field(min_length=1, max_length=20)
    promote_progress: float = Field(default=80.0, gt=0.0, le=100.0)  # mean training progress %
    promote_iterations: int = Field(default=2, ge=1, le=100)  # ... for this many iterations

    @model_validator(mode="after")
    def _named(self) -> Curriculum:
        for i, stage in enumerate(self.stages, 1):
            if not stage.name:
                stage.name = f"stage-{i}"
        return self


class Research(Section):
    randomization: Randomization = Randomization()
    transfer: Transfer | None = None
    curriculum: Curriculum | None = None

    def active(self) -> list[str]:
        """The methods this session turns on, by table name."""
        names = ["randomization"] if self.randomization.enabled else []
        return names + [k for k in ("transfer", "curriculum") if getattr(self, k) is not None]
