"""drtui's hand-written TensorBoard files, read by TensorBoard's own loader."""

from __future__ import annotations

import pytest

from drtui.runstore.tensorboard import ScalarWriter, crc32c


def test_crc32c_known_vectors():
    # RFC 3720 test vectors for CRC-32C
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA


def test_tensorboard_reads_scalars(tmp_path):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    with ScalarWriter(tmp_path) as w:
        for step in range(1, 6):
            w.add_scalars(step, {"train/mean_progress": step * 10.0, "policy/entropy": 2.5,
                                 "skipped": None})
    acc = ea.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"train/mean_progress", "policy/entropy"}
    progress = acc.Scalars("train/mean_progress")
    assert [s.step for s in progress] == [1, 2, 3, 4, 5]
    assert [s.value for s in progress] == [10.0, 20.0, 30.0, 40.0, 50.0]
