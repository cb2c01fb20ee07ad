"""SIM_TRACE_LOG lines and simtrace CSVs -> one steps DataFrame, with deepracer-utils' column
names (x, y, steering_angle, speed, on_track, ...) so its definitions apply unchanged.

Fast and streaming: a log is read in blocks of lines; one regex call per block picks the
SIM_TRACE_LOG payloads, pandas' C reader parses them in bulk. Garbled lines (a wrong number of
fields, a value that is not a number: log lines interleaved by another process, a truncated
file) are counted and skipped, never fatal.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# simapp's record: 15 fields (2019), 17 (+episode_status, pause_duration), 18 (+wall_clock,
# DRfC 5.x) or 19 (+obstacle_crash_counter before wall_clock, simapp 6)
FIELDS = {
    15: ("episode", "steps", "x", "y", "yaw", "steering_angle", "speed", "action", "reward",
         "done", "on_track", "progress", "closest_waypoint", "track_len", "tstamp"),
}
FIELDS[17] = FIELDS[15] + ("episode_status", "pause_duration")
FIELDS[18] = FIELDS[17] + ("wall_clock",)
FIELDS[19] = FIELDS[17] + ("obstacle_crash_counter", "wall_clock")
CSV_RENAMES = {"X": "x", "Y": "y", "steer": "steering_angle", "throttle": "speed",
               "all_wheels_on_track": "on_track"}
NUMERIC = ("episode", "steps", "x", "y", "yaw", "steering_angle", "speed", "reward", "progress",
           "closest_waypoint", "track_len", "tstamp", "pause_duration", "wall_clock")
COLUMNS = ("iteration", "episode", "steps", "x", "y", "yaw", "steering_angle", "speed", "action",
           "reward", "done", "on_track", "progress", "closest_waypoint", "track_len", "tstamp",
           "episode_status", "pause_duration", "wall_clock", "worker")
TAG = "SIM_TRACE_LOG:"
_PAYLOAD = re.compile(rb"SIM_TRACE_LOG:([^\t\r\n]*)")
_OLD_CONTINUOUS = re.compile(rb"\[([^\],\n]*), *")  # "[steer, speed]" of older logs
BLOCK_BYTES = 4 << 20  # small enough to stay in the cache and reuse freed memory


@dataclass
class Parsed:
    frame: object  # pandas.DataFrame with COLUMNS (iteration filled in later)
    lines: int  # SIM_TRACE_LOG lines seen
    garbled: int  # of those, skipped


def _frame_of(data: bytes, n: int):
    import pandas as pd

    return pd.read_csv(io.BytesIO(data), header=None, names=list(FIELDS[n]),
                       dtype={"episode_status": "category"}, engine="c", na_filter=False,
                       low_memory=False)


def _fields_per_line(joined: bytes):
    """Number of comma-separated fields of each line of `joined` (vectorised)."""
    import numpy as np

    arr = np.frombuffer(joined, np.uint8)
    commas = np.flatnonzero(arr == 44)
    ends = np.append(np.flatnonzero(arr == 10), len(arr))
    return np.diff(np.searchsorted(commas, ends), prepend=0) + 1


def _clean(df) -> tuple[object, int]:
    """Numeric columns as numbers; rows with a value that is not are dropped and counted."""
    import numpy as np
    import pandas as pd

    bad = np.zeros(len(df), bool)
    for col in NUMERIC:
        if col in df and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = pd.to_numeric(df[col], errors="coerce")
            bad |= df[col].isna().to_numpy()
    for col in ("done", "on_track"):
        if df[col].dtype != bool:
            s = df[col].astype(str)
            bad |= ~s.isin(("True", "False")).to_numpy()
            df[col] = s == "True"
    if bad.any():
        df = df[~bad].reset_index(drop=True)
    return df, int(bad.sum())


def _finish(df, worker: int = 0):
    """deepracer-utils' dtypes and columns: int episode/steps/waypoint, action -1 when
    continuous, missing columns as NaN."""
    import numpy as np
    import pandas as pd

    for col in ("episode", "steps", "closest_waypoint"):
        df[col] = df[col].astype(np.int64)
    if "action" in df and not pd.api.types.is_integer_dtype(df["action"]):
        act = pd.to_numeric(df["action"], errors="coerce")  # "[steer speed]" -> NaN -> -1
        whole = act.notna() & (act == act.round())
        df["action"] = act.where(whole, -1).astype(np.int64)
    for col in ("pause_duration", "wall_clock"):
        if col not in df:
            df[col] = np.nan
    if "episode_status" not in df:
        df["episode_status"] = ""
    df["episode_status"] = df["episode_status"].astype(str)
    df["worker"] = worker
    df["iteration"] = 0
    return df[list(COLUMNS)]


_TAG = TAG.encode()
_SKIP = 1  # byte put at the start of every line that is no record: pandas skips it as a comment


def _fast_block(block):
    """The block's records in one pass of pandas' C reader, or None when the block is not
    the usual case: each SIM_TRACE_LOG tag at the same offset in its line (after a prefix of
    one length: a ROS node's name, or none), once a line, every record of one format and
    well-formed. No Python loop over lines: numpy finds the records' lines, every other line
    becomes a comment, the tag's colon a comma, and pandas reads the records with their
    prefix as a column it drops (cheaper than cutting it: a pass less over the block). A
    bytearray block is marked in place, then changed back."""
    import csv

    import numpy as np
    import pandas as pd

    first = block.find(_TAG)
    if first < 0 or bytes([_SKIP]) in block:
        return None
    arr = np.frombuffer(block, np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.append(nl, len(arr))
    if starts[-1] == len(arr):
        starts, ends = starts[:-1], ends[:-1]
    lead = first - (block.rfind(b"\n", 0, first) + 1)  # the prefix's length
    at = starts + lead
    good = np.flatnonzero(at + len(_TAG) <= ends)
    window = np.lib.stride_tricks.sliding_window_view(arr, len(_TAG))
    hit = (window[at[good]] == np.frombuffer(_TAG, np.uint8)).all(axis=1)
    good = good[hit]
    n = len(good)
    if n != block.count(_TAG):  # another prefix's length, or a tag within a line's text
        return None
    is_record = np.zeros(len(starts), bool)
    is_record[good] = True
    for byte in (9, 13):  # a tab or a lone carriage return ends a record early: the slow path
        if bytes([byte]) in block:
            where = np.flatnonzero(arr == byte)
            if byte == 13:
                where = where[(where + 1 < len(arr)) & (arr[np.minimum(where + 1,
                                                                       len(arr) - 1)] != 10)]
            if is_record[np.searchsorted(starts, where, "right") - 1].any():
                return None
    k = block.count(b",", first, ends[good[0]]) + 1
    if k not in FIELDS:
        return None
    data = block if isinstance(block, bytearray) else bytearray(block)
    out = np.frombuffer(data, np.uint8)
    colons, other = at[good] + len(_TAG) - 1, starts[~is_record & (ends > starts)]
    kept = out[other].copy()  # blank lines: pandas skips them itself
    out[colons], out[other] = 44, _SKIP  # "SIM_TRACE_LOG:" -> "SIM_TRACE_LOG,"; comments
    try:  # a longer record: "expected k fields"; a shorter one: "" in a number's column
        df = pd.read_csv(io.BytesIO(data), header=None, names=["_prefix", *FIELDS[k]],
                         comment=chr(_SKIP), quoting=csv.QUOTE_NONE, engine="c",
                         dtype={"_prefix": "category", "episode_status": "category"},
                         na_filter=False, low_memory=False)
    except (ValueError, pd.errors.ParserError):
        df = None
    out[colons], out[other] = 58, kept  # the block as it was
    if df is None or len(df) != n or not isinstance(df.index, pd.RangeIndex) or \
            df["done"].dtype != bool or df["on_track"].dtype != bool or \
            any(c in df and not pd.api.types.is_numeric_dtype(df[c]) for c in NUMERIC):
        return None
    return df[list(FIELDS[k])], n


def parse_blocks(blocks: Iterable[bytes], worker: int = 0) -> Parsed:
    """Parse SIM_TRACE_LOG records out of blocks of whole lines."""
    import numpy as np
    import pandas as pd

    frames, seen, garbled = [], 0, 0
    for block in blocks:
        fast = _fast_block(block)
        if fast is not None:
            df, n = fast
            df["_pos"] = np.arange(seen, seen + n)
            seen += n
            frames.append(df)
            continue
        payloads = _PAYLOAD.findall(block)
        if not payloads:
            continue
        joined = b"\n".join(payloads)
        if b"[" in joined:
            joined = _OLD_CONTINUOUS.sub(rb"[\1 ", joined)
        counts = _fields_per_line(joined)
        kinds = np.unique(counts)
        if len(kinds) == 1:  # the usual case: one format throughout the block
            groups = {int(kinds[0]): (joined, np.arange(seen, seen + len(payloads)))}
        else:
            lines = joined.split(b"\n")
            groups = {int(k): (b"\n".join([lines[i] for i in np.flatnonzero(counts == k)]),
                               seen + np.flatnonzero(counts == k)) for k in kinds}
        seen += len(payloads)
        for n, (data, positions) in groups.items():
            if n not in FIELDS:
                garbled += len(positions)
                continue
            try:
                df = _frame_of(data, n)
                df["_pos"] = positions
            except (ValueError, pd.errors.ParserError):  # quote chars and the like: line by line
                df = _frame_line_by_line(data.split(b"\n"), positions, n)
            df, _ = _clean(df)
            garbled += len(positions) - len(df)
            frames.append(df)
    if frames:
        df = _concat_in_order(frames)
    else:
        df = pd.DataFrame({c: [] for c in FIELDS[19]})
    return Parsed(_finish(df, worker), seen, garbled)


def _concat_in_order(frames):
    """The blocks' frames as one, in the log's order (records of different lengths were parsed
    apart). Each block's statuses are a categorical of their own: they are joined as one
    categorical, not as a column of strings."""
    import numpy as np
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    status = None
    if all("episode_status" in f for f in frames):
        status = pd.api.types.union_categoricals(
            [f["episode_status"].astype("category") for f in frames])
        frames = [f.drop(columns="episode_status") for f in frames]
    df = pd.concat(frames, ignore_index=True)
    if status is not None:
        df["episode_status"] = status
    if (np.diff(df["_pos"].to_numpy()) < 0).any():
        df = df.sort_values("_pos", kind="stable").reset_index(drop=True)
    return df


def _frame_line_by_line(group: list[bytes], positions: list[int], n: int):
    import pandas as pd

    rows = [p.decode("utf-8", "replace").split(",") + [i] for p, i in zip(group, positions)]
    return pd.DataFrame(rows, columns=[*FIELDS[n], "_pos"])


def read_blocks(path, block_bytes: int = BLOCK_BYTES) -> Iterable[bytes]:
    """A file (or binary stream) in blocks that end at line ends."""
    fh = open(path, "rb") if isinstance(path, (str, Path)) else path  # noqa: SIM115
    try:
        while True:
            chunk = bytearray(block_bytes)  # read into, and completed, in place: no copies
            got = fh.readinto(chunk) if hasattr(fh, "readinto") else None
            if got is None:  # a stream without readinto
                chunk = bytearray(fh.read(block_bytes))
            else:
                del chunk[got:]
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                chunk += fh.readline()  # complete the last line
            yield chunk
    finally:
        if isinstance(path, (str, Path)):
            fh.close()


def parse_log(path_or_stream, worker: int = 0) -> Parsed:
    return parse_blocks(read_blocks(path_or_stream), worker)


def read_csv(path_or_stream, worker: int = 0):
    """A simtrace CSV (15, 17, 18 or 19 columns with a header) as a steps DataFrame."""
    import pandas as pd

    from drtui.errors import InvalidInput

    name = getattr(path_or_stream, "name", path_or_stream)
    try:  # a row with too many fields (lines interleaved, a truncated write) is skipped
        df = pd.read_csv(path_or_stream, dtype={"action": str, "episode_status": str},
                         low_memory=False, on_bad_lines="skip")
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput([f"{name}: not a readable simtrace CSV ({reason})"]) from None
    df = df.rename(columns=CSV_RENAMES)
    missing = [c for c in FIELDS[15] if c not in df]
    if missing:
        raise InvalidInput([f"{name}: not a simtrace CSV (no {', '.join(missing)} column)"])
    df, _ = _clean(df)
    return _finish(df, worker)
