"""A drtui run as a DRfC pretrained model: a TensorFlow checkpoint with Coach's variables.

    OUT/model/N_Step-M.ckpt.index, .data-00000-of-00001   the checkpoint (drtui.train.tf_bundle)
    OUT/model/checkpoint            TF's pointer file    OUT/model/.coach_checkpoint  Coach's
    OUT/model/deepracer_checkpoints.json                 best and last: this checkpoint
    OUT/model/model_metadata.json, OUT/model_metadata.json, OUT/reward_function.py,
    OUT/hyperparameters.json                              the run's files

Point DRfC's DR_LOCAL_S3_PRETRAINED_PREFIX at OUT (uploaded to its bucket) with
DR_LOCAL_S3_PRETRAINED_CHECKPOINT=last to continue training it in the real simulator.

The variables are those simapp's clipped-PPO graph saves (rl_coach general_network.py, ppo_head,
v_head; the names drtui.train.tf_checkpoint reads back): Coach builds one network per head, so
drtui's shared trunk is written twice, as network_0 (under the value head
v_values_head_0/output) and network_1 (under ppo_head_0/policy_fc, or policy_mean and
policy_log_std); each network's gradients_from_head_0-0_rescalers (1.0); Adam's two slots for
every trainable variable, started fresh (zeros, beta1_power 0.9, beta2_power 0.999), since
drtui's optimiser state is for its shared trunk; global_step, the run's env steps. Layouts as
tf_checkpoint describes: conv kernels HWIO, dense kernels [in, out], a camera's per-position
dense layers as [in, out], the middleware's first kernel with its rows in Coach's order (inputs
by sorted name, each camera map flattened (H, W, C)).

No .meta graph is written: simapp's Coach restores a pretrained model by reading the tensors
with tf.compat.v1.train.load_checkpoint and assigning those whose names match its trainable
online variables (rl_coach architectures/tensorflow_components/savers.py, GlobalVariableSaver);
the optimizer slots and global_step ride along as in the fixtures and are ignored there.

Only clipped PPO runs of DeepRacer's three networks, trained at DeepRacer's 160x120 camera: those
are the models DRfC can build and feed.

`export_droa` lays the same out for DeepRacer on AWS's model import (what `drtui droa import`
uploads): besides the above, model/N_Step-M.ckpt.meta (a MetaGraphDef whose graph declares every
variable, VariableV2 with its dtype and shape: DRoA wants the file; simapp does not read it) and
training_params.yaml (the keys DRfC's prepare-config.py writes, from the run's session).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from drtui.fsio import atomic_write
from drtui.train.car_graph import CarExportRefused

SCOPE = "main_level/agent/main/online"
DRFC_CAMERA = (160, 120)  # simapp's TRAINING_IMAGE_SIZE (W, H)
RESCALER = "gradients_from_head_0-0_rescalers"


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _nhwc_perm(c: int, h: int, w: int) -> np.ndarray:
    """TF feature j of a flattened (H, W, C) map is torch feature perm[j] of (C, H, W)."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


def _sensor(key: str, sensors: list[str]) -> str:
    from drtui.train.obs import CAMERA_SENSORS, LIDAR_SENSORS

    kinds = CAMERA_SENSORS if key == "camera" else LIDAR_SENSORS
    return next(s for s in sensors if s in kinds)


def coach_tensors(net, build: dict, total_steps: int) -> dict[str, np.ndarray]:
    """Every variable of Coach's clipped-PPO checkpoint for a drtui ActorCritic."""
    from torch import nn

    from drtui.train.networks.deepracer import NAMES, CameraEmbedder

    if build["algorithm"] != "clipped_ppo" or build["network"] not in NAMES:
        raise CarExportRefused(f"a DRfC checkpoint holds clipped PPO with one of DeepRacer's "
                               f"networks ({', '.join(NAMES)}); this run is "
                               f"{build['algorithm']} with {build['network']}")
    encoder = net.encoder
    trunk: dict[str, np.ndarray] = {}
    # embedders, and each one's place in drtui's concatenation (torch offset, size, perm)
    segments: dict[str, np.ndarray] = {}
    offset = 0
    for key, emb in encoder.embedders.items():
        sensor = _sensor(key, build["sensors"])
        layers = [m for m in emb.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        n_convs = getattr(emb, "n_convs", 0)
        for i, m in enumerate(layers):
            if i < n_convs:
                name, kernel = f"Conv2d_{2 * i}", _np(m.weight).transpose(2, 3, 1, 0)
            else:
                w = _np(m.weight)
                name, kernel = f"Dense_{2 * i}", (w[:, :, 0, 0] if w.ndim == 4 else w).T
            trunk[f"{sensor}/{name}/kernel"] = np.ascontiguousarray(kernel)
            trunk[f"{sensor}/{name}/bias"] = _np(m.bias)
        if isinstance(emb, CameraEmbedder):
            perm = _nhwc_perm(*emb.map_shape)
        else:
            perm = np.arange(emb.out_dim)
        segments[sensor] = perm + offset
        offset += emb.out_dim
    order = np.concatenate([segments[s] for s in sorted(segments)])  # Coach: sorted names
    dense = [m for m in encoder.middleware if isinstance(m, nn.Linear)]
    for i, m in enumerate(dense):
        kernel = _np(m.weight).T
        trunk[f"middleware_fc_embedder/Dense_{2 * i}/kernel"] = \
            np.ascontiguousarray(kernel[order] if i == 0 else kernel)
        trunk[f"middleware_fc_embedder/Dense_{2 * i}/bias"] = _np(m.bias)
    heads = {0: {"v_values_head_0/output/kernel": _np(net.value_head.weight).T,
                 "v_values_head_0/output/bias": _np(net.value_head.bias)}}
    if net.action_spec.is_discrete:
        heads[1] = {"ppo_head_0/policy_fc/kernel": _np(net.policy_head.weight).T,
                    "ppo_head_0/policy_fc/bias": _np(net.policy_head.bias)}
    else:
        heads[1] = {"ppo_head_0/policy_mean/kernel": _np(net.policy_head.weight).T,
                    "ppo_head_0/policy_mean/bias": _np(net.policy_head.bias),
                    "ppo_head_0/policy_log_std": _np(net.log_std).reshape(1, -1)}
    out: dict[str, np.ndarray] = {}
    for index in (0, 1):
        scope = f"{SCOPE}/network_{index}"
        for name, value in {**trunk, **heads[index]}.items():
            value = np.ascontiguousarray(value, dtype=np.float32)
            out[f"{scope}/{name}"] = value
            out[f"{scope}/{name}/Adam"] = np.zeros_like(value)
            out[f"{scope}/{name}/Adam_1"] = np.zeros_like(value)
        out[f"{scope}/{RESCALER}"] = np.array(1.0, dtype=np.float32)
    out["beta1_power"] = np.array(0.9, dtype=np.float32)
    out["beta2_power"] = np.array(0.999, dtype=np.float32)
    out["global_step"] = np.array(int(total_steps), dtype=np.int64)
    return out


def export_drfc(run_dir: Path | str, out: Path | str, checkpoint: str = "best") -> dict:
    """Write OUT as a DRfC model prefix (see the module doc); returns what was written."""
    from drtui.train.checkpoint import load_policy
    from drtui.train.export import metadata_text
    from drtui.train.tf_bundle import write_bundle

    run_dir, out = Path(run_dir), Path(out)
    policy, payload = load_policy(run_dir, checkpoint)
    size = tuple(payload["build"].get("camera_size", DRFC_CAMERA))
    if size != DRFC_CAMERA:
        raise CarExportRefused(
            f"the run's camera is {size[0]}x{size[1]}; DRfC's simulator feeds 160x120, so the "
            "first dense layer after the convs would not fit the checkpoint's (simapp assigns "
            "the tensors by name and fails on the shape): train with DRTUI_CAMERA_SIZE=160x120 "
            "to continue the model in DRfC or DeepRacer on AWS")
    tensors = coach_tensors(policy.net, payload["build"], payload.get("total_steps", 0))
    name = payload["name"]
    model = out / "model"
    write_bundle(model / name, tensors)
    atomic_write(model / "checkpoint", f'model_checkpoint_path: "{name}"\n'
                                       f'all_model_checkpoint_paths: "{name}"\n')
    atomic_write(model / ".coach_checkpoint", name)
    entry = {"name": name, "time_stamp": payload.get("elapsed_s", 0.0), "avg_eval_metric": None}
    atomic_write(model / "deepracer_checkpoints.json",
                 json.dumps({"best_checkpoint": entry, "last_checkpoint": entry}))
    metadata = metadata_text(run_dir)
    atomic_write(model / "model_metadata.json", metadata)
    atomic_write(out / "model_metadata.json", metadata)
    files = run_dir / "files" / "custom_files"
    for extra in ("reward_function.py", "hyperparameters.json"):
        if (files / extra).is_file():
            shutil.copyfile(files / extra, out / extra)
    return {"folder": str(out), "checkpoint": name, "variables": len(tensors),
            "index": str(model / f"{name}.index")}


def _meta_graph(tensors: dict[str, np.ndarray]) -> bytes:
    """A MetaGraphDef declaring each variable (VariableV2, dtype, shape)."""
    from tensorboard.compat.proto import meta_graph_pb2, types_pb2

    codes = {np.dtype("float32"): types_pb2.DT_FLOAT, np.dtype("int64"): types_pb2.DT_INT64}
    meta = meta_graph_pb2.MetaGraphDef()
    meta.meta_info_def.tensorflow_version = "1.15.0"  # what simapp's TensorFlow writes
    meta.meta_info_def.stripped_op_list.op.add().name = "VariableV2"
    meta.graph_def.versions.producer = 134
    for name, value in sorted(tensors.items()):
        node = meta.graph_def.node.add()
        node.name, node.op = name, "VariableV2"
        node.attr["dtype"].type = codes[value.dtype]
        node.attr["shape"].shape.SetInParent()  # a scalar's shape is set, with no dims
        for d in value.shape:
            node.attr["shape"].shape.dim.add().size = int(d)
        node.attr["container"].s = b""
        node.attr["shared_name"].s = b""
    return meta.SerializeToString()


def training_params(session) -> str:
    """training_params.yaml as DRfC's prepare-config.py writes it (every value a quoted string)."""
    import yaml

    t, flag = session.training, (lambda b: "true" if b else "false")
    config = {
        "JOB_TYPE": "TRAINING", "CAR_COLOR": session.car.color, "CAR_NAME": session.car.name,
        "RACE_TYPE": session.race.type, "WORLD_NAME": session.track.world,
        "DISPLAY_NAME": session.car.name, "RACER_NAME": session.car.name,
        "ALTERNATE_DRIVING_DIRECTION": flag(t.alternate_direction),
        "CHANGE_START_POSITION": flag(t.change_start_position),
        "ROUND_ROBIN_ADVANCE_DIST": str(t.round_robin_advance_dist),
        "START_POSITION_OFFSET": str(t.start_position_offset),
        "ENABLE_DOMAIN_RANDOMIZATION": flag(t.domain_randomization),
        "MIN_EVAL_TRIALS": str(t.min_eval_trials),
    }
    return yaml.dump(config, default_flow_style=False, default_style="'", explicit_start=True)


def export_droa(run_dir: Path | str, out: Path | str, checkpoint: str = "best") -> dict:
    """OUT in DeepRacer on AWS's import layout (see the module doc)."""
    from drtui.session import store as session_store
    from drtui.train.tf_checkpoint import TensorBundle

    result = export_drfc(run_dir, out, checkpoint)
    out, name = Path(out), result["checkpoint"]
    bundle = TensorBundle(out / "model" / name)
    tensors = {n: np.zeros(bundle.entries[n].shape, bundle.entries[n].dtype)
               for n in bundle.names()}
    atomic_write(out / "model" / f"{name}.meta", _meta_graph(tensors))
    session = session_store.load(Path(run_dir) / "session.toml")
    atomic_write(out / "training_params.yaml", training_params(session))
    return {**result, "meta": str(out / "model" / f"{name}.meta")}
