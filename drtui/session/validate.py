"""Rules that tie a session's sections together, one Problem per broken rule.

`problems_in(data)` is the whole check of a session as it comes from a file: pydantic's
field errors first (key path and rule), then, if the data parsed, the cross-section rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from drtui.problem import Problem
from drtui.session import providers
from drtui.session.model import Session
from drtui.session.runner_rules import runner_problems


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "tagged-union") or "[" in str(item):
            continue  # pydantic's internal validator names are not keys
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false",
          "str": "text", "dict": "a table", "list": "a list", "NoneType": "nothing"}
_EXPECTED = {"int": "a whole number", "float": "a number", "bool": "true or false",
             "string": "text", "dict": "a table", "model": "a table", "list": "a list",
             "decimal": "a number"}


def _given(err: Mapping[str, Any]) -> str:
    value = err.get("input")
    kind = _KINDS.get(type(value).__name__, type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:  # a pasted essay is not repeated back whole
        shown = repr(value[:30]) + "..." if isinstance(value, str) else shown[:37] + "..."
    return f"got {kind} {shown}" if isinstance(value, (str, dict, list)) else f"got {shown}"


def _message(err: Mapping[str, Any]) -> str:
    """pydantic's error as a rule in plain words, naming what was given."""
    kind, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (not part of the session schema)"
    if kind == "missing":
        return "required key is missing"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    bounds = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
              "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)} ({_given(err)})"
    if kind in ("string_too_short", "string_too_long"):
        words, n = ("at least", ctx.get("min_length")) if kind.endswith("short") else \
            ("at most", ctx.get("max_length"))
        return f"must be {words} {n} character{'s' * (n != 1)} long ({_given(err)})"
    if kind in ("too_short", "too_long"):
        words, n = ("at least", ctx.get("min_length")) if kind == "too_short" else \
            ("at most", ctx.get("max_length"))
        return f"must list {words} {n} item{'s' * (n != 1)} (got {ctx.get('actual_length')})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} ({_given(err)})"
    if kind == "int_from_float":
        return f"must be a whole number ({_given(err)})"
    if kind.endswith(("_type", "_parsing")):
        expected = _EXPECTED.get(kind.split("_")[0], kind.split("_")[0])
        return f"must be {expected} ({_given(err)})"
    return msg[0].lower() + msg[1:]


def pydantic_problems(exc: ValidationError) -> list[Problem]:
    seen: dict[tuple[str, str], Problem] = {}
    for err in exc.errors(include_url=False):
        problem = Problem(_loc(err["loc"]), _message(err))
        seen.setdefault((problem.path, problem.message), problem)
    return list(seen.values())


def session_problems(session: Session) -> list[Problem]:
    """Cross-section rules of a parsed session."""
    from drtui.catalog import algorithms, networks, sensors, tracks
    from drtui.reward import templates

    out: list[Problem] = []
    add = lambda path, msg: out.append(Problem(path, msg))  # noqa: E731

    # track and race
    if session.track.world not in tracks.catalogue():
        add("track.world", f"unknown track {session.track.world!r}; `drtui list tracks` "
                           "shows the known world names")
    for w in session.workers:
        if w.track and w.track.world not in tracks.catalogue():
            add(f"workers[worker={w.worker}].track.world", f"unknown track {w.track.world!r}")
        if w.worker > session.training.workers:
            add(f"workers[worker={w.worker}].worker",
                f"worker {w.worker} does not exist: training.workers is {session.training.workers}")
    numbers = [w.worker for w in session.workers]
    for n in sorted({n for n in numbers if numbers.count(n) > 1}):
        add("workers", f"worker {n} is configured more than once")

    # sensors
    for msg in sensors.sensor_problems(session.car.sensors):
        add("car.sensors", msg)
    out.extend(metadata_problems(session))

    # network
    arch = session.network.architecture
    net = networks.NETWORKS.get(arch)
    if net is None:
        add("network.architecture", f"unknown network {arch!r}; choose from "
                                    f"{', '.join(networks.NETWORKS)}")
    elif not net.deepracer and session.backend.runner != "embedded":
        add("network.architecture", f"{arch} is a research architecture that only drtui's "
                                    f"embedded trainer builds; backend.runner is "
                                    f"{session.backend.runner!r} (use a DeepRacer network)")
    if arch == "MULTIMODAL_FUSION" and not any(s in sensors.LIDARS for s in session.car.sensors):
        add("network.architecture", "MULTIMODAL_FUSION fuses camera and lidar: add a lidar sensor")

    # algorithm x action space
    algo = session.training.algorithm
    if algo == "sac":
        if session.action_space.type != "continuous":
            add("action_space.type", "sac needs a continuous action space (the simulator "
                                     "refuses a discrete one)")
        if session.training.workers > 1:
            add("training.workers", "sac trains with a single worker")
    if arch == "SAC_POLICY" and algo != "sac":
        add("network.architecture", "SAC_POLICY is the soft actor-critic network: set "
                                    "training.algorithm = \"sac\"")

    # hyperparameters: ranges are field rules; these depend on the algorithm
    hp = session.effective_hyperparameters()
    for key, value in hp.items():
        spec = algorithms.HYPERPARAMETERS[key]
        if algo in algorithms.ALGORITHMS and algo not in spec.used_by:
            continue  # e.g. sac_alpha in a PPO session: not shown, not used, not checked
        if refused := spec.simapp_problem(value, algo):
            add(f"hyperparameters.{key}", refused)
        elif out_of_range := spec.range_problem(value):
            out.append(Problem(f"hyperparameters.{key}", out_of_range + (
                " (simapp trains it as imported)" if session.is_imported else ""),
                severity="warning" if session.is_imported else "error"))
    if algo == "clipped_ppo" and hp["exploration_type"] == "e-greedy" and \
            session.action_space.type == "continuous":
        add("hyperparameters.exploration_type",
            "e-greedy needs discrete actions; continuous PPO explores with its Gaussian policy")

    # reward
    r = session.reward
    if r.template is not None:
        for key, msg in templates.param_problems(r.template, r.params):
            add("reward.template" if key in ("", "template") else f"reward.params.{key}", msg)

    out.extend(research_problems(session))

    # backend
    b = session.backend
    provider = providers.spec(b.provider)
    if provider is not None:  # the schema admits only registered names
        if b.runner not in provider.runners:
            runners = " or ".join(provider.runners)
            add("backend.runner", f"provider {b.provider!r} runs {runners}, not {b.runner!r}")
        for path, why in provider.problems(getattr(b, provider.table, None)):
            add(path, why)
    out.extend(runner_problems(session))  # what the session's runner refuses
    return out


def simapp_version_problem(version: str | int) -> str | None:
    """simapp reads "version" with float() and knows physics for 1, 2 and 3 or later
    (agent_ctrl/utils.py get_wheel_radius raises for anything else)."""
    if version == "":
        return None
    try:
        number = float(version)
    except (TypeError, ValueError):
        return f"simapp reads version as a number; got {version!r}"
    if number < 3 and number not in (1.0, 2.0):
        return f"simapp knows versions 1, 2 and 3 or later; got {version!r}"
    return None


def metadata_problems(session: Session) -> list[Problem]:
    """model_metadata.json's rules. A new session keeps drtui's limits as errors. An imported
    one is held to what simapp accepts, which is more: it trains any number of discrete
    actions and clips speed to 0.1..4 m/s and steering to -30..30 degrees at run time, and
    it ignores lidar_config without the lidar that reads it; those are warnings there."""
    imported, out = session.is_imported, []
    space = session.action_space
    for where, message in space.limit_problems():
        path = "action_space" + (f".{where}" if where else "")
        if not imported:
            out.append(Problem(path, message))
        elif space.type == "discrete" and not where and not space.actions:
            out.append(Problem(path, "simapp needs at least one action"))
        elif not where and space.type == "discrete":
            out.append(Problem(path, f"{len(space.actions or [])} discrete actions: simapp trains "
                                     "them, but DeepRacer allows 2..30 for a new model and "
                                     "each action more makes learning slower", "warning"))
        else:
            out.append(Problem(path, f"{message}: simapp clips it to its limit at run time",
                               "warning"))
    if session.car.lidar_config is not None and \
            "DISCRETIZED_SECTOR_LIDAR" not in session.car.sensors:
        if imported:
            out.append(Problem("car.lidar_config", "simapp ignores it without the "
                                                   "DISCRETIZED_SECTOR_LIDAR sensor", "warning"))
        else:
            out.append(Problem("car.lidar_config",
                               "only applies with the DISCRETIZED_SECTOR_LIDAR sensor"))
    version = simapp_version_problem(session.metadata_version)
    if version:
        out.append(Problem("metadata_version", version))
    return out


def research_problems(session: Session) -> list[Problem]:
    """[research] methods run only on drtui's embedded trainer, on tracks it has waypoints
    for, with reward parameters its template knows."""
    from drtui.catalog import tracks
    from drtui.reward import templates

    research, out = session.research, []
    active = research.active()
    if active and session.backend.runner != "embedded":
        out.append(Problem("research", f"{', '.join(active)} only run on drtui's embedded "
                                       f"trainer; backend.runner is {session.backend.runner!r}"))
    cur = research.curriculum
    if cur is not None and session.training.workers > 1:
        out.append(Problem("research.curriculum", "a curriculum trains one world at a time: "
                           "set training.workers = 1 (several workers are multi-task training)"))
    for i, stage in enumerate(cur.stages if cur else []):
        where = f"research.curriculum.stages[{i}]"
        if stage.world is not None and not tracks.get_or_none(stage.world, waypoints=True):
            out.append(Problem(f"{where}.world", f"no waypoints for track {stage.world!r}; the "
                               "embedded trainer drives: "
                               + ", ".join(tracks.worlds_with_waypoints())))
        if stage.reward_params:
            if session.reward.template is None:
                out.append(Problem(f"{where}.reward_params",
                                   "reward parameters need reward.template"))
            else:
                params = {**session.reward.params, **stage.reward_params}
                for key, msg in templates.param_problems(session.reward.template, params):
                    out.append(Problem(f"{where}.reward_params.{key}", msg))
    out.extend(_drfc_transfer_problems(session))
    return out


def _drfc_transfer_problems(session: Session) -> list[Problem]:
    """A DRfC checkpoint holds a clipped-PPO policy of one of DeepRacer's three networks. Its
    path is checked only when absolute: a relative one is relative to the workspace, which the
    trainer knows and a session file does not."""
    from pathlib import Path

    from drtui.catalog.networks import NETWORKS

    transfer = session.research.transfer
    if transfer is None or not transfer.drfc_checkpoint.strip():
        return []
    where, out = "research.transfer.drfc_checkpoint", []
    network = session.network.architecture
    if network in NETWORKS and not NETWORKS[network].deepracer:
        deepracer = ", ".join(n for n, spec in NETWORKS.items() if spec.deepracer)
        out.append(Problem(where, f"DRfC models use one of DeepRacer's networks ({deepracer}); "
                                  f"network.architecture is {network}"))
    if session.training.algorithm != "clipped_ppo":
        out.append(Problem(where, "DRfC models' TensorFlow weights are a clipped PPO policy; "
                                  f"training.algorithm is {session.training.algorithm}"))
    given = Path(transfer.drfc_checkpoint.strip()).expanduser()
    if given.is_absolute() and not given.exists() and not Path(f"{given}.index").is_file():
        out.append(Problem(where, f"{given} does not exist (a DRfC model folder, its model/ "
                                  "folder or a checkpoint prefix such as model/12_Step-3456.ckpt)"))
    return out


@dataclass
class Parsed:
    """Raw session data, parsed: the session (None when a field rule broke), a stand-in with
    the broken keys at their defaults (so the other rules can still be checked), and every
    problem found."""

    session: Session | None
    stand_in: Session | None
    problems: list[Problem]
    broken: frozenset[str] = frozenset()  # key paths of the field errors

    def is_broken(self, *prefixes: str) -> bool:
        """Whether a field error concerns one of these sections or keys."""
        return any(path == pre or path.startswith((pre + ".", pre + "["))
                   for path in self.broken for pre in prefixes)


def parse(data: dict[str, Any]) -> Parsed:
    """Parse raw session data and check every rule, whatever else is broken."""
    try:
        session = Session.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc)
        broken = frozenset(p.path for p in problems)
        stand_in = _stand_in(data, exc)
        if stand_in is None:
            return Parsed(None, None, problems, broken)
        extra = [p for p in session_problems(stand_in)
                 if p.path not in broken and not any(p.path.startswith(s + ".") for s in broken)]
        return Parsed(None, stand_in, problems + extra, broken)
    return Parsed(session, session, session_problems(session))


def problems_in(data: dict[str, Any]) -> tuple[Session | None, list[Problem]]:
    """Parse and check raw session data; the session is None when it did not parse."""
    parsed = parse(data)
    return parsed.session, parsed.problems


_STAND_IN_NAME = "stand-in"  # a valid model name, so a broken one hides no other rule


def _stand_in(data: dict[str, Any], exc: ValidationError) -> Session | None:
    """The session with each broken key removed (its default stands in), repeated while
    removing one key uncovers another (a section rule broken by a default, say)."""
    repaired = data
    for _ in range(4):
        repaired = _without(repaired, [err["loc"] for err in exc.errors()])
        model = repaired.get("model")
        if not isinstance(model, dict) or "name" not in model:
            repaired["model"] = {**(model if isinstance(model, dict) else {}),
                                 "name": _STAND_IN_NAME}
        try:
            return Session.model_validate(repaired)
        except ValidationError as again:
            exc = again
    return None


def _without(data: dict[str, Any], locs: list[tuple[Any, ...]]) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    for loc in locs:
        keys = [k for k in loc if isinstance(k, str) and k in _keys_along(out, loc)]
        node: Any = out
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                break
        else:
            if keys and isinstance(node, dict):
                node.pop(keys[-1], None)
    return out


def _keys_along(data: dict[str, Any], loc: tuple[Any, ...]) -> set[str]:
    """The dict keys on the path of an error location, up to the first list index."""
    keys, node = set(), data
    for item in loc:
        if not isinstance(node, dict) or item not in node:
            break
        keys.add(item)
        node = node[item]
    return keys
