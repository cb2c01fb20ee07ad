"""How fast drtui loads SIM_TRACE_LOG lines, against deepracer-utils on the same file.

    .venv/bin/python bench/parse.py                  # 1,000,000 lines, best of 3
    .venv/bin/python bench/parse.py --lines 200000 --repeat 1

The file is made once (and reused) from the real simapp-6 simulation log excerpt in
tests/data/logs: its SIM_TRACE_LOG lines with their ROS 2 prefixes, episodes renumbered so the
file reads as one long training, and the log's other lines kept in between. Both loaders
produce a DataFrame of every step: drtui's `drtui.analysis.load.load` (detection, streaming
block parse, iterations, unique episodes) and deepracer-utils'
`SimulationLogsIO.load_pandas` (its loader for robomaker logs). Each loader runs in its own
fresh process (pandas imported before the clock starts), so the figures are its own: wall
seconds, CPU seconds (process time: both are single-threaded), lines per second, best of
--repeat, and the process's peak memory (max RSS) and how much it grew while loading.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "logs" / "droa-simapp6-simulation-training-start-excerpt.log"


def make_file(path: Path, lines: int) -> Path:
    """`lines` SIM_TRACE_LOG lines (plus the log's other lines between episodes)."""
    if path.exists() and path.stat().st_size > 0:
        return path
    sample = SAMPLE.read_text().splitlines()
    trace = [ln for ln in sample if "SIM_TRACE_LOG:" in ln]
    other = [ln for ln in sample if "SIM_TRACE_LOG:" not in ln][:5]
    tmp = path.with_suffix(".tmp")
    written, episode = 0, 0
    with open(tmp, "w", encoding="utf-8") as fh:
        while written < lines:
            for ln in trace:
                if written >= lines:
                    break
                head, rest = ln.split("SIM_TRACE_LOG:", 1)
                fields = rest.split(",", 1)  # the sample's episodes 0, 1, 2 -> running numbers
                fh.write(f"{head}SIM_TRACE_LOG:{episode + int(fields[0])},{fields[1]}\n")
                written += 1
            episode += 3
            fh.write("\n".join(other) + "\n")
    tmp.replace(path)
    return path


def timed(fn, repeat: int) -> tuple[float, float, object]:
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        w1, c1 = time.perf_counter(), time.process_time()
        best_wall, best_cpu = min(best_wall, w1 - w0), min(best_cpu, c1 - c0)
    return best_wall, best_cpu, result


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(which: str, path: Path, repeat: int) -> None:
    """One loader in this process; one JSON line: wall, cpu, steps, peak and growth in MB."""
    import pandas  # noqa: F401 - imported before the clock, as both loaders need it

    if which == "drtui":
        from drtui.analysis.load import load

        def fn():
            return len(load(path).steps)
    else:
        from deepracer.logs import SimulationLogsIO

        def fn():
            return len(SimulationLogsIO.load_pandas(str(path)))
    base = _rss_mb()
    wall, cpu, steps = timed(fn, repeat)
    peak = _rss_mb()
    print(json.dumps({"wall": wall, "cpu": cpu, "steps": steps, "peak_mb": peak,
                      "grew_mb": peak - base}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--file", type=Path, help="log file to make or reuse "
                   "(default: drtui-parse-bench-<lines>.log in the temp folder)")
    p.add_argument("--child", choices=("drtui", "deepracer-utils"), help=argparse.SUPPRESS)
    args = p.parse_args()
    path = args.file or Path(tempfile.gettempdir()) / f"drtui-parse-bench-{args.lines}.log"
    if args.child:
        child(args.child, path, args.repeat)
        return 0
    t0 = time.perf_counter()
    make_file(path, args.lines)
    size_mb = path.stat().st_size / 1e6
    print(f"{path.name}: {args.lines:,} SIM_TRACE_LOG lines, {size_mb:.0f} MB "
          f"(ready in {time.perf_counter() - t0:.1f} s)")
    rows = {}
    for name, which in (("drtui analysis.load", "drtui"),
                        ("deepracer-utils load_pandas", "deepracer-utils")):
        out = subprocess.run([sys.executable, __file__, "--child", which, "--file", str(path),
                              "--repeat", str(args.repeat)], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n{'loader':30} {'wall s':>8} {'cpu s':>8} {'lines/s':>12} {'steps':>10} "
          f"{'peak MB':>8} {'+MB':>7}")
    for name, r in rows.items():  # steps, not --lines: a reused --file may differ
        print(f"{name:30} {r['wall']:8.2f} {r['cpu']:8.2f} {r['steps'] / r['wall']:12,.0f} "
              f"{r['steps']:10,} {r['peak_mb']:8.0f} {r['grew_mb']:7.0f}")
    d, u = rows.values()
    print(f"\ndrtui is {u['wall'] / d['wall']:.1f}x faster (wall), {u['cpu'] / d['cpu']:.1f}x "
          f"(CPU); peak memory {d['peak_mb']:.0f} MB against {u['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
