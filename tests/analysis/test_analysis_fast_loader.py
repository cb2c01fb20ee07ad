"""The fast block reader (numpy finds the records, pandas' C reader parses a whole block) gives
exactly what the exact line-by-line path and deepracer-utils' SimulationLogsIO give on the real
logs, declines the blocks it cannot read exactly, and streams a log instead of reading it whole."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from analysis_helpers import CONSOLE_EVAL_LOG, DATA, DROA_LOG, LOGS, SIMTRACE

from drtui.analysis import simtrace
from drtui.analysis.load import load

REAL_LOGS = [DROA_LOG, CONSOLE_EVAL_LOG,
             LOGS / "droa-simapp6-simulation-training-iteration-boundary-excerpt.log",
             SIMTRACE / "drfc-simapp5-2022_reinvent_champ-robomaker.log",
             SIMTRACE / "drfc-simapp5-FS_June2020-robomaker-lines1-4500.log",
             DATA / "evaluation" / "console-leaderboard-20220703172842-robomaker.log"]
IDS = [p.name.split("-robomaker")[0].split("-simulation")[0][:40] for p in REAL_LOGS]


def _slow(monkeypatch, blocks):
    """The exact path alone: every block declined by the fast reader."""
    with monkeypatch.context() as m:
        m.setattr(simtrace, "_fast_block", lambda block: None)
        return simtrace.parse_blocks(blocks)


def _fast_blocks(blocks) -> int:
    return sum(simtrace._fast_block(b) is not None for b in blocks if simtrace._TAG in b)


@pytest.mark.parametrize("path", REAL_LOGS, ids=IDS)
def test_fast_reader_equals_the_exact_path(path, monkeypatch):
    blocks = list(simtrace.read_blocks(path))
    assert _fast_blocks(blocks) == 1  # the fast reader took the log's block
    fast, slow = simtrace.parse_blocks(blocks), _slow(monkeypatch, blocks)
    assert (fast.lines, fast.garbled) == (slow.lines, slow.garbled) and fast.lines > 40
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)


@pytest.mark.parametrize("path", REAL_LOGS[1:], ids=IDS[1:])  # DROA_LOG: the vs-utils tests
def test_loaded_steps_equal_simulation_logs_io(path):
    dr = pytest.importorskip("deepracer.logs")
    expected = dr.SimulationLogsIO.load_pandas(str(path))
    mine = load(path).steps
    assert len(mine) == len(expected) > 40
    for col in expected.columns:  # the same records, column by column, to the last bit
        np.testing.assert_array_equal(mine[col].to_numpy(), expected[col].to_numpy(),
                                      err_msg=col)


def _records() -> list[bytes]:
    return DROA_LOG.read_bytes().splitlines(keepends=True)


def _reference(monkeypatch, data: bytes):
    return _slow(monkeypatch, [data])


@pytest.mark.parametrize("change", ["tag-within-a-line", "tab-in-a-record", "other-prefix",
                                    "garbled-value", "short-record", "long-record",
                                    "short-and-long-records", "comma-in-a-prefix",
                                    "lone-carriage-return", "quote"])
def test_unusual_blocks_parse_as_the_exact_path(change, monkeypatch):
    """A block the fast reader cannot read exactly is left to the exact path."""
    lines = _records()
    at = [i for i, ln in enumerate(lines) if simtrace._TAG in ln][10]
    ln = lines[at]
    lines[at] = {
        "tag-within-a-line": ln.replace(b"SIM_TRACE_LOG:", b"x SIM_TRACE_LOG:").rstrip()
                             + b" SIM_TRACE_LOG:1,2\n",
        "tab-in-a-record": ln.replace(b",False,", b",False\t,", 1),
        "other-prefix": b"SIM_TRACE_LOG:" + ln.split(b"SIM_TRACE_LOG:")[1],
        "garbled-value": ln.replace(b",False,", b",Fals,", 1),
        "short-record": ln.rsplit(b",", 1)[0] + b"\n",
        "long-record": ln.rstrip() + b",7\n",
        "short-and-long-records": ln.rstrip() + b",7\n" + lines[at + 1].rsplit(b",", 1)[0]
                                  + b"\n",
        "comma-in-a-prefix": ln.replace(b"] [", b",[", 1).rsplit(b",", 1)[0] + b"\n",
        "lone-carriage-return": ln.replace(b",False,", b",False\r,", 1),
        "quote": ln.replace(b",False,", b',"False,', 1),
    }[change]
    data = b"".join(lines)
    got = simtrace.parse_blocks([data])
    want = _reference(monkeypatch, data)
    assert (got.lines, got.garbled) == (want.lines, want.garbled)
    pd.testing.assert_frame_equal(got.frame, want.frame, check_exact=True)
    assert simtrace._fast_block(data) is None  # declined: the exact path read this block


def test_other_lines_between_records_are_skipped_not_read():
    """Lines without a record (hyper-parameters, ROS messages, Training> lines, blank lines,
    lines that start like a comment) between records: the fast reader reads only the
    records."""
    lines = _records()
    other = [b"\n", b"# a comment-like line, 1,2,3\n", b"Training> Name=main_level/agent\n"]
    data = b"".join(ln + other[i % 3] for i, ln in enumerate(lines))
    fast = simtrace._fast_block(data)
    assert fast is not None
    assert len(fast[0]) == sum(simtrace._TAG in ln for ln in lines) == 53


class _Reads(io.RawIOBase):
    """A stream of `size` bytes of repeated log lines that records the largest read."""

    def __init__(self, chunk: bytes, size: int):
        self.chunk, self.left, self.largest = chunk, size, 0
        self.pos = 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        self.largest = max(self.largest, len(buf))
        out = bytearray()
        while len(out) < n:
            take = self.chunk[self.pos:self.pos + n - len(out)]
            out += take
            self.pos = (self.pos + len(take)) % len(self.chunk)
        buf[:n] = out
        self.left -= n
        return n


def test_a_log_is_streamed_in_blocks_not_read_whole():
    """A log many blocks long is read a block at a time (memory: a block, plus the table)."""
    chunk = DROA_LOG.read_bytes()
    cut = 40 * len(chunk) + chunk.find(simtrace._TAG) + 30  # the log ends within a record
    stream = _Reads(chunk, cut)
    blocks = simtrace.read_blocks(io.BufferedReader(stream, 1 << 16), block_bytes=len(chunk) // 3)
    parsed = simtrace.parse_blocks(blocks)
    assert stream.largest <= len(chunk) // 3 + (1 << 16)
    assert (parsed.lines, parsed.garbled, len(parsed.frame)) == (40 * 53 + 1, 1, 40 * 53)
    assert parsed.frame["episode"].nunique() == 3 and parsed.frame["steps"].max() == 21
