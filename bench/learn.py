"""Time to learn a lap: wall-clock minutes and environment steps until the embedded trainer's
greedy in-training evaluation completes a lap, for the starter session of `drtui new`
(reInvent2019_track, time trial, clipped PPO, centerline reward, front camera).

Variants:
    camera   the starter as is: FRONT_FACING_CAMERA, DEEP_CONVOLUTIONAL_NETWORK_SHALLOW
    lidar    sensors FRONT_FACING_CAMERA + LIDAR, fused by the same DeepRacer network (its
             camera and lidar embedders, concatenated). DeepRacer's lidar sees objects, not
             painted borders, so in a time trial it adds inputs but no information.

The trainer runs as `drtui run` starts it (`python -m drtui.train RUN_DIR`, its log in
RUN_DIR/logs/trainer.log) with its defaults: 8 cars, an 80x60 internal camera, one torch
thread, and the privileged-teacher warm start (DRTUI_TEACHER=off to time plain PPO). It is
stopped (SIGINT) once every evaluation trial laps, or at --minutes.

    .venv/bin/python bench/learn.py [--variant camera lidar] [--minutes 15] [--seed 1]
                                    [--teacher auto|off]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVAL = re.compile(r"Evaluation episode progress: \[([^\]]*)\]")
CKPT = re.compile(r"Checkpoint> Saving in path=\['\./checkpoint/agent/(\d+)_Step-(\d+)\.ckpt'\]")


def make_run(workspace: Path, variant: str, seed: int, minutes: int):
    from drtui.files import render
    from drtui.runstore import store
    from drtui.session.starter import starter

    session = starter(f"learn-{variant}")
    if variant == "lidar":
        session.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    session.training.seed = seed
    session.training.time_limit_minutes = minutes
    return store.create(workspace, session, render.render(session), provider="local",
                        runner="embedded")


def follow(run, proc: subprocess.Popen, minutes: float) -> dict:
    """Watch the log; the figures at the first lap of any / of every evaluation trial."""
    start = time.monotonic()
    found: dict = {"any": None, "all": None}
    offset, steps, iteration, buffer = 0, 0, 0, ""
    while proc.poll() is None and time.monotonic() - start < minutes * 60 + 30:
        with open(run.log_path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            buffer += fh.read()
            offset = fh.tell()
        *lines, buffer = buffer.split("\n")
        for line in lines:
            if line.startswith(("## drtui:", "[BestModelSelection] Number")):
                print("   ", line[:150], flush=True)
            m = CKPT.search(line)
            if m:
                iteration, steps = int(m.group(1)), int(m.group(2))
            m = EVAL.search(line)
            if m:
                progress = [float(v) for v in m.group(1).split(",") if v.strip()]
                point = {"minutes": (time.monotonic() - start) / 60, "steps": steps,
                         "iteration": iteration, "progress": progress}
                if found["any"] is None and max(progress) >= 100.0:
                    found["any"] = point
                if found["all"] is None and min(progress) >= 100.0:
                    found["all"] = point
                found["last"] = point
        if found["all"] is not None:
            break
        time.sleep(1.0)
    return found


def bench(variant: str, minutes: int, seed: int, keep: bool, teacher: str) -> dict:
    workspace = Path(tempfile.mkdtemp(prefix=f"drtui-learn-{variant}-"))
    run = make_run(workspace, variant, seed, minutes)
    print(f"[{variant}] run folder {run.path}", flush=True)
    with open(run.log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "drtui.train", str(run.path)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                env={**os.environ, "DRTUI_TEACHER": teacher})
    try:
        found = follow(run, proc, minutes)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
    if not keep:
        shutil.rmtree(workspace, ignore_errors=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", nargs="+", default=["lidar", "camera"],
                        choices=["lidar", "camera"])
    parser.add_argument("--minutes", type=int, default=15, help="give up after this long")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    parser.add_argument("--teacher", default="auto", choices=["auto", "on", "off"],
                        help="the trainer's DRTUI_TEACHER (off: plain PPO from pixels)")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    print(f"DRTUI_TEACHER={args.teacher}", flush=True)
    results = {v: bench(v, args.minutes, args.seed, args.keep, args.teacher) for v in args.variant}
    print("\nvariant  first eval lap (any trial)        every trial laps                 ")
    for variant, r in results.items():
        cells = []
        for key in ("any", "all"):
            p = r.get(key)
            cells.append(f"{p['minutes']:5.1f} min {p['steps']:>8} steps it {p['iteration']:<3}"
                         if p else f"not within {args.minutes} min".ljust(32))
        print(f"{variant:7}  {cells[0]}  {cells[1]}")
        if r.get("all") is None and r.get("last"):
            print(f"         last evaluation: {[round(p, 1) for p in r['last']['progress']]}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
