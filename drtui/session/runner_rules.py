"""What each runner refuses, as Problems: the rules a session must meet before a runner can
train it. One registry, read by the session check (`drtui validate`, the studio), by launch
and by the runners themselves, so none of them can disagree.

Kept free of the backends' own imports (boto3, asyncssh, ...): core checks import it freely.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from drtui.problem import Problem

RunnerRule = Callable[[Any], list[Problem]]
_RULES: dict[str, list[RunnerRule]] = {}

DROA_MIN_MINUTES, DROA_MAX_MINUTES = 10, 1440  # validateTerminationConditions in the solution


def rule(runner: str) -> Callable[[RunnerRule], RunnerRule]:
    """Register a check of what `runner` refuses."""
    def register(fn: RunnerRule) -> RunnerRule:
        _RULES.setdefault(runner, []).append(fn)
        return fn
    return register


def runner_problems(session, runner: str | None = None) -> list[Problem]:
    """Every reason `runner` (by default the session's own) cannot train the session."""
    out: list[Problem] = []
    for check in _RULES.get(runner or session.backend.runner, []):
        out.extend(check(session))
    return out


def driven_worlds(session) -> list[tuple[str, str]]:
    """(key path, world) of every world a run drives: the session's and each multi-task
    worker's."""
    driven = [("track.world", session.track.world)]
    if session.training.workers > 1:
        driven += [(f"workers[worker={w.worker}].track.world", w.track.world)
                   for w in session.workers
                   if w.track is not None and w.worker <= session.training.workers]
    return driven


@rule("embedded")
def embedded_problems(session) -> list[Problem]:
    """The embedded simulator drives the worlds whose route ships with drtui. A world the
    catalogue does not know at all is already reported by the session's own rules."""
    from drtui.catalog import tracks

    if getattr(session.track, "route", None):
        return []  # the session brings its own route; the track rules check that file
    return [Problem(key, f"drtui's embedded simulator has no route for {world!r}: pick a "
                         "track with a map (`drtui list tracks`), name a route file in "
                         "[track] route, or train it with runner drfc")
            for key, world in driven_worlds(session)
            if world in tracks.catalogue() and not tracks.get_or_none(world, waypoints=True)]


# -- DeepRacer on AWS ------------------------------------------------------------------------

@cache
def _droa_tracks() -> dict[str, dict[str, Any]]:
    from importlib import resources

    raw = json.loads(resources.files("drtui.assets.tracks").joinpath(
        "deepracer-on-aws-tracks.json").read_text(encoding="utf-8"))["tracks"]
    return {t["trackId"]: t for t in raw}


def droa_track_config(world: str, reverse: bool = False
                      ) -> tuple[dict[str, str] | None, str | None]:
    """DRoA's {trackId, trackDirection} for a simapp world, or (None, why not)."""
    from drtui.catalog import tracks

    known = tracks.catalogue().get(world)
    track_id = known.track_id if known else world
    entry = _droa_tracks().get(track_id)
    if entry is None or entry.get("disabled"):
        return None, (f"track {world!r} is not offered by DeepRacer on AWS (its tracks: "
                      "`drtui list tracks`, those with a DRoA trackId)")
    clockwise = world.endswith("_cw") or (not world.endswith("_ccw")
                                          and entry["defaultDirection"] == "CLOCKWISE")
    if reverse:
        clockwise = not clockwise
    direction = "CLOCKWISE" if clockwise else "COUNTER_CLOCKWISE"
    if direction not in entry["enabledDirections"]:
        return None, (f"DeepRacer on AWS drives {track_id} only "
                      f"{' or '.join(entry['enabledDirections']).lower()}")
    return {"trackId": track_id, "trackDirection": direction}, None


@rule("deepracer-on-aws")
def droa_problems(session) -> list[Problem]:
    """Every reason a DRoA deployment cannot train this session (its API's rules, from the
    solution's validateTerminationConditions and model.smithy)."""
    problems: list[Problem] = []
    add = lambda path, msg: problems.append(Problem(path, msg))  # noqa: E731
    hp = session.effective_hyperparameters()
    track, why = droa_track_config(session.track.world, session.track.reverse)
    if why:
        add("track.world", why)
    race = session.race.type
    if race not in ("TIME_TRIAL", "OBJECT_AVOIDANCE"):
        add("race.type", f"DeepRacer on AWS trains TIME_TRIAL or OBJECT_AVOIDANCE, not {race}")
    minutes = session.training.time_limit_minutes
    if not DROA_MIN_MINUTES <= minutes <= DROA_MAX_MINUTES:
        add("training.time_limit_minutes", f"DeepRacer on AWS trains {DROA_MIN_MINUTES} to "
                                           f"{DROA_MAX_MINUTES} minutes (got {minutes})")
    if session.network.architecture != "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW":
        add("network.architecture", "DeepRacer on AWS always trains "
                                    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")
    if session.car.body_shell != "deepracer":
        add("car.body_shell", "drtui sends DeepRacer on AWS the deepracer shell only "
                              f"(got {session.car.body_shell!r})")
    if not 3 <= hp["num_epochs"] <= 10:
        add("hyperparameters.num_epochs", "DeepRacer on AWS accepts 3 to 10")
    if not 1e-8 <= hp["lr"] <= 1e-3:
        add("hyperparameters.lr", "DeepRacer on AWS accepts 1e-8 to 1e-3")
    if not 1 <= hp["num_episodes_between_training"] <= 100:
        add("hyperparameters.num_episodes_between_training", "DeepRacer on AWS accepts 1 to 100")
    if session.training.algorithm == "sac" and hp["num_episodes_between_training"] != 1:
        add("hyperparameters.num_episodes_between_training",
            "DeepRacer on AWS trains sac with 1 episode between trainings")
    space = session.action_space
    if space.type == "continuous" and space.speed.low < 0.5:
        add("action_space.speed.low", "DeepRacer on AWS's continuous speeds start at 0.5 m/s")
    oa = session.race.object_avoidance
    if race == "OBJECT_AVOIDANCE" and (oa.object_positions and len(oa.object_positions) or
                                       oa.number_of_obstacles) > 6:
        add("race.object_avoidance.number_of_obstacles", "DeepRacer on AWS places 1 to 6 objects")
    return problems
