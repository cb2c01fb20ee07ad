"""The one check of a session: every rule (validate.py), what its runner refuses
(runner_rules.py), and its reward function run on sample params of its own track and race.

`drtui validate`, `generate`, `run`, `tune` and the studio all call this module, so they can
never disagree about a session. Errors block; warnings are shown and do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from drtui.problem import Problem, errors

SAMPLES = 32
MAX_REWARD_FILE_BYTES = 5 * 1024 * 1024  # a reward_function.py is code, not data
FALLBACK_WORLD = "reInvent2019_track"


# -- the reward source -----------------------------------------------------------------------

@dataclass(frozen=True)
class RewardSource:
    """The reward code a session trains with, or the problem that stops it being read."""

    code: str | None
    problem: Problem | None = None


def reward_file_path(reward_file: str, base_dir: Path | None) -> Path:
    path = Path(reward_file).expanduser()
    return path if path.is_absolute() else (base_dir or Path.cwd()) / path


def read_reward_file(reward_file: str, base_dir: Path | None) -> RewardSource:
    """The text of `[reward] file`, refused with the reason when it is not a readable,
    non-empty UTF-8 file of reasonable size."""
    path = reward_file_path(reward_file, base_dir)
    bad = lambda why: RewardSource(None, Problem("reward.file", f"{reward_file}: {why}"))  # noqa: E731
    if not path.exists():
        return bad("no such file (a path relative to the session file)")
    if path.is_dir():
        return bad("is a folder; name the reward_function.py inside it")
    if not path.is_file():
        return bad("is not a regular file")
    if path.stat().st_size > MAX_REWARD_FILE_BYTES:
        return bad(f"is larger than {MAX_REWARD_FILE_BYTES // 2**20} MiB; a reward function "
                   "is code, not data")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return bad("is not UTF-8 text")
    except OSError as exc:
        return bad(f"cannot be read ({exc.strerror})")
    if not text.strip():
        return bad("is empty; it must define reward_function(params)")
    return RewardSource(text)


def reward_source(session, base_dir: Path | None = None) -> RewardSource:
    r = session.reward
    if r.code is not None:
        return RewardSource(r.code)
    if r.file is not None:
        return read_reward_file(r.file, base_dir)
    from drtui.session.raceline import reward_problem

    return RewardSource(*reward_problem(session, base_dir))


def compile_problem(code: str, path: str = "reward.code") -> Problem | None:
    """The compiler's complaint about reward code, with its line, or None."""
    try:
        compile(code, "<reward_function.py>", "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return Problem(path, f"{where}{type(exc).__name__}: {exc.msg}")
    except ValueError as exc:  # null bytes in the source
        return Problem(path, f"cannot compile: {exc}")
    return None


# -- sample params of the session's own track and race ---------------------------------------

def race_objects(race_type: str, obstacles: object, bot_cars: object) -> tuple[int, bool]:
    """(objects, bots) to sample for a race: a reward that reads objects_location must see
    the boxes or bot cars it will meet in training. Takes raw values (a draft's, mid-edit)."""
    count, bots = {"OBJECT_AVOIDANCE": (obstacles, False),
                   "HEAD_TO_BOT": (bot_cars, True)}.get(race_type, (0, False))
    return (count if isinstance(count, int) and 0 <= count <= 12 else 0), bots


def sample_world(world: str) -> tuple[str, Problem | None]:
    """The world to sample params on: the session's own, or, where drtui has no route for
    it, the fallback, with a warning that says so."""
    from drtui.catalog import tracks

    if tracks.get_or_none(world, waypoints=True):
        return world, None
    if world not in tracks.catalogue():
        return FALLBACK_WORLD, None  # an unknown world is the track rules' error already
    return FALLBACK_WORLD, Problem(
        "reward", f"drtui has no route for {world!r}, so the reward was run on sample params "
                  f"of {FALLBACK_WORLD}", severity="warning")


@lru_cache(maxsize=16)
def _samples(world: str, objects: int, bots: bool) -> tuple[dict, ...]:
    from drtui.reward.params import sample_params

    return tuple(sample_params(world, n=SAMPLES, objects=objects, bots=bots))


def samples_for(world: str, race_type: str, obstacles: object = 0, bot_cars: object = 0,
                route: Path | None = None) -> tuple[str, list[dict], Problem | None]:
    """(world used, params samples, warning or None) for a track and race; `route` is a
    session's own route file (checked by tracks.session_route_problems), sampled instead."""
    objects, bots = race_objects(race_type, obstacles, bot_cars)
    if route is not None:
        from drtui.catalog.tracks import RouteError
        from drtui.reward.params import sample_params

        try:
            return (str(route), sample_params(world, n=SAMPLES, objects=objects, bots=bots,
                                              route=route), None)
        except (RouteError, OSError) as exc:  # its own problem (track.route); run on the world
            used, _ = sample_world(world)
            return used, list(_samples(used, objects, bots)), Problem(
                "reward", f"the reward was run on sample params of {used}: {exc}",
                severity="warning")
    used, warning = sample_world(world)
    return used, list(_samples(used, objects, bots)), warning


def session_samples(session, base_dir: Path | None = None
                    ) -> tuple[str, list[dict], Problem | None]:
    from drtui.catalog.tracks import route_path

    race, track = session.race, session.track
    return samples_for(track.world, race.type, race.object_avoidance.number_of_obstacles,
                       race.head_to_bot.number_of_bot_cars,
                       route_path(track.route, base_dir) if track.route else None)


# -- the reward run --------------------------------------------------------------------------

@dataclass
class RewardReport:
    problems: list[Problem] = field(default_factory=list)
    summary: str = ""  # e.g. "ran on 32 sample positions of W: reward 0.1 .. 1"


def run_reward(code: str, world: str, samples: list[dict], path: str = "reward"
               ) -> RewardReport:
    """Run reward code on params samples; a failure names the line and the world."""
    from drtui.reward.check import check_reward_code

    result = check_reward_code(code, samples=samples, world=world)
    if result.ok:
        low, high = min(result.rewards), max(result.rewards)
        return RewardReport([], f"ran on {result.calls} sample positions of {world}: "
                                f"reward {low:.4g} .. {high:.4g}")
    where = f"line {result.line}: " if result.line else ""
    return RewardReport([Problem(path, f"{where}{result.error} (run on sample params of "
                                       f"{world})")])


def reward_report(session, base_dir: Path | None = None) -> RewardReport:
    """The session's reward function read, compiled and run on sample params of its track."""
    where = "reward.file" if session.reward.file is not None else (
        "reward.code" if session.reward.code is not None else "reward")
    source = reward_source(session, base_dir)
    if source.problem is not None or source.code is None:  # no code: a problem says why
        return RewardReport([source.problem] if source.problem else [])
    if (problem := compile_problem(source.code, where)) is not None:
        return RewardReport([problem])
    world, samples, warning = session_samples(session, base_dir)
    report = run_reward(source.code, world, samples, where)
    if warning is not None:
        report.problems.append(warning)
    return report


# -- the whole check -------------------------------------------------------------------------

def check_session(session, base_dir: Path | None = None, *, reward: bool = True
                  ) -> list[Problem]:
    """Every problem of a parsed session, its reward run included."""
    from drtui.catalog.tracks import session_route_problems
    from drtui.session.validate import session_problems

    route = session_route_problems(session, base_dir)
    problems = session_problems(session) + route
    if reward and not errors(route):  # a broken route file has no params to sample
        problems += reward_report(session, base_dir).problems
    return problems


def check_data(data: dict[str, Any], base_dir: Path | None = None, *, reward: bool = True
               ) -> tuple[Any, list[Problem]]:
    """(session or None, every problem) of raw session data. The reward is run on the
    stand-in session too, unless what it depends on (reward, track, race) is itself broken."""
    from drtui.catalog.tracks import session_route_problems
    from drtui.session.validate import parse

    parsed = parse(data)
    problems = list(parsed.problems)
    subject = parsed.session or parsed.stand_in
    route = session_route_problems(subject, base_dir) if subject is not None else []
    problems += route
    if reward and subject is not None and not parsed.is_broken("reward", "track", "race") \
            and not errors(route):
        problems += reward_report(subject, base_dir).problems
    return parsed.session, problems


def load(path: Path, *, reward: bool = True, changes: dict[str, Any] | None = None
         ) -> tuple[Any, list[Problem]]:
    """Read and check a session file, with `changes` ({"training.time_limit_minutes": 5})
    applied first: (session, warnings and errors). Raises InvalidInput with every problem
    when any of them is an error."""
    from drtui.errors import InvalidInput
    from drtui.session.store import read_data

    path = Path(path)
    data = read_data(path)
    for key, value in (changes or {}).items():
        *sections, name = key.split(".")
        node = data
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    session, problems = check_data(data, path.parent, reward=reward)
    if session is None or errors(problems):
        raise InvalidInput(problems)
    return session, problems


def require(session, base_dir: Path | None = None) -> list[Problem]:
    """The session's warnings; raises InvalidInput when the check finds an error."""
    from drtui.errors import InvalidInput

    problems = check_session(session, base_dir)
    if errors(problems):
        raise InvalidInput(problems)
    return problems
