"""Model compression for the car: post-training quantisation and magnitude pruning of a run's
policy, each variant measured against the float original.

    dynamic-int8   torch.ao.quantization.quantize_dynamic: Linear weights stored as int8,
                   activations quantised on the fly (no calibration)
    static-int8    FX graph mode (prepare_fx / convert_fx): weights and activations int8,
                   calibrated on observations the car really sees (the simulator's)
    prune-P        global L1 magnitude pruning (torch.nn.utils.prune) of P% of conv and
                   linear weights, made permanent; zeros compress, so the zlib size drops

For each: the serialised size and its zlib size (what a download or the car's storage sees),
one-frame CPU latency (median), the largest output difference from the float policy on the
calibration observations, how often it picks the same action, and greedy evaluation progress
on the session's track with the same trials as the original.
"""

from __future__ import annotations

import copy
import io
import json
import statistics
import time
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

VARIANTS = ("dynamic-int8", "static-int8", "prune")


@dataclass
class Variant:
    name: str
    size_bytes: int
    zlib_bytes: int
    latency_ms: float
    max_abs_diff: float
    action_agreement: float  # fraction of observations with the same greedy action
    eval_progress: float | None  # mean greedy evaluation progress, percent
    laps: int | None
    note: str = ""


def _size(module: nn.Module) -> tuple[int, int]:
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    data = buf.getvalue()
    return len(data), len(zlib.compress(data, 6))


def _latency_ms(policy, sample: tuple, repeats: int = 30) -> float:
    one = tuple(s[:1] for s in sample)
    with torch.no_grad():
        for _ in range(3):
            policy(*one)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            policy(*one)
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def calibration_inputs(run_dir: Path, policy, frames: int, n: int = 64) -> tuple:
    """Observations the car sees on its own track: n steps of the greedy policy in the
    simulator, as network inputs in `policy.keys` order."""
    from drtui.session import store as session_store
    from drtui.sim.env import DeepRacerSim, SimConfig
    from drtui.train.checkpoint import load
    from drtui.train.obs import ObsAdapter, to_net

    session = session_store.load(run_dir / "session.toml")
    build = load(run_dir, "last")["build"]
    cfg = SimConfig.from_session(session, 8, camera_size=tuple(build["camera_size"]), seed=0,
                                 sensors=tuple(build["sensors"]))
    sim = DeepRacerSim(cfg)
    adapter = ObsAdapter(sim.observation_shapes(), frames)
    obs = adapter(sim.reset())
    batches: list[dict] = []
    while sum(len(next(iter(b.values()))) for b in batches) < n:
        net_obs = to_net(obs)
        batches.append(net_obs)
        sim_obs, _, term, trunc, _ = sim.step(policy.action(net_obs))
        obs = adapter(sim_obs, term | trunc)
    return tuple(torch.cat([b[k] for b in batches])[:n] for k in policy.keys)


def _greedy(policy, out: torch.Tensor) -> torch.Tensor:
    return out.argmax(-1) if policy.discrete else out


def _agreement(policy, a: torch.Tensor, b: torch.Tensor) -> float:
    if policy.discrete:
        return float((a.argmax(-1) == b.argmax(-1)).float().mean())
    # continuous: the same action to within 1 degree and 0.05 m/s
    close = ((a[:, 0] - b[:, 0]).abs() <= 1.0) & ((a[:, 1] - b[:, 1]).abs() <= 0.05)
    return float(close.float().mean())


class Driving(nn.Module):
    """A compressed model with the GreedyPolicy interface evaluation drives (FX returns a
    bare GraphModule)."""

    def __init__(self, model: nn.Module, like):
        super().__init__()
        self.model, self.keys, self.discrete = model, like.keys, like.discrete
        self.frames = getattr(like.net, "frames", 1)

    @property
    def net(self):
        return self

    def forward(self, *inputs):
        return self.model(*inputs)

    def action(self, obs):
        from drtui.train.checkpoint import GreedyPolicy

        return GreedyPolicy.action(self, obs)


def dynamic_int8(policy):
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(copy.deepcopy(policy), {nn.Linear}, dtype=torch.qint8)


class _OneInput(nn.Module):
    """GreedyPolicy with a fixed argument list: FX cannot trace *inputs."""

    def __init__(self, policy):
        super().__init__()
        self.policy = policy

    def forward(self, a):
        return self.policy(a)


class _TwoInputs(_OneInput):
    def forward(self, a, b):
        return self.policy(a, b)


def static_int8(policy, sample: tuple):
    """FX graph mode static quantisation of the whole policy, calibrated on `sample`."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    fixed = {1: _OneInput, 2: _TwoInputs}.get(len(sample))
    if fixed is None:
        raise NotImplementedError(f"{len(sample)} network inputs")
    model = fixed(copy.deepcopy(policy)).eval()
    prepared = prepare_fx(model, get_default_qconfig_mapping("x86"), example_inputs=sample)
    with torch.no_grad():
        for i in range(0, len(sample[0]), 16):
            prepared(*(s[i:i + 16] for s in sample))
    return convert_fx(prepared)


def pruned(policy, sparsity: float):
    from torch.nn.utils import prune

    model = copy.deepcopy(policy)
    params = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=sparsity)
    for module, name in params:
        prune.remove(module, name)
    return model


def compress(run_dir: str | Path, *, checkpoint: str = "best", sparsity: float = 0.5,
             laps: int = 3, variants: tuple[str, ...] = VARIANTS) -> list[Variant]:
    """Measure the float policy and each compressed variant; writes RUN_DIR/compress/
    report.json and each variant's state dict (TorchScript-free: torch.save)."""
    from drtui.train.checkpoint import load_policy
    from drtui.train.evaluate import evaluate
    from drtui.train.trainer import torch_threads

    run_dir = Path(run_dir)
    if not 0.0 < sparsity < 1.0:
        raise ValueError(f"sparsity must be between 0 and 1 (exclusive), got {sparsity}")
    # torch.ao announces its deprecation (in favour of torchao) on every call
    with torch_threads(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        policy, payload = load_policy(run_dir, checkpoint)
        frames = getattr(policy.net, "frames", 1)
        sample = calibration_inputs(run_dir, policy, frames)
        with torch.no_grad():
            reference = policy(*sample)
        out_dir = run_dir / "compress"
        out_dir.mkdir(exist_ok=True)

        def measure(name: str, model, note: str = "") -> Variant:
            with torch.no_grad():
                got = model(*sample)
            progress = result = None
            if laps:
                result = evaluate(run_dir, laps, checkpoint, policy=Driving(model, policy),
                                  folder=out_dir / name)
                progress = result.mean_progress
            size, packed = _size(model)
            torch.save(model.state_dict(), out_dir / f"{name}.pt")
            return Variant(name, size, packed, _latency_ms(model, sample),
                           float((got - reference).abs().max()),
                           _agreement(policy, got, reference), progress,
                           result.laps_completed if result else None, note)

        results = [measure("float32", policy, f"checkpoint {payload['name']}")]
        for variant in variants:
            try:
                if variant == "dynamic-int8":
                    results.append(measure(variant, dynamic_int8(policy), "Linear layers int8"))
                elif variant == "static-int8":
                    results.append(measure(variant, static_int8(policy, sample),
                                           "FX, calibrated on simulator frames"))
                elif variant == "prune":
                    results.append(measure(f"prune-{round(sparsity * 100)}",
                                           pruned(policy, sparsity),
                                           f"{sparsity:.0%} of conv/linear weights zeroed"))
                else:
                    raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
            except Exception as err:  # noqa: BLE001 - torch.ao raises many kinds
                # e.g. an architecture FX cannot trace: reported, the others still run
                first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                results.append(Variant(variant, 0, 0, float("nan"), float("nan"), 0.0, None,
                                       None, f"not supported here: {type(err).__name__}: "
                                             f"{first[:160]}"))
    (out_dir / "report.json").write_text(json.dumps([asdict(v) for v in results], indent=2),
                                         encoding="utf-8")
    return results
