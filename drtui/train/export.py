"""Export a run's policy as ONNX, with its model_metadata.json, checked by running it. (The
physical car's .tar.gz is drtui.train.car_export.)

    OUT_DIR/model.onnx           the greedy policy (checkpoint.GreedyPolicy): inputs "camera"
                                 (N, C, H, W) float pixels in [0, 1] at the trainer's internal
                                 resolution, and/or "lidar" (N, L); output "policy" (N, actions)
                                 softmax probabilities (DeepRacer's output) for discrete action
                                 spaces, or "action" (N, 2) steering (deg) and speed (m/s)
    OUT_DIR/model_metadata.json  the run's DeepRacer model_metadata.json
    OUT_DIR/export.json          inputs, output, checkpoint, and how the check was done

The check runs the ONNX file on a batch of sample inputs and compares it with torch: with
onnxruntime when installed, else with onnx's reference evaluator (pure numpy), else it can only
validate the graph (onnx.checker) and says so in `verified_with`.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

ATOL = 1e-4


@dataclass
class ExportResult:
    onnx_path: Path
    metadata_path: Path
    checkpoint: str
    verified_with: str  # "onnxruntime" | "onnx.reference" | "onnx.checker (not run)"
    max_abs_diff: float | None


def _onnx_bytes(policy, example: tuple, input_names: list[str], output: str) -> bytes:
    axes = {name: {0: "batch"} for name in (*input_names, output)}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        try:
            torch.onnx.export(policy, example, buf, input_names=input_names,
                              output_names=[output], dynamic_axes=axes, opset_version=17,
                              dynamo=False)
        except Exception:  # noqa: BLE001 - a torch without the TorchScript exporter
            buf = io.BytesIO()
            torch.onnx.export(policy, example, buf, input_names=input_names,
                              output_names=[output], dynamic_shapes=None, dynamo=True)
    return buf.getvalue()


def _run_onnx(data: bytes, feeds: dict) -> tuple[object | None, str]:
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        return session.run(None, feeds)[0], "onnxruntime"
    except ImportError:
        pass
    try:
        import onnx
        from onnx.reference import ReferenceEvaluator

        model = onnx.load_from_string(data)
        onnx.checker.check_model(model)
        return ReferenceEvaluator(model).run(None, feeds)[0], "onnx.reference"
    except ImportError:
        return None, "none (install onnxruntime or onnx to check the export)"


def metadata_text(run_dir: Path) -> str:
    """The run's model_metadata.json: the file it was trained with, else rendered from its
    session."""
    source = run_dir / "files" / "custom_files" / "model_metadata.json"
    if source.is_file():
        return source.read_text(encoding="utf-8")
    from drtui.files.render import model_metadata_json
    from drtui.session import store as session_store

    return model_metadata_json(session_store.load(run_dir / "session.toml"))


def export(run_dir: str | Path, out_dir: str | Path, checkpoint: str = "best") -> ExportResult:
    """Write OUT_DIR/model.onnx, model_metadata.json and export.json for a run's checkpoint;
    raises ValueError when the ONNX outputs differ from torch's beyond ATOL."""
    from drtui.train.trainer import torch_threads

    with torch_threads():
        return _export(Path(run_dir), Path(out_dir), checkpoint)


def _export(run_dir: Path, out_dir: Path, checkpoint: str) -> ExportResult:
    from drtui.train.checkpoint import load_policy

    out_dir.mkdir(parents=True, exist_ok=True)
    policy, payload = load_policy(run_dir, checkpoint)
    build = payload["build"]
    keys = policy.keys
    frames = getattr(policy.net, "frames", 1)
    shapes = {k: (v[0] * frames, *v[1:]) if len(v) == 3 else tuple(v)
              for k, v in build["obs_spec"].items()}
    gen = torch.Generator().manual_seed(0)
    sample = tuple(torch.rand((4, *shapes[k]), generator=gen) for k in keys)
    output = "policy" if policy.discrete else "action"
    data = _onnx_bytes(policy, tuple(s[:1] for s in sample), keys, output)
    onnx_path = out_dir / "model.onnx"
    onnx_path.write_bytes(data)

    with torch.no_grad():
        expected = policy(*sample).numpy()
    got, verified_with = _run_onnx(data, {k: s.numpy() for k, s in zip(keys, sample)})
    diff = None
    if got is not None:
        diff = float(abs(got - expected).max())
        if not diff <= ATOL:
            raise ValueError(f"the ONNX policy differs from torch by {diff:g} (> {ATOL:g})")

    metadata_path = out_dir / "model_metadata.json"
    metadata_path.write_text(metadata_text(run_dir), encoding="utf-8")
    info = {
        "checkpoint": payload["name"], "algorithm": build["algorithm"],
        "network": build["network"], "sensors": build["sensors"],
        "inputs": {k: {"shape": ["batch", *shapes[k]],
                       "scale": "pixels / 255" if len(shapes[k]) == 3 else "as sensed"}
                   for k in keys},
        "output": {"name": output, "shape": ["batch", build["action_spec"]["n"]],
                   "meaning": "action probabilities" if policy.discrete
                   else "steering_angle (deg), speed (m/s)"},
        "camera_size": build["camera_size"], "verified_with": verified_with,
        "max_abs_diff": diff,
    }
    (out_dir / "export.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return ExportResult(onnx_path, metadata_path, payload["name"], verified_with, diff)
