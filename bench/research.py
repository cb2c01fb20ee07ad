"""Each research method against its baseline: a small, seeded comparison on this machine.

    .venv/bin/python bench/research.py [--seeds 0 1] [--iterations 4] [--only NAME ...]

Every comparison trains the same starter policy (camera 48x36 + LIDAR, clipped PPO, 8 cars,
16 episodes per iteration, centerline reward) in-process (drtui.research.lab) and scores it
by mean greedy progress (percent of a lap, one episode from each of 4 start lines):

    randomization  trained with domain randomisation (strength 0.5) vs without, both scored
                   in a randomised simulator (strength 0.5): the robustness it is for
    transfer       K iterations on reinvent_base after K on reInvent2019_wide vs K iterations
                   from scratch (the jump start a source model gives), scored on reinvent_base
    curriculum     reinvent_base at 1 m/s then reInvent2019_track vs reInvent2019_track all
                   along, the same iterations, scored on reInvent2019_track
    multitask      reinvent_base + reInvent2019_wide at once vs reinvent_base alone, scored on
                   the held-out 2022_summit_speedway
    meta           Reptile over reinvent_base / reInvent2019_wide, then K adaptation
                   iterations on 2022_summit_speedway vs K from scratch
    continual      progress on reinvent_base (trained 3K iterations there first) after K on
                   reInvent2019_wide: fine-tuning vs EWC and vs replay (a quarter of the cars
                   stay on reinvent_base)
    compression    static int8 policy vs the float one: size (zlib) and progress

The table prints method, baseline, result (mean over seeds, then each seed) and minutes.
Small budgets on 2 cores: differences of a few points are noise; the README says which
methods helped and which did not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def base_session(seed: int):
    from drtui.session.starter import starter

    s = starter("research-bench")
    s.track.world = "reinvent_base"
    s.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    s.training.seed = seed
    s.training.time_limit_minutes = 600
    h = s.hyperparameters
    h.num_episodes_between_training, h.num_epochs = 16, 4
    return s


def lab(session, ws):
    from drtui.research.lab import Lab

    return Lab(session, ws)


def randomization(seed, k, ws):
    from drtui.sim.randomize import RandomizationConfig

    scored_in = RandomizationConfig(strength=0.5)
    out = []
    for enabled in (False, True):
        s = base_session(seed)
        s.research.randomization.enabled = enabled
        s.research.randomization.strength = 0.5
        lb = lab(s, ws)
        lb.use_world("reinvent_base")
        lb.train(k)
        out.append(lb.progress_on("reinvent_base", randomization=scored_in))
        lb.close()
    return out


def transfer(seed, k, ws):
    scratch = lab(base_session(seed), ws)
    scratch.use_world("reinvent_base")
    scratch.train(k)
    baseline = scratch.progress_on("reinvent_base")
    scratch.close()
    lb = lab(base_session(seed), ws)
    lb.use_world("reInvent2019_wide")
    lb.train(k)
    lb.reset_optimizer()
    lb.use_world("reinvent_base")
    lb.train(k)
    result = lb.progress_on("reinvent_base")
    lb.close()
    return [baseline, result]


def curriculum(seed, k, ws):
    from drtui.session.research import Curriculum, CurriculumStage

    direct = lab(base_session(seed), ws)
    direct.use_world("reInvent2019_track")
    direct.train(2 * k)
    baseline = direct.progress_on("reInvent2019_track")
    direct.close()
    s = base_session(seed)
    s.research.curriculum = Curriculum(
        stages=[CurriculumStage(name="easy", world="reinvent_base", max_speed=1.0),
                CurriculumStage(name="hard", world="reInvent2019_track")],
        promote_progress=60.0, promote_iterations=1)
    lb = lab(s, ws)
    for _ in range(2 * k):  # promotion by the trainer's own rule; hard after k at the latest
        if lb.trainer.curriculum.state.index == 0 and _ >= k:
            lb.trainer.curriculum.state.index = 1
            lb.trainer._promote()
        lb.train(1)
    result = lb.progress_on("reInvent2019_track")
    lb.close()
    return [baseline, result]


def multitask(seed, k, ws):
    single = lab(base_session(seed), ws)
    single.use_world("reinvent_base")
    single.train(k)
    baseline = single.progress_on("2022_summit_speedway")
    single.close()
    s = base_session(seed)
    s.training.workers = 2
    from drtui.session.model import Track, WorkerOverride

    s.workers = [WorkerOverride(worker=2, track=Track(world="reInvent2019_wide"))]
    lb = lab(s, ws)
    lb.train(k)
    result = lb.progress_on("2022_summit_speedway")
    lb.close()
    return [baseline, result]


def meta(seed, k, ws):
    from drtui.research.meta import benchmark

    r = benchmark(base_session(seed), seed=seed, outer_steps=2 * k, inner_iterations=1,
                  adaptation=k, workspace=ws)
    return [r.scratch_progress, r.meta_progress]


def continual(seed, k, ws):
    from drtui.research.continual import benchmark

    rows = {r.method: r for r in benchmark(base_session(seed), seed=seed, iterations=k,
                                           workspace=ws)}
    return [rows["fine-tune"].progress_first_after, rows["ewc"].progress_first_after,
            rows["replay"].progress_first_after, rows["fine-tune"].progress_first_before]


def compression(seed, k, ws):
    from drtui.train.compress import compress

    lb = lab(base_session(seed), ws)
    lb.use_world("reinvent_base")
    lb.train(k)
    lb.trainer.evaluate_each_iteration = True
    lb.trainer._evaluate(lb.trainer.iteration)  # a best checkpoint to compress
    lb.close()
    rows = {v.name: v for v in compress(lb.run.path, laps=4, variants=("static-int8",))}
    f, q = rows["float32"], rows["static-int8"]
    return [f.eval_progress, q.eval_progress, f.zlib_bytes / max(1, q.zlib_bytes)]


METHODS = {"randomization": randomization, "transfer": transfer, "curriculum": curriculum,
           "multitask": multitask, "meta": meta, "continual": continual,
           "compression": compression}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--iterations", type=int, default=4, help="K: iterations per phase")
    ap.add_argument("--only", nargs="+", choices=list(METHODS))
    args = ap.parse_args()
    from drtui.train.trainer import torch_threads

    print(f"research methods, K={args.iterations} iterations a phase, seeds {args.seeds}")
    print(f"{'method':<14} {'baseline':>18} {'result':>26} {'minutes':>8}  per seed")
    for name in args.only or METHODS:
        t0 = time.monotonic()
        per_seed = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as ws, torch_threads(1):
                per_seed.append(METHODS[name](seed, args.iterations, Path(ws)))
        minutes = (time.monotonic() - t0) / 60.0
        mean = [statistics.fmean(col) for col in zip(*per_seed)]
        if name == "continual":
            base = f"fine-tune {mean[0]:.1f}% (was {mean[3]:.1f}%)"
            res = f"EWC {mean[1]:.1f}%, replay {mean[2]:.1f}%"
        elif name == "compression":
            base, res = f"float {mean[0]:.1f}%", f"int8 {mean[1]:.1f}%, {mean[2]:.1f}x smaller"
        else:
            base, res = f"{mean[0]:.1f}%", f"{mean[1]:.1f}%"
        seeds = "; ".join("/".join(f"{v:.1f}" for v in row) for row in per_seed)
        print(f"{name:<14} {base:>18} {res:>26} {minutes:8.1f}  {seeds}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
