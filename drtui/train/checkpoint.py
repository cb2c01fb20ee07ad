"""Checkpoints of a run: RUN_DIR/checkpoints/{last,best}.pt and deepracer_checkpoints.json.

Every file is written whole to a temporary name, fsynced and renamed over the old one, so a
killed trainer leaves the previous checkpoint or the new one, never a torn file. `last.pt`
is rewritten after every iteration's update; `best.pt` is a copy of the last one whose
evaluation beat every earlier one on training.best_model_metric.

A checkpoint holds what an exact resume needs: the networks, the optimiser states, the torch
and simulator RNG states, the iteration, env-step and episode counters, the elapsed training
time; and `build`, what evaluation and export need to rebuild the policy without the session.
The index mirrors simapp's deepracer_checkpoints.json ({"best_checkpoint": {"name",
"time_stamp", "avg_eval_metric"}, "last_checkpoint": {...}}) with a few extra keys.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from drtui.errors import DrtuiError
from drtui.fsio import atomic_write

FORMAT = 1
DIR = "checkpoints"
INDEX = "deepracer_checkpoints.json"
WHICH = ("last", "best")


def ckpt_name(iteration: int, total_steps: int) -> str:
    """DeepRacer's checkpoint name, as the `Checkpoint> Saving` line prints it."""
    return f"{iteration}_Step-{total_steps}.ckpt"


def path_of(run_dir: Path, which: str = "last") -> Path:
    if which not in WHICH:
        raise ValueError(f"checkpoint must be one of {', '.join(WHICH)}, not {which!r}")
    return Path(run_dir) / DIR / f"{which}.pt"


def save(run_dir: Path, payload: dict[str, Any], which: str = "last") -> Path:
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buf)
    path = path_of(run_dir, which)
    atomic_write(path, buf.getvalue())
    return path


class CheckpointError(DrtuiError):
    """A checkpoint file that cannot be used: the message names the file and why."""


def load(run_dir: Path, which: str = "last", map_location: str | torch.device = "cpu") -> dict:
    path = path_of(run_dir, which)
    if not path.is_file():
        raise FileNotFoundError(f"no {which} checkpoint in {path.parent}")
    try:
        # weights_only: a checkpoint holds tensors, numbers, strings and dicts: nothing runs
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torn, truncated or not a torch file at all
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or damaged: "
                              f"{type(err).__name__}: {first})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a drtui checkpoint (format {got!r}, expected "
                              f"{FORMAT})")
    missing = [k for k in ("build", "policy", "iteration", "name") if k not in payload]
    if missing or not isinstance(payload["build"], dict):
        raise CheckpointError(f"{path}: a damaged checkpoint (missing or wrong: "
                              f"{', '.join(missing) or 'build'})")
    return payload


def resolve(run_dir: Path, name: str) -> str:
    """"best", "last", or the file ("best"/"last") holding the checkpoint `name`: its
    DeepRacer name as the index records it ("12_Step-3456.ckpt", with or without ".ckpt")
    or its iteration number. A run keeps only those two files, so any other name is refused
    with the names it does hold."""
    if name in WHICH:
        return name
    index = read_index(run_dir)
    held = {w: index.get(f"{w}_checkpoint") for w in ("best", "last")}
    for which, entry in held.items():
        if entry and path_of(run_dir, which).is_file() and name in (
                entry["name"], entry["name"].removesuffix(".ckpt"), str(entry["iteration"])):
            return which
    kept = ", ".join(f"{e['name']} ({w}, iteration {e['iteration']})"
                     for w, e in held.items() if e) or "none recorded yet"
    raise CheckpointError(f"no checkpoint {name!r} in this run: it keeps best and last only "
                          f"({kept})")


def promote_best(run_dir: Path) -> None:
    """best.pt := last.pt (atomically)."""
    atomic_write(path_of(run_dir, "best"), path_of(run_dir, "last").read_bytes())


def read_index(run_dir: Path) -> dict[str, Any]:
    """deepracer_checkpoints.json; {} when it is unreadable or not an object, and an entry
    that is not an object with a name is dropped: the trainer rewrites it whole from what it
    knows, readers fall back to the checkpoint files themselves."""
    path = Path(run_dir) / DIR / INDEX
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k not in ("best_checkpoint", "last_checkpoint")
            or valid_entry(v)}


def set_aside_damaged_index(run_dir: Path) -> str | None:
    """Before the trainer rewrites deepracer_checkpoints.json: one that is not what
    read_index accepts whole is kept beside as <name>.damaged-<time>; a note saying so."""
    path = Path(run_dir) / DIR / INDEX
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        whole = isinstance(data, dict) and data == read_index(run_dir)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        whole = False
    if whole:
        return None
    aside = path.with_name(f"{INDEX}.damaged-{int(time.time())}")
    path.replace(aside)
    return (f"## drtui: checkpoints/{INDEX} was damaged (kept as {aside.name}); it is "
            "written afresh from the checkpoints")


def valid_entry(entry: Any) -> bool:
    """An index entry drtui can use: an object with a name, an iteration and a numeric (or
    no) evaluation metric."""
    import math

    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return False
    it, metric = entry.get("iteration"), entry.get("avg_eval_metric")
    return isinstance(it, int) and not isinstance(it, bool) and (
        metric is None or (isinstance(metric, (int, float)) and not isinstance(metric, bool)
                           and math.isfinite(metric)))


def write_index(run_dir: Path, index: dict[str, Any]) -> None:
    atomic_write(Path(run_dir) / DIR / INDEX, json.dumps(index, indent=2, sort_keys=True))


def index_entry(name: str, iteration: int, metric: float | None, file: str) -> dict[str, Any]:
    return {"name": name, "time_stamp": time.time(), "avg_eval_metric": metric,
            "iteration": iteration, "file": file}


# --- the policy, rebuilt for evaluation and export --------------------------------------------

def build_policy_net(build: dict[str, Any]) -> nn.Module:
    """The policy network a checkpoint's `build` describes, with fresh weights."""
    from drtui.train.networks import factory
    from drtui.train.networks.spec import ActionSpec

    spec = ActionSpec(**build["action_spec"])
    obs_spec = {k: tuple(v) for k, v in build["obs_spec"].items()}
    options = dict(build.get("options", {}))
    if build["algorithm"] == "sac":
        return factory.build_actor(build["network"], obs_spec, spec, **options)
    return factory.build(build["network"], obs_spec, spec, **options)


class GreedyPolicy(nn.Module):
    """The deterministic policy on network inputs given positionally in `keys` order: discrete
    -> action probabilities (DeepRacer's softmax output), continuous -> (steering, speed) in
    the session's ranges. What export writes to ONNX and evaluation drives."""

    def __init__(self, net: nn.Module, keys: list[str]):
        super().__init__()
        self.net, self.keys = net, list(keys)
        self.discrete = net.action_spec.is_discrete

    def forward(self, *inputs: Tensor) -> Tensor:
        out = self.net(dict(zip(self.keys, inputs)))
        if out.logits is not None:
            return torch.softmax(out.logits, -1)
        return self.net.action_spec.squash(out.mean)

    @torch.no_grad()
    def action(self, obs: dict[str, Tensor]) -> Tensor:
        """Env actions for a batch of network inputs."""
        out = self(*(obs[k] for k in self.keys))
        return out.argmax(-1) if self.discrete else out


def load_policy(run_dir: Path, which: str = "best") -> tuple[GreedyPolicy, dict[str, Any]]:
    """(the greedy policy, the checkpoint payload) of a run; falls back to `last` when no
    evaluation has produced a best checkpoint yet."""
    if which == "best" and not path_of(run_dir, "best").is_file():
        which = "last"
    payload = load(run_dir, which)
    try:
        net = build_policy_net(payload["build"])
        net.load_state_dict(payload["policy"])
        keys = sorted(payload["build"]["obs_spec"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise CheckpointError(f"{path_of(run_dir, which)}: its network cannot be rebuilt "
                              f"({type(err).__name__}: {first})") from None
    net.eval()
    return GreedyPolicy(net, keys).eval(), payload
