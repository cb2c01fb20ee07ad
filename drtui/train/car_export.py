"""The physical DeepRacer car's model file, from a drtui run or from a DRfC / console model folder.

    OUT.tar.gz   agent/model.pb        the frozen TensorFlow graph (drtui.train.car_graph)
                 model_metadata.json   the model's DeepRacer metadata, at the root

This is the archive DRfC's create-car-zip.sh writes and DeepRacer on AWS downloads as
`physicalmodel-<name>.tar.gz`. The stock car converts agent/model.pb with OpenVINO's model
optimizer (input shape [1, 120, 160, C]); the community car software (deepracer-custom-car)
takes .tar.gz/.tar/.gz holding exactly one .pb and model_metadata.json at the top, and converts
it with OpenVINO (`ov.convert_model`) or the TFLite converter.

From a run, the graph is checked before the archive is written: converted with OpenVINO, the
car's own path, and run on sample frames against the torch policy (same action on every frame,
outputs within ATOL), when openvino is installed; otherwise `verified_with` says so.

From a DRfC model folder (model/ holding model_N.pb files, deepracer_checkpoints.json and
model_metadata.json, as the SageMaker container leaves them in S3), agent/model.pb is the chosen
checkpoint's model_N.pb byte for byte, as dr-upload-car-zip does: N is the checkpoint name's
number before the first "_" ("12_Step-3456.ckpt" -> model_12.pb).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drtui.fsio import atomic_write
from drtui.train.car_archive import METADATA_MEMBER, CarArchiveError, archive_bytes
from drtui.train.car_archive import read_archive as read_archive  # the exporter's API too

ATOL = 1e-4
CHECK_FRAMES = 16
FOR_CAR = ("the DeepRacer car: the stock software (OpenVINO model optimizer) and "
           "deepracer-custom-car (OpenVINO or TFLite)")


@dataclass
class CarExportResult:
    path: Path
    checkpoint: str
    source: str  # "run" | "drfc"
    inputs: dict[str, list[int]]
    output: str
    verified_with: str
    max_abs_diff: float | None = None
    resize: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "checkpoint": self.checkpoint, "kind": self.source,
                "inputs": self.inputs, "output": self.output, "resize": self.resize,
                "verified_with": self.verified_with, "max_abs_diff": self.max_abs_diff,
                "for": FOR_CAR, "notes": self.notes}


def output_path(out: Path | str, name: str) -> Path:
    """OUT itself when it names a .tar.gz, else OUT/<name>.tar.gz."""
    out = Path(out)
    return out if out.name.endswith((".tar.gz", ".tgz")) else out / f"{name}.tar.gz"


# --- from a drtui run ---------------------------------------------------------------------------

def export_run(run_dir: Path | str, out: Path | str, checkpoint: str = "best") -> CarExportResult:
    """Write the car archive of a run's checkpoint; CarExportRefused for what the car cannot run,
    ValueError when the converted graph does not reproduce the torch policy."""
    from drtui.train.trainer import torch_threads

    with torch_threads():
        return _export_run(Path(run_dir), Path(out), checkpoint)


def _export_run(run_dir: Path, out: Path, checkpoint: str) -> CarExportResult:
    from drtui.session import store as session_store
    from drtui.train.car_graph import car_graph, check_exportable
    from drtui.train.checkpoint import load, load_policy, path_of
    from drtui.train.export import metadata_text

    which = checkpoint if path_of(run_dir, checkpoint).is_file() else "last"
    check_exportable(load(run_dir, which)["build"])  # refuse before building anything heavy
    policy, payload = load_policy(run_dir, checkpoint)
    graph = car_graph(policy.net, payload["build"])
    verified_with, diff = verify(graph, policy.net)
    name = session_store.load(run_dir / "session.toml").model.name
    path = output_path(out, name)
    atomic_write(path, archive_bytes(graph.data, metadata_text(run_dir)))
    return CarExportResult(path, payload["name"], "run",
                           {k: list(v) for k, v in graph.inputs.items()}, graph.output,
                           verified_with, diff, graph.resize)


def sample_inputs(graph, n: int, seed: int = 0) -> dict[str, Any]:
    """Random car inputs for `graph`: raw 0..255 whole-number frames, lidar in [0, 1]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds = {}
    for name, shape in graph.inputs.items():
        dims = (n, *shape[1:])
        feeds[name] = (rng.integers(0, 256, dims).astype(np.float32) if len(shape) == 4
                       else rng.random(dims, dtype=np.float32))
    return feeds


def verify(graph, net, feeds: dict[str, Any] | None = None) -> tuple[str, float | None]:
    """Convert the graph with OpenVINO and compare it with the torch network on `feeds` (car
    inputs by TF name; CHECK_FRAMES random ones by default): (verified_with, max abs diff).
    ValueError when an action differs or an output is off by more than ATOL."""
    try:
        from drtui.train.car_model import CarModel
    except ImportError:
        return "not run (install openvino to check the car file)", None
    import numpy as np

    from drtui.train.car_graph import torch_outputs

    feeds = feeds if feeds is not None else sample_inputs(graph, CHECK_FRAMES)
    model = CarModel.from_graph(graph.data)
    got = model.run(feeds)
    expected = torch_outputs(net, graph, feeds)
    diff = float(np.abs(got - expected).max())
    if net.action_spec.is_discrete and not (got.argmax(-1) == expected.argmax(-1)).all():
        raise ValueError("the car graph chooses another action than torch on some frames")
    if not diff <= ATOL:
        raise ValueError(f"the car graph's output differs from torch by {diff:g} (> {ATOL:g})")
    return f"openvino {model.version}", diff


# --- from a DRfC / console model folder ---------------------------------------------------------

def model_folder(path: Path) -> Path:
    """The folder holding model_N.pb and deepracer_checkpoints.json: PATH/model or PATH."""
    for folder in (path / "model", path):
        if (folder / "deepracer_checkpoints.json").is_file():
            return folder
    raise CarArchiveError(f"{path}: no deepracer_checkpoints.json in it or in {path / 'model'} "
                          "(not a DRfC model folder)")


def export_drfc(folder: Path | str, out: Path | str, checkpoint: str = "best"
                ) -> CarExportResult:
    """The car archive of a DRfC model folder's best or last checkpoint, model.pb copied as is."""
    folder = Path(folder)
    model = model_folder(folder)
    listing = model / "deepracer_checkpoints.json"
    try:
        index = json.loads(listing.read_text(encoding="utf-8"))
        name = (index.get(f"{checkpoint}_checkpoint") or {}).get("name")
    except (ValueError, AttributeError):
        raise CarArchiveError(f"{listing}: not valid JSON with best_checkpoint / last_checkpoint "
                              "objects") from None
    if not name:
        raise CarArchiveError(f"{listing}: no {checkpoint}_checkpoint.name (use --checkpoint "
                              f"{'last' if checkpoint == 'best' else 'best'}?)")
    number = str(name).split("_")[0]
    pb_path = model / f"model_{number}.pb"
    if not pb_path.is_file():
        present = sorted(p.name for p in model.glob("model_*.pb"))
        raise CarArchiveError(f"{model}: the {checkpoint} checkpoint {name} has no "
                              f"model_{number}.pb (present: {', '.join(present) or 'none'})")
    meta_path = next((p for p in (model / METADATA_MEMBER, folder / METADATA_MEMBER)
                      if p.is_file()), None)
    if meta_path is None:
        raise CarArchiveError(f"{model}: no {METADATA_MEMBER} (looked in {model} and {folder})")
    text = meta_path.read_text(encoding="utf-8")
    try:
        metadata = json.loads(text)
    except ValueError as err:
        raise CarArchiveError(f"{meta_path}: not valid JSON ({err})") from None
    pb = pb_path.read_bytes()
    inputs, output, notes = _graph_interface(pb, pb_path, metadata)
    try:
        from drtui.train.car_model import CarModel
    except ImportError:
        verified = f"copied from {pb_path.name} (install openvino to check it converts)"
    else:  # the car's own conversion; CarArchiveError when it cannot convert the graph
        verified = f"copied from {pb_path.name}; converts with openvino " \
                   f"{CarModel.from_graph(pb).version}"
    path = output_path(out, folder.resolve().name)
    atomic_write(path, archive_bytes(pb, text))
    return CarExportResult(path, str(name), "drfc", inputs, output, verified, None, None, notes)


def _graph_interface(pb: bytes, pb_path: Path, metadata: dict
                     ) -> tuple[dict[str, list[int]], str, list[str]]:
    """The graph's placeholders and the output the car will ask for; a GraphDef that does not
    parse is refused, a missing output node is noted (the car would fail to load it)."""
    from drtui.train.car_graph import output_name
    from drtui.train.tf_graph import parse

    try:
        graph = parse(pb)
    except Exception as err:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise CarArchiveError(f"{pb_path}: not a TensorFlow GraphDef ({err})") from None
    algorithm = metadata.get("training_algorithm", "clipped_ppo")
    output = output_name(algorithm)
    names = {n.name for n in graph.node}
    inputs = {n.name: [d.size for d in n.attr["shape"].shape.dim] for n in graph.node
              if n.op == "Placeholder"}
    notes = [] if output in names else [f"{pb_path.name} has no node {output}, which the car "
                                        f"reads for a {algorithm} model"]
    return inputs, output, notes
