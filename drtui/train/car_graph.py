"""A drtui policy as the frozen TensorFlow graph the physical DeepRacer car loads (agent/model.pb).

The graph's interface is the car's (DRfC create-car-zip.sh, simapp, the car's inference node):
  input   main_level/agent/{head}/online/network_0/{SENSOR}/{SENSOR}, float NHWC
          [-1, 120, 160, C] of raw grey values 0..255 for a camera (C = 2 for STEREO_CAMERAS),
          [-1, L] for a lidar; head is `main` for clipped PPO, `policy` for SAC
  output  PPO  main_level/agent/main/online/network_1/ppo_head_0/policy: the softmax over the
               discrete actions, or for a continuous space tanh(mean) in [-1, 1], which the car
               maps linearly onto the action ranges (drtui's greedy action exactly)
          SAC  main_level/agent/policy/online/network_0/sac_policy_head_0/policy: tanh(mean)
Inside: the camera divided by 255, resized to the trainer's internal camera (average pooling
for a whole-number factor such as 160x120 -> 80x60, else bilinear with half-pixel centres, as
torch's interpolate), then the network's layers with the weights in TensorFlow's layouts (conv
kernels HWIO, dense kernels [in, out], the first dense layer after a flatten with its rows in
NHWC order).

What it writes: DeepRacer's three networks (the conv/dense stacks simapp builds) and SAC_POLICY
(convs, pooling folded into its dense layer, layer norm, tanh), for PPO and SAC, discrete and
continuous, with any camera and lidar. Anything else is refused with the reason (CarExportRefused).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drtui.errors import DrtuiError
from drtui.train.obs import CAMERA_SENSORS, LIDAR_SENSORS
from drtui.train.tf_graph import GraphBuilder

CAR_CAMERA_HW = (120, 160)  # what the car feeds: 160x120 grey
ASPECT_TOLERANCE = 0.02  # a trainer camera within 2% of 4:3 sees the car's field of view

# Why the research networks cannot go on the car as drtui writes it.
REFUSED = {
    "TEMPORAL_CNN": "it reads the last 4 camera frames stacked, and the car gives the model one "
                    "frame per inference",
    "ATTENTION_CNN": "its spatial-softmax attention pooling has no translation in drtui's car "
                     "export",
    "MULTI_SCALE_CNN": "its parallel multi-kernel conv branches have no translation in drtui's "
                       "car export",
    "RESNET": "its residual blocks with group/batch norm have no translation in drtui's car "
              "export",
    "EFFICIENTNET": "its MBConv blocks (squeeze-excitation, SiLU, norm layers) have no "
                    "translation in drtui's car export",
    "VISION_TRANSFORMER": "its transformer encoder (multi-head self-attention, GELU) has no "
                          "translation in drtui's car export",
    "MULTIMODAL_FUSION": "its gated fusion of the camera and lidar has no translation in "
                         "drtui's car export",
}
SUPPORTED = ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK",
             "DEEP_CONVOLUTIONAL_NETWORK_DEEP", "SAC_POLICY")


class CarExportRefused(DrtuiError):
    exit_code = 2


def head_of(algorithm: str) -> str:
    return "policy" if algorithm == "sac" else "main"


def input_name(algorithm: str, sensor: str) -> str:
    return f"main_level/agent/{head_of(algorithm)}/online/network_0/{sensor}/{sensor}"


def output_name(algorithm: str) -> str:
    if algorithm == "sac":
        return "main_level/agent/policy/online/network_0/sac_policy_head_0/policy"
    return "main_level/agent/main/online/network_1/ppo_head_0/policy"


def scope_of(algorithm: str) -> str:
    """Where the policy network's ops go (Coach's scope for the network the car drives)."""
    if algorithm == "sac":
        return "main_level/agent/policy/online/network_0"
    return "main_level/agent/main/online/network_1"


@dataclass
class CarGraph:
    data: bytes  # the serialized frozen GraphDef
    inputs: dict[str, tuple[int, ...]]  # TF input name -> shape (-1 for the batch)
    keys: dict[str, str]  # TF input name -> the policy's input key ("camera" / "lidar")
    output: str
    output_shape: tuple[int, int]
    resize: str | None  # how the camera is brought to the trainer's size, None if it is not
    camera_hw: dict[str, tuple[int, int]]  # policy input key -> the trainer's camera (H, W)


def check_exportable(build: dict) -> None:
    """Refuse (CarExportRefused) what the car cannot run, with the reason."""
    network = build["network"]
    if network in REFUSED:
        raise CarExportRefused(f"{network} cannot be exported for the car: {REFUSED[network]}. "
                               f"The car takes {', '.join(SUPPORTED[:3])} (and drtui's "
                               "SAC_POLICY)")
    if network not in SUPPORTED:
        raise CarExportRefused(f"{network} cannot be exported for the car: drtui writes the car's "
                               f"graph for {', '.join(SUPPORTED)} only")
    sensors = list(build.get("sensors", []))
    cameras = [s for s in sensors if s in CAMERA_SENSORS]
    if len(cameras) != 1:
        raise CarExportRefused(f"sensors {sensors}: the car needs exactly one camera "
                               f"({', '.join(CAMERA_SENSORS)})")
    w, h = build["camera_size"]
    ratio = (w / h) / (4 / 3)
    if abs(ratio - 1) > ASPECT_TOLERANCE:
        raise CarExportRefused(f"the run's camera is {w}x{h}, not 4:3: the trainer's camera then "
                               "sees another field of view than the car's 160x120 frame")


def _sensor_for(key: str, sensors: list[str]) -> str:
    kind = CAMERA_SENSORS if key == "camera" else LIDAR_SENSORS if key == "lidar" else ()
    found = [s for s in sensors if s in kind]
    if len(found) != 1:
        raise CarExportRefused(f"input {key!r}: no single {key} sensor in {sensors}")
    return found[0]


def car_graph(net, build: dict) -> CarGraph:
    """The frozen graph of a policy network (an ActorCritic or a SquashedGaussianActor, in eval
    mode) built as `build` (a checkpoint's) describes."""
    from drtui.train.networks.base import Encoder

    check_exportable(build)
    algorithm = build["algorithm"]
    encoder = net.encoder
    if type(encoder) is not Encoder or getattr(encoder, "frames", 1) != 1:
        raise CarExportRefused(f"{build['network']}: its encoder ({type(encoder).__name__}) has "
                               "no translation in drtui's car export")
    g = GraphBuilder()
    w = _Writer(g, scope_of(algorithm))
    inputs, keys, parts, camera_hw = {}, {}, [], {}
    resize = None
    for key, emb in encoder.embedders.items():
        sensor = _sensor_for(key, list(build["sensors"]))
        shape = tuple(build["obs_spec"][key])
        name = input_name(algorithm, sensor)
        if len(shape) == 3:
            c, h, wd = shape
            camera_hw[key] = (h, wd)
            inputs[name] = (-1, *CAR_CAMERA_HW, c)
            x = g.placeholder(name, inputs[name])
            x, resize = w.camera_input(f"{w.scope}/{sensor}", x, (h, wd))
            value = _Value(x, "map", (c, h, wd))
        else:
            inputs[name] = (-1, shape[0])
            value = _Value(g.placeholder(name, inputs[name]), "vec", shape[0])
        keys[name] = key
        parts.append(w.module(emb, value, f"{w.scope}/{sensor}"))
    merged = parts[0] if len(parts) == 1 else w.concat(parts, f"{w.scope}/concat")
    h = w.module(encoder.middleware, merged, f"{w.scope}/middleware_fc_embedder")
    if algorithm == "sac":
        head_scope = f"{w.scope}/sac_policy_head_0"
        y = w.module(net.mean_head, h, f"{head_scope}/policy_mean")
        g.op("Tanh", output_name(algorithm), [y.name])
    else:
        head_scope = f"{w.scope}/ppo_head_0"
        if net.action_spec.is_discrete:
            y = w.module(net.policy_head, h, f"{head_scope}/policy_fc")
            g.op("Softmax", output_name(algorithm), [y.name])
        else:
            y = w.module(net.policy_head, h, f"{head_scope}/policy_mean")
            g.op("Tanh", output_name(algorithm), [y.name])
    if not isinstance(y.shape, int):
        raise CarExportRefused("the policy head does not give a vector")
    return CarGraph(g.serialize(), inputs, keys, output_name(algorithm), (-1, y.shape), resize,
                    camera_hw)


@dataclass
class _Value:
    """A graph tensor: an NHWC map of torch shape (C, H, W), or a vector of `shape` features
    whose TF order is torch's order permuted by `perm` (TF feature j = torch feature perm[j];
    None = the same order)."""

    name: str
    kind: str  # "map" | "vec"
    shape: tuple[int, int, int] | int
    perm: np.ndarray | None = None


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


class _Writer:
    """Walks a torch module tree and writes the ops of the layers it knows."""

    def __init__(self, g: GraphBuilder, scope: str) -> None:
        self.g, self.scope = g, scope
        self._count: dict[str, int] = {}

    def _name(self, prefix: str, kind: str) -> str:
        i = self._count.get(f"{prefix}/{kind}", 0)
        self._count[f"{prefix}/{kind}"] = i + 1
        return f"{prefix}/{kind}_{i}"

    # --- camera preprocessing ----------------------------------------------------------------

    def camera_input(self, prefix: str, x: str, hw: tuple[int, int]) -> tuple[str, str | None]:
        """raw 0..255 [N, 120, 160, C] -> [0, 1] at the trainer's (H, W)."""
        g = self.g
        x = g.op("RealDiv", f"{prefix}/truediv", [x, g.const(f"{prefix}/truediv/y",
                                                              np.float32(255.0))])
        if tuple(hw) == CAR_CAMERA_HW:
            return x, None
        (H, W), (h, w) = CAR_CAMERA_HW, hw  # noqa: N806
        if H % h == 0 and W % w == 0 and H // h == W // w:
            k = H // h
            # bilinear with half-pixel centres at a whole factor k=2 is the 2x2 mean; for any k
            # average pooling is the area filter: what rendering at the smaller size integrates
            y = g.op("AvgPool", f"{prefix}/resize", [x], ksize=[1, k, k, 1],
                     strides=[1, k, k, 1], padding="VALID", data_format="NHWC")
            return y, f"average pooling {k}x{k}"
        size = g.const(f"{prefix}/resize/size", [h, w], "int32")
        y = g.op("ResizeBilinear", f"{prefix}/resize", [x, size], align_corners=False,
                 half_pixel_centers=True)
        return y, "bilinear (half-pixel centres)"

    # --- modules -----------------------------------------------------------------------------

    def module(self, m, x: _Value, prefix: str) -> _Value:
        from torch import nn

        from drtui.train.networks import base, deepracer, sac

        if isinstance(m, nn.Sequential):
            for child in m:
                x = self.module(child, x, prefix)
            return x
        if isinstance(m, deepracer.CameraEmbedder):
            return self.module(m.net, x, prefix)
        if isinstance(m, base.VectorMLP):
            return self.module(m.net, x, prefix)
        if isinstance(m, base.CompactCNN):
            return self.module(m.proj, self.module(m.net, x, prefix), prefix)
        if isinstance(m, sac.NormalizedCNN):
            x = self.module(m.norm, self.module(m.cnn, x, prefix), prefix)
            return self.act("Tanh", x, prefix)
        if isinstance(m, base.PooledProjection):
            return self.pooled_projection(m, x, prefix)
        if isinstance(m, (nn.Identity, nn.Dropout)):
            return x  # eval mode: dropout is the identity
        if isinstance(m, nn.ReLU):
            return self.act("Relu", x, prefix)
        if isinstance(m, nn.Tanh):
            return self.act("Tanh", x, prefix)
        if isinstance(m, nn.Conv2d):
            return self.conv(m, x, prefix)
        if isinstance(m, nn.Flatten):
            return self.flatten(x, prefix)
        if isinstance(m, nn.Linear):
            return self.linear(m, x, prefix)
        if isinstance(m, nn.LayerNorm):
            return self.layer_norm(m, x, prefix)
        raise CarExportRefused(f"layer {type(m).__name__} has no translation in drtui's car "
                               "export")

    def act(self, op: str, x: _Value, prefix: str) -> _Value:
        return _Value(self.g.op(op, self._name(prefix, op), [x.name]), x.kind, x.shape, x.perm)

    def conv(self, m, x: _Value, prefix: str) -> _Value:
        from drtui.train.networks.spec import conv_out

        if x.kind != "map":
            raise CarExportRefused("a convolution on a vector")
        pad = m.padding
        if isinstance(pad, str) or m.groups != 1 or tuple(m.dilation) != (1, 1) or \
                m.stride[0] != m.stride[1] or m.padding_mode != "zeros":
            raise CarExportRefused(f"a {type(m).__name__} with padding {pad}, groups {m.groups}, "
                                   f"dilation {m.dilation}, stride {m.stride}: not written")
        name = self._name(prefix, "Conv2d")
        c, h, w = x.shape
        src = x.name
        if pad[0] or pad[1]:
            src = self.g.pad(f"{name}/Pad", src, [[0, 0], [pad[0], pad[0]], [pad[1], pad[1]],
                                                  [0, 0]])
        kernel = _np(m.weight).transpose(2, 3, 1, 0)  # OIHW -> HWIO
        bias = _np(m.bias) if m.bias is not None else np.zeros(m.out_channels, np.float32)
        y = self.g.conv2d(name, src, kernel, bias, m.stride[0])
        kh, kw = m.kernel_size
        shape = (m.out_channels, conv_out(h, kh, m.stride[0], pad[0]),
                 conv_out(w, kw, m.stride[1], pad[1]))
        return _Value(y, "map", shape)

    def flatten(self, x: _Value, prefix: str) -> _Value:
        if x.kind != "map":
            return x
        c, h, w = x.shape
        y = self.g.reshape(self._name(prefix, "Flatten"), x.name, [-1, c * h * w])
        # TF flattens (H, W, C), torch (C, H, W): TF feature (y*W + x)*C + c is torch's c*H*W + ...
        perm = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
        return _Value(y, "vec", c * h * w, perm)

    def linear(self, m, x: _Value, prefix: str) -> _Value:
        if x.kind == "map":
            raise CarExportRefused("a dense layer on an unflattened feature map")
        kernel = _np(m.weight).T  # [in, out]
        if x.perm is not None:
            kernel = kernel[x.perm]
        bias = _np(m.bias) if m.bias is not None else np.zeros(m.out_features, np.float32)
        y = self.g.dense(self._name(prefix, "Dense"), x.name, kernel, bias)
        return _Value(y, "vec", m.out_features)

    def pooled_projection(self, m, x: _Value, prefix: str) -> _Value:
        """Adaptive average pooling -> flatten -> dense (-> ReLU): the pooling is linear, so it is
        folded into the dense kernel, which then reads the flattened map directly."""
        import torch

        c, h, w = x.shape
        gh, gw = m.pool.output_size
        basis = torch.eye(h * w).reshape(h * w, 1, h, w)
        pool = m.pool(basis).reshape(h * w, gh * gw).numpy()  # [map position, pooled cell]
        weight = _np(m.fc.weight).reshape(m.fc.out_features, c, gh * gw)
        folded = np.einsum("ocg,pg->ocp", weight, pool).reshape(m.fc.out_features, c * h * w)
        flat = self.flatten(x, prefix)
        kernel = folded.T[flat.perm]
        y = self.g.dense(self._name(prefix, "Dense"), flat.name, np.ascontiguousarray(kernel),
                         _np(m.fc.bias))
        out = _Value(y, "vec", m.fc.out_features)
        return self.module(m.act, out, prefix)

    def layer_norm(self, m, x: _Value, prefix: str) -> _Value:
        if x.kind != "vec" or tuple(m.normalized_shape) != (x.shape,):
            raise CarExportRefused("a layer norm over anything but the features")
        g, name = self.g, self._name(prefix, "LayerNorm")
        gamma = _np(m.weight) if m.weight is not None else np.ones(x.shape, np.float32)
        beta = _np(m.bias) if m.bias is not None else np.zeros(x.shape, np.float32)
        if x.perm is not None:
            gamma, beta = gamma[x.perm], beta[x.perm]
        mean = g.mean(f"{name}/mean", x.name, [1], True)
        centred = g.op("Sub", f"{name}/sub", [x.name, mean])
        var = g.mean(f"{name}/variance", g.op("Mul", f"{name}/square", [centred, centred]),
                     [1], True)
        eps = g.const(f"{name}/epsilon", np.float32(m.eps))
        inv = g.op("Rsqrt", f"{name}/rsqrt", [g.op("AddV2", f"{name}/add", [var, eps])])
        y = g.op("Mul", f"{name}/normalized", [centred, inv])
        y = g.op("Mul", f"{name}/scale", [y, g.const(f"{name}/gamma", gamma)])
        y = g.op("AddV2", f"{name}/shift", [y, g.const(f"{name}/beta", beta)])
        return _Value(y, "vec", x.shape, x.perm)

    def concat(self, parts: list[_Value], name: str) -> _Value:
        if any(p.kind != "vec" for p in parts):
            raise CarExportRefused("an input embedding that is not a vector")
        perms, offset = [], 0
        for p in parts:
            perms.append((p.perm if p.perm is not None else np.arange(p.shape)) + offset)
            offset += p.shape
        y = self.g.concat(name, [p.name for p in parts], 1)
        return _Value(y, "vec", offset, np.concatenate(perms))


# --- the same preprocessing in torch, for the checks ----------------------------------------------

def car_camera_to_policy(frames, hw: tuple[int, int]):
    """Car camera frames, raw 0..255 NHWC [N, 120, 160, C], as the policy's camera input
    (N, C, H, W) in [0, 1]: what the graph does before its first conv, in torch."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(frames, dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    (H, W), (h, w) = CAR_CAMERA_HW, tuple(hw)  # noqa: N806
    if (h, w) == (H, W):
        return x
    if H % h == 0 and W % w == 0 and H // h == W // w:
        return F.avg_pool2d(x, H // h)
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=False)


def torch_outputs(net, graph: CarGraph, feeds: dict) -> np.ndarray:
    """What the graph's output should be for car inputs `feeds` (TF input name -> array): the
    torch network's softmax, or tanh of its mean."""
    import torch

    obs = {}
    for name, value in feeds.items():
        key = graph.keys[name]
        if len(graph.inputs[name]) == 4:
            obs[key] = car_camera_to_policy(value, graph.camera_hw[key])
        else:
            obs[key] = torch.as_tensor(value, dtype=torch.float32)
    with torch.no_grad():
        out = net(obs)
    y = torch.softmax(out.logits, -1) if out.logits is not None else torch.tanh(out.mean)
    return y.numpy()

