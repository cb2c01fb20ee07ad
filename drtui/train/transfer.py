"""Transfer learning: a new training starts from another run's trained weights.

DeepRacer's "clone a model" and DRfC's DR_LOCAL_S3_PRETRAINED start a new model from an old
one's checkpoint, on the same network and action space. drtui also lets the track, race type
and action space change: every layer whose name and shape match is copied; the action head
is left freshly initialised when the number of actions (or discrete vs continuous) differs,
and so is any layer an input change made a different shape. What was copied and what was not
is logged as one line, and the trainer records it in state.json.

transfer_from_tf starts from a DRfC / DeepRacer model's TensorFlow checkpoint instead
(tf_checkpoint.py reads it without TensorFlow): same rules, for the three DeepRacer networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from drtui.errors import DrtuiError


class TransferError(DrtuiError):
    exit_code = 2


@dataclass
class TransferReport:
    source: str  # run folder name and checkpoint
    copied: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)  # in the new network, not taken over
    notes: list[str] = field(default_factory=list)  # why layers stayed fresh, where known

    def line(self) -> str:
        n_copied = len(self.copied)
        total = n_copied + len(self.fresh)
        fresh = ", ".join(sorted({n.rsplit(".", 1)[0] for n in self.fresh})) or "none"
        why = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (f"## drtui: transfer from {self.source}: {n_copied}/{total} tensors copied; "
                f"fresh: {fresh}{why}")


def resolve_source(from_run: str, workspace: Path) -> Path:
    """A run folder: absolute, relative to the workspace, or a run id in WORKSPACE/runs."""
    given = Path(from_run).expanduser()
    candidates = [given] if given.is_absolute() else [Path(workspace) / given,
                                                      Path(workspace) / "runs" / given]
    for path in candidates:
        if (path / "checkpoints").is_dir():
            return path.resolve()
    raise TransferError(f"research.transfer.from_run: {from_run!r} is not a drtui run folder "
                        f"with checkpoints (looked in {', '.join(map(str, candidates))})")


def transfer_into(net: nn.Module, source_run: Path, which: str = "best",
                  network: str | None = None) -> TransferReport:
    """Copy the matching weights of source_run's policy into net (in place)."""
    from drtui.train import checkpoint as ckpt

    if which == "best" and not ckpt.path_of(source_run, "best").is_file():
        which = "last"
    try:
        payload = ckpt.load(source_run, which)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        raise TransferError(f"research.transfer: cannot read {source_run.name}: {err}") from None
    if network is not None and payload["build"]["network"] != network:
        raise TransferError(
            f"research.transfer: {source_run.name} was trained with "
            f"{payload['build']['network']}, this session uses {network}: weights only carry "
            "over between the same architecture")
    source = payload["policy"]
    target = net.state_dict()
    report = TransferReport(f"{source_run.name} ({which}: {payload['name']})")
    merged = {}
    for name, tensor in target.items():
        theirs = source.get(name)
        if theirs is not None and theirs.shape == tensor.shape and theirs.dtype == tensor.dtype:
            merged[name] = theirs
            report.copied.append(name)
        else:
            merged[name] = tensor
            report.fresh.append(name)
    if not report.copied:
        raise TransferError(f"research.transfer: no layer of {source_run.name} fits this "
                            "network (another input size or sensor set?)")
    with torch.no_grad():
        net.load_state_dict(merged)
    return report


def transfer_from_tf(net: nn.Module, path: str | Path, which: str = "best",
                     network: str | None = None) -> TransferReport:
    """Copy a DRfC-trained PPO model's policy (TensorFlow checkpoint: a DRfC model folder, its
    model/ folder or a checkpoint prefix) into net, a PPO network of one of DeepRacer's three
    networks. The value head and any layer whose shape differs start fresh (report.notes say
    why); a different network, or nothing that fits, is an error."""
    from drtui.train import tf_checkpoint as tfc
    from drtui.train.networks.deepracer import NAMES
    from drtui.train.networks.heads import ActorCritic

    field_name = "research.transfer.drfc_checkpoint"
    if network is not None and network not in NAMES:
        raise TransferError(f"{field_name}: DRfC models use one of DeepRacer's networks "
                            f"({', '.join(NAMES)}); this session uses {network}")
    if not isinstance(net, ActorCritic):
        raise TransferError(f"{field_name}: DRfC PPO weights go into a clipped_ppo training "
                            "(this session's algorithm builds another kind of network)")
    try:
        prefix = tfc.resolve_prefix(path, which)
        meta = tfc.model_metadata(prefix) or {}
        trained = meta.get("neural_network")
        if network is not None and trained and trained != network:
            raise TransferError(f"{field_name}: {prefix.name} was trained with {trained} "
                                f"(model_metadata.json), this session uses {network}: weights "
                                "only carry over between the same network")
        mapping = tfc.map_policy(tfc.load_policy(tfc.TensorBundle(prefix)), net)
    except tfc.CheckpointError as err:
        raise TransferError(f"{field_name}: {err}") from None
    target = net.state_dict()
    folder = prefix.parent.parent if prefix.parent.name == "model" else prefix.parent
    report = TransferReport(f"DRfC model {folder.name} ({prefix.name})")
    merged = {}
    for name, tensor in target.items():
        theirs = mapping.tensors.get(name)
        if theirs is not None and theirs.shape == tensor.shape:
            merged[name] = theirs.to(tensor.dtype)
            report.copied.append(name)
        else:
            merged[name] = tensor
            report.fresh.append(name)
    report.notes = list(dict.fromkeys(mapping.fresh[n] for n in report.fresh
                                      if n in mapping.fresh))
    if not report.copied:
        raise TransferError(f"{field_name}: no layer of {prefix} fits this network")
    with torch.no_grad():
        net.load_state_dict(merged)
    return report
