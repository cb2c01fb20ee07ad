"""TensorBoard event files without TensorFlow or the tensorboard package: scalar summaries
written as TFRecords of hand-encoded `Event` protobufs.

TFRecord framing: uint64 length, masked crc32c(length), data, masked crc32c(data).
Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
Summary { repeated Value value = 1 }  Value { string tag = 1; float simple_value = 2 }
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path
from typing import Self


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, *, file_version: str | None = None,
           scalars: dict[str, float] | None = None) -> bytes:
    out = _field(1, 1) + struct.pack("<d", wall_time) + _field(2, 0) + _varint(step)
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if scalars:
        values = b"".join(
            _bytes_field(1, _bytes_field(1, tag.encode()) + _field(2, 5) +
                         struct.pack("<f", float(value)))
            for tag, value in scalars.items())
        out += _bytes_field(5, values)
    return out


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", _masked(crc32c(header))) + data +
            struct.pack("<I", _masked(crc32c(data))))


class ScalarWriter:
    """Appends scalars to one events file in a run's tb/ folder; flushes every write so a
    killed run keeps what it logged."""

    def __init__(self, logdir: Path, *, suffix: str = ""):
        logdir = Path(logdir)
        logdir.mkdir(parents=True, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}{suffix}")
        self.path = logdir / name
        self._fh = open(self.path, "ab")  # noqa: SIM115 - the writer holds it until close()
        self._fh.write(_record(_event(time.time(), 0, file_version="brain.Event:2")))
        self._fh.flush()

    def add_scalars(self, step: int, scalars: dict[str, float | None],
                    wall_time: float | None = None) -> None:
        values = {k: v for k, v in scalars.items() if v is not None}
        if values:
            self._fh.write(_record(_event(wall_time or time.time(), step, scalars=values)))
            self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def iteration_scalars(event) -> dict[str, float | None]:
    """The TensorBoard tags of an IterationEnd event."""
    return {
        "train/mean_reward": event.mean_reward,
        "train/mean_progress": event.mean_progress,
        "train/completion_rate": event.completion_rate,
        "train/mean_lap_time_s": event.mean_lap_time_s,
        "policy/loss": event.policy_loss,
        "policy/entropy": event.entropy,
        "policy/kl_divergence": event.kl_divergence,
    }
