"""Curriculum learning: train through stages (tracks, race types, speed limits, reward
parameters), moving on when the car has mastered the current one.

A stage is the session with a few values replaced ([[research.curriculum.stages]]); the
promotion rule is "mean training progress at least promote_progress % for
promote_iterations iterations in a row". The last stage is trained until the run ends. The
stage index and the streak are saved in every checkpoint, so a resumed run continues in its
stage. Each promotion prints one log line, which the parser turns into a StageChange event:

    ## drtui: curriculum stage 2/3 "wide": world reInvent2019_wide, ...
"""

from __future__ import annotations

from dataclasses import dataclass

from drtui.logs import protocol


@dataclass
class CurriculumState:
    index: int = 0  # the current stage, 0-based
    streak: int = 0  # iterations in a row at or above the promotion threshold


class Curriculum:
    def __init__(self, spec, session):
        self.spec, self.base = spec, session
        self.state = CurriculumState()

    @property
    def total(self) -> int:
        return len(self.spec.stages)

    @property
    def stage(self):
        return self.spec.stages[self.state.index]

    def session(self, index: int | None = None):
        """The session as the stage at `index` (default: the current one) trains it."""
        stage = self.spec.stages[self.state.index if index is None else index]
        s = self.base.model_copy(deep=True)
        if stage.world is not None:
            s.track.world, s.track.route = stage.world, None
        if stage.reverse is not None:
            s.track.reverse = stage.reverse
        if stage.race_type is not None:
            s.race.type = stage.race_type
        if stage.reward_params:
            s.reward.params = {**s.reward.params, **stage.reward_params}
        return s

    def max_speed(self) -> float | None:
        return self.stage.max_speed

    def observe(self, mean_progress: float | None) -> bool:
        """Count an iteration's mean progress; True when it promotes to the next stage."""
        st = self.state
        if st.index >= self.total - 1:
            return False
        if mean_progress is not None and mean_progress >= self.spec.promote_progress:
            st.streak += 1
        else:
            st.streak = 0
        if st.streak >= self.spec.promote_iterations:
            st.index, st.streak = st.index + 1, 0
            return True
        return False

    def describe(self) -> str:
        stage, s = self.stage, self.session()
        parts = [f"world {s.track.world}"]
        if s.track.reverse:
            parts.append("reversed")
        parts.append(f"race {s.race.type}")
        if stage.max_speed is not None:
            parts.append(f"max speed {stage.max_speed:g} m/s")
        if stage.reward_params:
            parts.append("reward " + " ".join(f"{k}={v}" for k, v in stage.reward_params.items()))
        return protocol.stage_line(self.state.index + 1, self.total, stage.name,
                                   ", ".join(parts))

    def state_dict(self) -> dict:
        return {"index": self.state.index, "streak": self.state.streak}

    def load_state_dict(self, state: dict) -> None:
        self.state = CurriculumState(min(int(state.get("index", 0)), self.total - 1),
                                     int(state.get("streak", 0)))


def capped_speeds(cfg, max_speed: float | None):
    """A SimConfig whose action speeds are capped at max_speed (a stage's speed limit)."""
    if max_speed is None:
        return cfg
    if cfg.actions is not None:
        cfg.actions = tuple((steer, min(speed, max_speed)) for steer, speed in cfg.actions)
    low, high = cfg.speed_range
    cfg.speed_range = (min(low, max_speed), min(high, max_speed))
    return cfg
