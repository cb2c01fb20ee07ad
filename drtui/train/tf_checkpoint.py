# Over 450 lines: one file format: a hand decoder of TensorFlow's tensor bundle (SSTable, protobuf
# varints) and its map onto drtui's network.
"""DeepRacer (Coach, TensorFlow 1) checkpoints without TensorFlow: read the tensors, and map the
policy network onto drtui's torch version of the same DeepRacer network.

The file format (TensorFlow's tensor bundle, what tf.train.Saver writes):
  PREFIX.index                     an SSTable (LevelDB's table format): data blocks of
                                   prefix-compressed key/value entries with restart points, an
                                   index block pointing at them, a 48-byte footer. The key "" holds
                                   a BundleHeaderProto; every other key is a tensor name whose value
                                   is a BundleEntryProto (dtype, shape, shard, offset, size).
  PREFIX.data-0000k-of-0000n       the raw little-endian tensor bytes, at those offsets.
Both are decoded here by hand (the protobuf wire format is a few varints). Block checksums of the
index are checked; tensor bytes only by size (a CRC in pure Python is too slow for 100 MB).

What a DeepRacer PPO checkpoint holds (rl_coach general_network.py, embedders/embedder.py,
middlewares/fc_middleware.py, heads/ppo_head.py; simapp markov/sensors/utils.py): Coach builds
one network per head, network_0 (value) and network_1 (policy), each with its own embedders
and middleware. drtui's ActorCritic shares one trunk between both heads, so network_1 (what
the car drives with: .../network_1/ppo_head_0/policy) becomes the trunk and the value head
starts fresh. Under main_level/agent/main/online/network_1/:
  <SENSOR>/Conv2d_0, Conv2d_2, ...   input embedder per sensor (FRONT_FACING_CAMERA, LEFT_CAMERA,
  <SENSOR>/Dense_<k> ...             STEREO_CAMERAS, observation, LIDAR, SECTOR_LIDAR, ...);
                                     the odd indices are the ReLUs, which hold no variables
  middleware_fc_embedder/Dense_0, Dense_2, ...
  ppo_head_0/policy_fc               discrete: logits (softmax -> .../ppo_head_0/policy)
  ppo_head_0/policy_mean, policy_log_std (1, n)   continuous
The embeddings are concatenated in sorted input-name order (drtui: images first).

Layouts: TF conv kernels are HWIO (torch OIHW), dense kernels [in, out] (torch [out, in]).
Coach applies a camera embedder's Dense layers to the unflattened conv map (a Keras Dense acts
on the last axis: the same weights at each position) and flattens only at the end; drtui's
DeepRacer networks do the same with 1x1 convs, so those kernels map onto [out, in, 1, 1]. TF
flattens an NHWC map as (H, W, C) where torch flattens (C, H, W): the middleware's first kernel
gets its rows permuted per image input. With that, all three networks carry over exactly at
the camera size they were trained at; at another size only the middleware's first layer
differs (its input grows with the last conv map) and starts fresh.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from drtui.errors import DrtuiError
from drtui.runstore.tensorboard import crc32c


class CheckpointError(DrtuiError):
    exit_code = 2


# --- protobuf wire format ----------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf: bytes) -> dict[int, list[Any]]:
    """field number -> values (ints for varint/fixed, bytes for length-delimited)."""
    out: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf field")
        out.setdefault(number, []).append(value)
    return out


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- CRC32C (the SSTable's block checksums; the same CRC as TensorBoard's record framing) -----

def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --- SSTable -----------------------------------------------------------------------------------

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48  # two block handles padded to 40 bytes, then the magic


def _handle(buf: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (offset, size), pos


def _block(table: bytes, handle: tuple[int, int]) -> bytes:
    offset, size = handle
    if offset + size + 5 > len(table):
        raise ValueError("block beyond the end of the file")
    data, kind = table[offset:offset + size], table[offset + size]
    stored = struct.unpack_from("<I", table, offset + size + 1)[0]
    if crc32c(table[offset:offset + size + 1]) != _unmask(stored):
        raise ValueError("block checksum mismatch (corrupt file)")
    if kind != 0:
        raise ValueError(f"compressed blocks (type {kind}) are not supported")
    return data


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise ValueError("block too short")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise ValueError("bad restart count")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _table_entries(table: bytes) -> Iterator[tuple[bytes, bytes]]:
    if len(table) < _FOOTER or struct.unpack_from("<Q", table, len(table) - 8)[0] != _MAGIC:
        raise ValueError("not an SSTable (bad magic number)")
    footer = table[len(table) - _FOOTER:]
    _meta, pos = _handle(footer, 0)
    index, _ = _handle(footer, pos)
    for _last_key, value in _block_entries(_block(table, index)):
        handle, _ = _handle(value, 0)
        yield from _block_entries(_block(table, handle))


# --- tensor bundle ------------------------------------------------------------------------------

_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
           17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str | None  # numpy dtype string; None for types drtui never reads (strings, ...)
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


def _entry(name: str, value: bytes) -> TensorEntry:
    f = _fields(value)
    if f.get(7):
        raise ValueError(f"{name} is saved in slices (partitioned variable), not supported")
    dims: tuple[int, ...] = ()
    if f.get(2):
        shape = _fields(f[2][-1])
        dims = tuple(_int64(_fields(d).get(1, [0])[-1]) for d in shape.get(2, []))
    code = f.get(1, [0])[-1]
    return TensorEntry(name, _DTYPES.get(code), dims, f.get(3, [0])[-1],
                       _int64(f.get(4, [0])[-1]), _int64(f.get(5, [0])[-1]))


class TensorBundle:
    """The tensors of a TF checkpoint PREFIX (PREFIX.index + PREFIX.data-*), read on demand."""

    def __init__(self, prefix: Path | str):
        self.prefix = Path(prefix)
        index = Path(f"{self.prefix}.index")
        if not index.is_file():
            raise CheckpointError(f"{index} does not exist: not a TensorFlow checkpoint prefix")
        self.entries: dict[str, TensorEntry] = {}
        self.num_shards = 1
        try:
            for key, value in _table_entries(index.read_bytes()):
                if key == b"":
                    header = _fields(value)
                    self.num_shards = header.get(1, [1])[-1]
                    if header.get(2, [0])[-1] != 0:
                        raise ValueError("big-endian checkpoints are not supported")
                    continue
                name = key.decode("utf-8")
                self.entries[name] = _entry(name, value)
        except (ValueError, struct.error, UnicodeDecodeError) as err:
            raise CheckpointError(f"{index}: not a readable TensorFlow checkpoint index "
                                  f"({err})") from None

    def names(self) -> list[str]:
        return sorted(self.entries)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def shard_path(self, shard: int) -> Path:
        return Path(f"{self.prefix}.data-{shard:05d}-of-{self.num_shards:05d}")

    def read(self, name: str) -> np.ndarray:
        entry = self.entries.get(name)
        if entry is None:
            raise CheckpointError(f"{self.prefix}: no tensor {name!r}")
        if entry.dtype is None:
            raise CheckpointError(f"{self.prefix}: {name} has a data type drtui cannot read")
        dtype = np.dtype(entry.dtype)
        count = int(np.prod(entry.shape, dtype=np.int64)) if entry.shape else 1
        if count * dtype.itemsize != entry.size or min(entry.shape, default=0) < 0:
            raise CheckpointError(f"{self.prefix}: {name} has {entry.size} bytes for shape "
                                  f"{list(entry.shape)} ({dtype})")
        path = self.shard_path(entry.shard)
        if not path.is_file():
            raise CheckpointError(f"{path} is missing (the checkpoint's data file)")
        if path.stat().st_size < entry.offset + entry.size:
            raise CheckpointError(f"{path} is truncated ({name} lies beyond its end)")
        data = np.fromfile(path, dtype=dtype, count=count, offset=entry.offset)
        return data.reshape(entry.shape)


# --- finding the checkpoint in a DRfC model folder ------------------------------------------------

def resolve_prefix(path: Path | str, which: str = "best") -> Path:
    """The checkpoint prefix of `path`: a DRfC model folder (holding model/), its model/ folder,
    or a prefix itself (model/12_Step-3456.ckpt, for PREFIX.index). In a folder, `which`
    ("best" / "last") picks from deepracer_checkpoints.json, else .coach_checkpoint (Coach's
    last), else TF's `checkpoint` file, else the highest-numbered checkpoint."""
    given = Path(path).expanduser()
    if Path(f"{given}.index").is_file():
        return given
    folder = given / "model" if (given / "model").is_dir() else given
    if not folder.is_dir():
        raise CheckpointError(f"{given} is neither a DRfC model folder nor a checkpoint prefix "
                              "(no such folder, no .index file)")
    name = _named_checkpoint(folder, which)
    if name is None:
        found = sorted(folder.glob("*.index"), key=_checkpoint_number)
        if not found:
            raise CheckpointError(f"{folder} holds no TensorFlow checkpoint (*.ckpt.index)")
        name = found[-1].name[:-len(".index")]
    prefix = folder / name
    if not Path(f"{prefix}.index").is_file():
        raise CheckpointError(f"{folder}: the {which} checkpoint {name} is not there "
                              f"({name}.index missing)")
    return prefix


def _named_checkpoint(folder: Path, which: str) -> str | None:
    listing = folder / "deepracer_checkpoints.json"
    if listing.is_file():
        try:
            data = json.loads(listing.read_text())
            for key in (f"{which}_checkpoint", "last_checkpoint", "best_checkpoint"):
                name = (data.get(key) or {}).get("name")
                if name and Path(f"{folder / name}.index").is_file():
                    return str(name)
        except (ValueError, AttributeError):
            pass  # a broken listing: fall back to the other pointers
    coach = folder / ".coach_checkpoint"
    if coach.is_file():
        name = coach.read_text().strip()
        if name and Path(f"{folder / name}.index").is_file():
            return name
    state = folder / "checkpoint"
    if state.is_file():
        match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', state.read_text(), re.M)
        if match and Path(f"{folder / Path(match.group(1)).name}.index").is_file():
            return Path(match.group(1)).name
    return None


def _checkpoint_number(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name)) or (-1,)


def model_metadata(prefix: Path) -> dict[str, Any] | None:
    """model_metadata.json next to the checkpoint or in the model folder above it."""
    for folder in (prefix.parent, prefix.parent.parent):
        path = folder / "model_metadata.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError:
                raise CheckpointError(f"{path} is not valid JSON") from None
            return data if isinstance(data, dict) else None
    return None


# --- Coach's DeepRacer PPO policy ---------------------------------------------------------------

CAMERA_INPUTS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", "observation")
LIDAR_INPUTS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
MIDDLEWARE = "middleware_fc_embedder"
HEAD = "ppo_head_0"
_LAYER = re.compile(r"(Conv2d|Dense)_(\d+)/(kernel|bias)")


@dataclass
class TFLayer:
    name: str  # scope inside network_1, e.g. FRONT_FACING_CAMERA/Conv2d_0
    kind: str  # "conv" | "dense"
    kernel: np.ndarray
    bias: np.ndarray


@dataclass
class CoachPolicy:
    """network_1 of a Coach clipped-PPO checkpoint: the policy DeepRacer drives with."""

    scope: str  # main_level/<agent>/main/online/network_1
    embedders: dict[str, list[TFLayer]]  # input name -> its layers, in order
    middleware: list[TFLayer]
    head: TFLayer  # policy_fc (discrete) or policy_mean (continuous)
    log_std: np.ndarray | None = None  # continuous: (n,)

    @property
    def discrete(self) -> bool:
        return self.log_std is None

    def describe(self) -> str:
        parts = []
        for name in sorted(self.embedders):
            layers = self.embedders[name]
            convs = [list(layer.kernel.shape) for layer in layers if layer.kind == "conv"]
            dense = [layer.kernel.shape[1] for layer in layers if layer.kind == "dense"]
            parts.append(f"{name}: {len(convs)} conv + dense {dense}")
        return "; ".join(parts)


def load_policy(bundle: TensorBundle) -> CoachPolicy:
    """The policy network's variables, by Coach's names; a clear error for anything else."""
    scopes = sorted({m.group(1) for n in bundle.entries
                     if (m := re.match(r"(main_level/[^/]+/main/online/network_1)/", n))})
    if not scopes:
        if any("/policy/online/" in n and "sac_policy_head" in n for n in bundle.entries):
            raise CheckpointError(f"{bundle.prefix} is a SAC model: transfer from a DRfC "
                                  "checkpoint takes clipped PPO models only")
        sample = ", ".join(bundle.names()[:3]) or "none"
        raise CheckpointError(f"{bundle.prefix} holds no DeepRacer PPO policy (no variables "
                              f"under main_level/agent/main/online/network_1/; found {sample})")
    if len(scopes) > 1:
        raise CheckpointError(f"{bundle.prefix} holds several agents ({', '.join(scopes)}): "
                              "transfer takes a single-agent model")
    scope = scopes[0]
    layers: dict[str, dict[int, dict[str, Any]]] = {}
    head: dict[str, np.ndarray] = {}
    for name in bundle.entries:
        if not name.startswith(scope + "/"):
            continue
        rest = name[len(scope) + 1:]
        group, _, tail = rest.partition("/")
        if group == HEAD:
            if tail in ("policy_fc/kernel", "policy_fc/bias", "policy_mean/kernel",
                        "policy_mean/bias", "policy_log_std"):
                head[tail] = _float(bundle, name)
            continue
        if "batchnorm" in tail.lower():
            raise CheckpointError(f"{bundle.prefix}: {rest} is a batch-norm layer; DeepRacer's "
                                  "networks (and drtui's) have none")
        match = _LAYER.fullmatch(tail)
        if not match:
            continue  # optimizer slots (.../kernel/Adam), gradient rescalers
        kind, index, part = match.groups()
        slot = layers.setdefault(group, {}).setdefault(int(index), {"kind": kind})
        slot[part] = _float(bundle, name)
    embedders: dict[str, list[TFLayer]] = {}
    middleware: list[TFLayer] = []
    for group, by_index in layers.items():
        built = []
        for index in sorted(by_index):
            slot = by_index[index]
            if "kernel" not in slot or "bias" not in slot:
                raise CheckpointError(f"{bundle.prefix}: {group}/{slot['kind']}_{index} lacks its "
                                      "kernel or bias")
            kind = "conv" if slot["kind"] == "Conv2d" else "dense"
            built.append(TFLayer(f"{group}/{slot['kind']}_{index}", kind, slot["kernel"],
                                 slot["bias"]))
        if group == MIDDLEWARE:
            middleware = built
        else:
            embedders[group] = built
    if "policy_fc/kernel" in head and "policy_fc/bias" in head:
        policy = TFLayer("ppo_head_0/policy_fc", "dense", head["policy_fc/kernel"],
                         head["policy_fc/bias"])
        log_std = None
    elif {"policy_mean/kernel", "policy_mean/bias", "policy_log_std"} <= head.keys():
        policy = TFLayer("ppo_head_0/policy_mean", "dense", head["policy_mean/kernel"],
                         head["policy_mean/bias"])
        log_std = head["policy_log_std"].reshape(-1)
    else:
        raise CheckpointError(f"{bundle.prefix}: {scope}/{HEAD} has no policy_fc or "
                              "policy_mean layer")
    if not embedders or not middleware:
        raise CheckpointError(f"{bundle.prefix}: {scope} lacks its input embedders or "
                              "middleware")
    return CoachPolicy(scope, embedders, middleware, policy, log_std)


def _float(bundle: TensorBundle, name: str) -> np.ndarray:
    entry = bundle.entries[name]
    if entry.dtype not in ("<f4", "<f8", "<f2"):
        raise CheckpointError(f"{bundle.prefix}: {name} is not a float tensor")
    return bundle.read(name).astype(np.float32)


# --- onto drtui's torch network -----------------------------------------------------------------

@dataclass
class WeightMap:
    """torch state-dict name -> tensor for what carries over; name -> reason for what does not."""

    tensors: dict[str, Any] = field(default_factory=dict)
    fresh: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value: np.ndarray) -> None:
        import torch

        self.tensors[name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))

    def skip(self, names: list[str], reason: str) -> None:
        for name in names:
            self.fresh.setdefault(name, reason)


def conv_weight(kernel: np.ndarray) -> np.ndarray:
    """TF HWIO -> torch OIHW."""
    return kernel.transpose(3, 2, 0, 1)


def nhwc_rows_to_nchw(rows: np.ndarray, h: int, w: int, c: int) -> np.ndarray:
    """Rows of a dense kernel fed by a TF-flattened (H, W, C) map, reordered for a torch-flattened
    (C, H, W) map: torch input c*H*W + y*W + x is TF input (y*W + x)*C + c."""
    return rows.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)


def _torch_layers(module, prefix: str) -> list[tuple[str, Any]]:
    from torch import nn

    return [(f"{prefix}.{i}", m) for i, m in enumerate(module)
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def _pair_inputs(tf_names: list[str], torch_keys: list[str]) -> dict[str, str]:
    """torch embedder key -> TF input name: the same name, else the checkpoint's only camera
    (for "camera" or a camera sensor name) or only lidar."""
    pairs = {}
    for key in torch_keys:
        if key in tf_names:
            pairs[key] = key
            continue
        kind = CAMERA_INPUTS if key == "camera" or key in CAMERA_INPUTS else \
            LIDAR_INPUTS if key == "lidar" or key in LIDAR_INPUTS else ()
        candidates = [n for n in tf_names if n in kind]
        if len(candidates) == 1:
            pairs[key] = candidates[0]
    return pairs


def map_policy(policy: CoachPolicy, net: Any) -> WeightMap:
    """The checkpoint's policy network as a (partial) state dict of drtui's ActorCritic `net`,
    built for the same DeepRacer network. Layers whose shapes differ stay out, with a reason."""
    out = WeightMap()
    encoder = net.encoder
    keys = list(encoder.embedders)
    pairs = _pair_inputs(list(policy.embedders), keys)
    # per torch input: how its embedding sits in TF's concatenation, (kind, size, layout)
    layouts: dict[str, tuple[str, int, tuple[int, int, int] | None]] = {}
    for key in keys:
        emb = encoder.embedders[key]
        prefix = f"encoder.embedders.{key}.net"
        ours = _torch_layers(emb.net, prefix)
        names = [n for name, _ in ours for n in (f"{name}.weight", f"{name}.bias")]
        theirs = policy.embedders.get(pairs.get(key, ""))
        if theirs is None:
            out.skip(names, f"the checkpoint has no input for {key}")
            continue
        layouts[key] = _map_embedder(out, key, ours, theirs, emb, policy)
    _map_middleware(out, policy, encoder, pairs, layouts)
    n_out = encoder.out_dim
    head = policy.head
    if net.action_spec.is_discrete != policy.discrete:
        theirs, ours = ("discrete", "continuous") if policy.discrete else \
            ("continuous", "discrete")
        out.skip(["policy_head.weight", "policy_head.bias", "log_std"],
                 f"action head: the checkpoint's action space is {theirs}, this session's {ours}")
    elif head.kernel.shape != (n_out, net.action_spec.n):
        out.skip(["policy_head.weight", "policy_head.bias", "log_std"],
                 f"action head: the checkpoint has {head.kernel.shape[1]} action outputs, this "
                 f"session {net.action_spec.n}")
    else:
        out.put("policy_head.weight", head.kernel.T)
        out.put("policy_head.bias", head.bias)
        if policy.log_std is not None:
            out.put("log_std", policy.log_std)
    out.skip(["value_head.weight", "value_head.bias"],
             "value head: DeepRacer's sits on its own network (network_0)")
    return out


def _map_embedder(out: WeightMap, key: str, ours: list[tuple[str, Any]], theirs: list[TFLayer],
                  emb: Any, policy: CoachPolicy) -> tuple[str, int, tuple[int, int, int] | None]:
    """Copy one input embedder; returns its embedding layout (see map_policy). A camera
    embedder (deepracer.CameraEmbedder) holds n_convs convs, then its dense layers as 1x1
    convs; a vector embedder only Linear layers."""
    n_convs = getattr(emb, "n_convs", 0)
    ours_convs, ours_dense = ours[:n_convs], ours[n_convs:]
    their_convs = [t for t in theirs if t.kind == "conv"]
    their_dense = [t for t in theirs if t.kind == "dense"]
    want = [list(m.weight.shape[:1]) + list(m.weight.shape[2:]) for _, m in ours_convs]
    have = [[t.kernel.shape[3], t.kernel.shape[0], t.kernel.shape[1]] for t in their_convs]
    if want != have or len(ours_dense) != len(their_dense):
        raise CheckpointError(
            f"the checkpoint ({policy.describe()}) is not this session's network, whose {key} "
            f"embedder has conv [filters, kernel, kernel] {want} + {len(ours_dense)} dense: "
            "transfer needs the network the model was trained with")
    for (name, m), t in zip(ours_convs, their_convs):
        weight = conv_weight(t.kernel)
        if tuple(weight.shape) != tuple(m.weight.shape):
            out.skip([f"{name}.weight", f"{name}.bias"],
                     f"{t.name}: {weight.shape[1]} input channels, this session's camera "
                     f"{m.weight.shape[1]} (stereo vs mono?)")
            continue
        out.put(f"{name}.weight", weight)
        out.put(f"{name}.bias", t.bias)
    for (name, m), t in zip(ours_dense, their_dense):
        weight = t.kernel.T  # [out, in]
        if m.weight.dim() == 4:  # a camera's per-position dense layer: a 1x1 conv
            weight = weight[:, :, None, None]
        if tuple(weight.shape) != tuple(m.weight.shape):
            out.skip([f"{name}.weight", f"{name}.bias"],
                     f"{t.name}: shape {list(t.kernel.shape)}, this session's "
                     f"{list(m.weight.shape[1::-1])} (another lidar size?)")
            continue
        out.put(f"{name}.weight", weight)
        out.put(f"{name}.bias", t.bias)
    if not n_convs:  # a vector input (lidar)
        return ("vector", their_dense[-1].kernel.shape[1] if their_dense else 0, None)
    c, h, w = emb.map_shape
    return ("image", c * h * w, (h, w, c))


def _map_middleware(out: WeightMap, policy: CoachPolicy, encoder, pairs: dict[str, str],
                    layouts: dict) -> None:
    ours = _torch_layers(encoder.middleware, "encoder.middleware")
    theirs = policy.middleware
    if len(ours) != len(theirs):
        raise CheckpointError(f"the checkpoint's middleware has {len(theirs)} dense layers, this "
                              f"session's network {len(ours)}: not the same DeepRacer network")
    (first_name, first), rest = ours[0], ours[1:]
    weight, reason = _first_middleware_weight(theirs[0].kernel, policy, encoder, pairs, layouts)
    if weight is not None and tuple(weight.shape) != tuple(first.weight.shape):
        weight, reason = None, (f"middleware: shape {list(weight.shape[::-1])}, this network's "
                                f"{list(first.weight.shape[::-1])}")
    if weight is None:
        out.skip([f"{first_name}.weight", f"{first_name}.bias"], reason)
    else:
        out.put(f"{first_name}.weight", weight)
        out.put(f"{first_name}.bias", theirs[0].bias)
    for (name, m), t in zip(rest, theirs[1:]):
        if tuple(t.kernel.T.shape) != tuple(m.weight.shape):
            out.skip([f"{name}.weight", f"{name}.bias"],
                     f"{t.name}: shape {list(t.kernel.shape)}, this network's "
                     f"{list(m.weight.shape[::-1])}")
            continue
        out.put(f"{name}.weight", t.kernel.T)
        out.put(f"{name}.bias", t.bias)


def _first_middleware_weight(rows: np.ndarray, policy: CoachPolicy, encoder,
                             pairs: dict[str, str], layouts: dict
                             ) -> tuple[np.ndarray | None, str]:
    """The torch weight of the middleware's first layer: TF's kernel rows split per input (in
    Coach's sorted-name order), each image part reordered (H, W, C) -> (C, H, W), joined in
    drtui's input order. (None, why) where the inputs differ."""
    if set(pairs) != set(encoder.embedders) or set(pairs.values()) != set(policy.embedders):
        return None, (f"middleware: the checkpoint's inputs "
                      f"({', '.join(sorted(policy.embedders))}) are not this session's "
                      f"({', '.join(encoder.embedders)})")
    sizes = {pairs[key]: layouts[key][1] for key in layouts}
    if sum(sizes.values()) != rows.shape[0]:
        return None, (f"middleware: the checkpoint's first layer takes {rows.shape[0]} inputs, "
                      f"at this session's camera size it would take {sum(sizes.values())} "
                      "(DeepRacer trains at 160x120: DRTUI_CAMERA_SIZE=160x120)")
    segments, offset = {}, 0
    for tf_name in sorted(policy.embedders):  # Coach concatenates in sorted-name order
        segments[tf_name] = rows[offset:offset + sizes[tf_name]]
        offset += sizes[tf_name]
    parts = []
    for key in encoder.embedders:  # drtui's order: images first
        _kind, _size, layout = layouts[key]
        seg = segments[pairs[key]]
        parts.append(seg if layout is None else nhwc_rows_to_nchw(seg, *layout))
    return np.concatenate(parts, axis=0).T, ""
