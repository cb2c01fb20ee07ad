"""Episodes as DeepRacer training runs them: start lines, reset rules and episode status.

simapp (rollout_agent_ctrl.py, reset/rules/*.py): a training episode starts at `start_ndist`
(a lap fraction); after each episode the start advances by `round_robin_advance_dist` when
change_start_position is on, and the track flips direction when alternate_direction is on.
Step 1 is the "prepare" step: the car is held at its start and the reward is 0. From step 2 the
reset rules run and the first that fires ends the episode:

    lap_complete  progress >= 100
    crashed       a car corner inside an obstacle, or inside a bot car the car is behind
    off_track     no wheel on the road
    immobilized   the car origin moved <= 0.0003 m on each of 15 consecutive steps
    time_up       max_steps reached (simapp's MAX_STEPS = 10000; it ends the episode unlabelled)
    reversed      progress went down on each of 15 consecutive steps

When several fire on one step, the status is the first in simapp's EpisodeStatus order, as
listed above.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

IMMOBILIZED_DIST_M = 0.0003
STUCK_STEPS = 15  # NUM_STEPS_TO_CHECK_STUCK, and NUMBER_OF_REVERSE_COUNTS' default
MAX_STEPS = 10_000

# Status codes, in simapp's EpisodeStatus order (the priority when several rules fire).
LAP_COMPLETE, CRASHED, OFF_TRACK, IN_PROGRESS, IMMOBILIZED, TIME_UP, PAUSE, REVERSED, PARK, \
    PREPARE = range(10)
STATUS_NAMES = ("lap_complete", "crashed", "off_track", "in_progress", "immobilized", "time_up",
                "pause", "reversed", "park", "prepare")
STATUS_LABELS = ("Lap complete", "Crashed", "Off track", "In progress", "Immobilized", "Time Up",
                 "Pause", "Reversed", "Park", "Prepare")  # TrainingMetrics.json episode_status


@dataclass
class StartRule:
    """Where episodes start (simapp's _start_pos_behavior_)."""

    change_start: bool = True
    round_robin_advance_dist: float = 0.05
    start_position_offset: float = 0.0
    alternate_direction: bool = False

    def first_starts(self, n: int, dtype: torch.dtype) -> torch.Tensor:
        """Initial start_ndist of n cars. Car i behaves as DeepRacer worker i whose first
        episode is i advances along, so that a batch covers the lap from its first episodes."""
        step = self.round_robin_advance_dist if self.change_start else 0.0
        return (self.start_position_offset + step * torch.arange(n, dtype=dtype)).remainder(1.0)

    def advance(self, start_ndist: torch.Tensor, reverse: torch.Tensor,
                ended: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Start line and direction of the next episode of the cars whose episode `ended`
        (finish_episode in simapp; training phase)."""
        if self.change_start:
            ahead = (start_ndist + self.round_robin_advance_dist).remainder(1.0)
            start_ndist = torch.where(ended, ahead, start_ndist)
        if self.alternate_direction:
            reverse = reverse ^ ended
        return start_ndist, reverse


@dataclass
class ResetRules:
    """Counters of the rules that need history; tensors of shape (N,)."""

    immobile_count: torch.Tensor
    reverse_count: torch.Tensor
    last_x: torch.Tensor
    last_y: torch.Tensor

    @classmethod
    def zeros(cls, n: int, dtype: torch.dtype) -> ResetRules:
        return cls(torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long),
                   torch.zeros(n, dtype=dtype), torch.zeros(n, dtype=dtype))

    def restart(self, mask: torch.Tensor) -> None:
        self.immobile_count = self.immobile_count.masked_fill(mask, 0)
        self.reverse_count = self.reverse_count.masked_fill(mask, 0)

    def update(self, *, running: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
               progress: torch.Tensor, prev_progress: torch.Tensor, wheels_on: torch.Tensor,
               crashed: torch.Tensor, steps: torch.Tensor, max_steps: int) -> torch.Tensor:
        """Update the counters with this step's car origin and progress; return each car's
        status code (IN_PROGRESS when no rule fired; PREPARE on step 1). x and y must not be
        changed in place afterwards (the next step compares against them)."""
        still = running & (torch.hypot(x - self.last_x, y - self.last_y) <= IMMOBILIZED_DIST_M)
        self.immobile_count = torch.where(still, self.immobile_count + 1, 0)
        back = running & (progress < prev_progress)
        self.reverse_count = torch.where(back, self.reverse_count + 1, 0)
        self.last_x, self.last_y = x, y
        fired = torch.stack([
            progress >= 100.0,
            crashed,
            ~wheels_on.any(-1),
            self.immobile_count >= STUCK_STEPS,
            steps >= max_steps,
            self.reverse_count >= STUCK_STEPS,
            running,  # none of the above: in progress
        ])
        status = _RULE_CODES.index_select(0, fired.to(torch.int8).argmax(0))  # the first fired
        return torch.where(running, status, PREPARE)


# the status of each row of ResetRules.update's `fired`, in priority order
_RULE_CODES = torch.tensor([LAP_COMPLETE, CRASHED, OFF_TRACK, IMMOBILIZED, TIME_UP, REVERSED,
                            IN_PROGRESS])
