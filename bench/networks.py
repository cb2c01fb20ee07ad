"""CPU cost of every network drtui can train: parameters, one-frame inference latency at
DeepRacer's 160x120 and at a fast-training 80x60, and one forward+backward pass of a
PPO-style loss on a batch of 64 frames at 80x60 (the update cost that dominates camera
training on a laptop; see shared/notes/sim-anchors.md).

    .venv/bin/python bench/networks.py [--threads 2] [--repeats 20] [--batch 64]
                                       [--sensors FRONT_FACING_CAMERA[,LIDAR]] [--json]

Latency is the best of --repeats runs after warm-up (batch 1, eval mode, no grad; --median for
the median); the training figure is the best of --repeats/4 (at least 3) runs. Best-of, as in
sim-anchors.md, because other processes on a shared 2-core machine inflate the slow runs.
SAC_POLICY is the actor on a continuous 2-d action space; its loss is the reparameterised actor
loss.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from drtui.train.networks import (NETWORK_NAMES, build, continuous, discrete,  # noqa: E402
                                  example_obs, inference_latency_ms, obs_spec_for,
                                  parameter_count)

FULL, SMALL = (120, 160), (60, 80)
N_ACTIONS = 10
BOUNDS = continuous((-30.0, 0.5), (30.0, 4.0))


def train_step_ms(name: str, spec: dict, batch: int, repeats: int, warmup: int = 2) -> float:
    action = BOUNDS if name == "SAC_POLICY" else discrete(N_ACTIONS)
    net = build(name, spec, action).train()
    obs = example_obs(spec, batch, net.frames)
    times = []
    for i in range(warmup + repeats):
        net.zero_grad(set_to_none=True)
        start = time.perf_counter()
        if name == "SAC_POLICY":
            act, log_prob, _ = net.sample(obs)
            loss = (0.2 * log_prob - act.sum(-1)).mean()
        else:
            out = net(obs)
            loss = -out.logits.log_softmax(-1)[:, 0].mean() + out.value.pow(2).mean()
        loss.backward()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return min(times) * 1000.0


def measure(name: str, sensors: tuple[str, ...], batch: int, repeats: int, stat: str) -> dict:
    action = BOUNDS if name == "SAC_POLICY" else discrete(N_ACTIONS)
    row: dict = {"network": name}
    for label, res in (("160x120", FULL), ("80x60", SMALL)):
        spec = obs_spec_for(sensors, res)
        try:
            if label == "160x120":
                row["params"] = parameter_count(name, spec, action)
            row[f"params_{label}"] = parameter_count(name, spec, action)
            row[f"latency_ms_{label}"] = inference_latency_ms(name, spec, action, repeats=repeats,
                                                                stat=stat)
        except ValueError as err:
            row[f"params_{label}"] = row[f"latency_ms_{label}"] = None
            row["note"] = str(err).split(";")[0]
    try:
        row["train_ms_80x60"] = train_step_ms(name, obs_spec_for(sensors, SMALL), batch,
                                              max(3, repeats // 4))
    except ValueError:
        row["train_ms_80x60"] = None
    return row


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sensors", default="FRONT_FACING_CAMERA")
    ap.add_argument("--median", action="store_true", help="median latency instead of best")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sensors = tuple(s.strip() for s in args.sensors.split(",") if s.strip())
    stat = "median" if args.median else "min"
    rows = [measure(name, sensors, args.batch, args.repeats, stat) for name in NETWORK_NAMES]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"torch {torch.__version__}, {args.threads} thread(s), sensors {','.join(sensors)}, "
          f"{N_ACTIONS} discrete actions (SAC_POLICY: continuous 2-d)")
    head = (f"{'network':36} {'params@160x120':>14} {'params@80x60':>12} {'ms@160x120':>10} "
            f"{'ms@80x60':>9} {f'fwd+bwd b{args.batch}@80x60 ms':>22} {'frames/s':>9}")
    print("(params@ and ms@: one frame, batch 1; fwd+bwd: one batch; frames/s = batch / fwd+bwd)")
    print(head)
    print("-" * len(head))
    for r in rows:
        train = r["train_ms_80x60"]
        print(f"{r['network']:36} {fmt(r.get('params_160x120'), ',d'):>14} "
              f"{fmt(r.get('params_80x60'), ',d'):>12} {fmt(r['latency_ms_160x120'], '.2f'):>10} "
              f"{fmt(r['latency_ms_80x60'], '.2f'):>9} {fmt(train, '.1f'):>22} "
              f"{fmt(train and args.batch / train * 1000, ',.0f'):>9}")
    for r in rows:
        if r.get("note"):
            print(f"note: {r['network']}: {r['note']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
