"""TensorFlow checkpoints (the tensor bundle tf.train.Saver writes) written without TensorFlow:
the writing half of drtui.train.tf_checkpoint, which reads them.

    write_bundle(PREFIX, {name: numpy array})   -> PREFIX.index, PREFIX.data-00000-of-00001

PREFIX.data is the tensors' little-endian bytes one after another; PREFIX.index an SSTable
(one data block of prefix-compressed entries, an empty meta-index block, the index block, the
48-byte footer) whose key "" holds the BundleHeaderProto and every other key, in sorted order,
a tensor's BundleEntryProto (dtype, shape, shard 0, offset, size, masked CRC32C of its bytes,
which TensorFlow checks on every read). The CRC32C of a large tensor is computed with numpy:
the bytes are cut into equal lanes whose CRCs advance together, then combined with the
GF(2) matrix that shifts a CRC past a lane.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from drtui.fsio import atomic_write

# TensorBoard's event files use the same protobuf varints and masked CRCs (one implementation)
from drtui.runstore.tensorboard import _TABLE as _CRC_TABLE
from drtui.runstore.tensorboard import _masked as masked
from drtui.runstore.tensorboard import _varint

_DTYPE_CODES = {np.dtype("<f4"): 1, np.dtype("<f8"): 2, np.dtype("<i4"): 3,
                np.dtype("<i8"): 9}
_MAGIC = 0xDB4775248B80FB57


# --- CRC32C -------------------------------------------------------------------------------------

# TensorBoard's own CRC32C table (drtui.runstore.tensorboard), as numpy for whole lanes
_TABLE = np.array(_CRC_TABLE, dtype=np.uint32)


def _shift_matrix(nbytes: int) -> np.ndarray:
    """Columns: where each register bit goes after `nbytes` zero bytes (a linear map)."""
    cols = np.array([1 << j for j in range(32)], dtype=np.uint32)
    for _ in range(nbytes):
        cols = _TABLE[cols & 0xFF] ^ (cols >> 8)
    return cols


def _apply(cols: np.ndarray, regs: np.ndarray) -> np.ndarray:
    out = np.zeros_like(regs)
    for j in range(32):
        out ^= ((regs >> np.uint32(j)) & np.uint32(1)) * cols[j]
    return out


def _square(cols: np.ndarray) -> np.ndarray:
    """The map applied twice (shift by twice as many bytes)."""
    return _apply(cols, cols)


def crc32c(data: bytes) -> int:
    """CRC32C of `data` (TensorFlow's checksum), fast for large tensors."""
    buf = np.frombuffer(data, dtype=np.uint8)
    lane = 4096
    lanes = len(buf) // lane
    reg = 0xFFFFFFFF
    if lanes >= 2:
        block = buf[:lanes * lane].reshape(lanes, lane)
        crcs = np.zeros(lanes, dtype=np.uint32)  # each lane's register, started from zero
        for i in range(lane):
            crcs = _TABLE[(crcs ^ block[:, i]) & 0xFF] ^ (crcs >> 8)
        # the register after a lane is shift(register before) ^ the lane's own crc: fold
        # [start, lane 0, lane 1, ...] left to right, pairwise (a leading zero changes nothing)
        regs = np.concatenate([np.array([reg], dtype=np.uint32), crcs])
        shift = _shift_matrix(lane)
        while len(regs) > 1:
            if len(regs) % 2:
                regs = np.concatenate([np.zeros(1, dtype=np.uint32), regs])
            regs = _apply(shift, regs[0::2]) ^ regs[1::2]
            shift = _square(shift)
        reg = int(regs[0])
        buf = buf[lanes * lane:]
    for byte in buf.tobytes():
        reg = int(_TABLE[(reg ^ byte) & 0xFF]) ^ (reg >> 8)
    return reg ^ 0xFFFFFFFF


# --- protobuf and SSTable -------------------------------------------------------------------------

def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _message(number: int, body: bytes) -> bytes:
    return _key(number, 2) + _varint(len(body)) + body


def _entry(dtype: int, shape: tuple[int, ...], offset: int, size: int, crc: int) -> bytes:
    """BundleEntryProto: dtype 1, shape 2 (TensorShapeProto: dim 2 {size 1}), shard_id 3,
    offset 4, size 5, crc32c 6 (fixed32, masked)."""
    dims = b"".join(_message(2, _key(1, 0) + _varint(d)) for d in shape)
    return (_key(1, 0) + _varint(dtype) + _message(2, dims) + _key(4, 0) + _varint(offset)
            + _key(5, 0) + _varint(size) + _key(6, 5) + struct.pack("<I", masked(crc)))


def _header() -> bytes:
    """BundleHeaderProto: num_shards 1, endianness LITTLE (0, the default), version
    {producer 1}."""
    return _key(1, 0) + _varint(1) + _message(3, _key(1, 0) + _varint(1))


def _block(entries: list[tuple[bytes, bytes]], restart_interval: int = 16) -> bytes:
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval:
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        last = key
    restarts = restarts or [0]
    return bytes(out) + b"".join(struct.pack("<I", r) for r in restarts) + \
        struct.pack("<I", len(restarts))


def _table(entries: list[tuple[bytes, bytes]]) -> bytes:
    """An SSTable of sorted (key, value) entries: one data block, an empty meta-index block,
    the index block, the footer. Each block ends with its type (0: uncompressed) and the masked
    CRC32C of block + type."""
    out = bytearray()

    def put(block: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(block))
        trailer = b"\x00"
        out.extend(block + trailer + struct.pack("<I", masked(crc32c(block + trailer))))
        return handle

    data = put(_block(entries))
    meta = put(_block([]))
    index = put(_block([(entries[-1][0], data)], restart_interval=1))
    footer = (meta + index).ljust(40, b"\x00") + struct.pack("<Q", _MAGIC)
    return bytes(out + footer)


def write_bundle(prefix: Path | str, tensors: dict[str, np.ndarray]) -> None:
    """PREFIX.index and PREFIX.data-00000-of-00001 holding `tensors` (float32/64, int32/64)."""
    prefix = Path(prefix)
    data, entries = bytearray(), [(b"", _header())]
    for name in sorted(tensors):
        array = np.asarray(tensors[name], order="C")  # a scalar stays 0-d
        dtype = array.dtype.newbyteorder("<")
        if dtype not in _DTYPE_CODES:
            raise ValueError(f"{name}: dtype {array.dtype} is not written")
        raw = array.astype(dtype, copy=False).tobytes()
        entries.append((name.encode(), _entry(_DTYPE_CODES[dtype], array.shape, len(data),
                                              len(raw), crc32c(raw))))
        data += raw
    atomic_write(Path(f"{prefix}.data-00000-of-00001"), bytes(data))
    atomic_write(Path(f"{prefix}.index"), _table(entries))
