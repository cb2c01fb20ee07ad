"""`drtui compress RUN` and `drtui method SESSION METHOD [KEY=VALUE ...]`: the research methods
from the command line. Nothing heavy is imported until a command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drtui.problem import Problem

METHODS = ("randomization", "transfer", "curriculum", "multitask", "off")


def register(command) -> None:
    sp = command("compress", cmd_compress, "quantise and prune a run's policy; report size, "
                 "latency, output difference and evaluation progress of each variant")
    sp.add_argument("run", help="run id, id prefix or folder")
    sp.add_argument("--checkpoint", choices=["best", "last"], default="best")
    sp.add_argument("--sparsity", type=float, default=0.5,
                    help="fraction of weights magnitude pruning zeroes (default 0.5)")
    sp.add_argument("--laps", type=int, default=3,
                    help="evaluation trials per variant (0: skip evaluation)")
    sp.add_argument("--json", action="store_true")

    research = command("research", lambda a: (research.print_help(), 2)[1],
                       "measure meta-learning and continual learning against their baselines")
    rsub = research.add_subparsers(dest="research_command", metavar="COMMAND")
    sp = rsub.add_parser("meta", help="Reptile over training tracks, then K adaptation "
                                      "iterations on a held-out track vs K from scratch")
    sp.add_argument("session")
    sp.add_argument("--tracks", default="reinvent_base,reInvent2019_wide",
                    help="training tracks, comma-separated")
    sp.add_argument("--held-out", default="2022_summit_speedway")
    sp.add_argument("--outer-steps", type=int, default=6)
    sp.add_argument("--adaptation", type=int, default=2, help="K adaptation iterations")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_research_meta)
    sp = rsub.add_parser("continual", help="progress on a first track after training on a "
                                           "second: fine-tuning vs EWC vs replay")
    sp.add_argument("session")
    sp.add_argument("--first", default="reinvent_base")
    sp.add_argument("--second", default="reInvent2019_wide")
    sp.add_argument("--iterations", type=int, default=4)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_research_continual)

    sp = command("method", cmd_method, "turn a research method on or off in a session file: "
                 + ", ".join(METHODS))
    sp.add_argument("session")
    sp.add_argument("method", choices=METHODS)
    sp.add_argument("settings", nargs="*", metavar="KEY=VALUE",
                    help="randomization: strength=0.5 latency_steps=2 lighting=false ...; "
                         "transfer: from_run=runs/ID or drfc_checkpoint=PATH (a DRfC model "
                         "folder or its model/N_Step-M.ckpt; absolute or relative to the "
                         "workspace) checkpoint=best; curriculum: "
                         "stage=WORLD[:MAX_SPEED] (repeat, in order) promote_progress=80 "
                         "promote_iterations=2; multitask: track=WORLD[:RACE_TYPE] (one per "
                         "extra worker)")


def _pairs(settings: list[str]) -> list[tuple[str, str]]:
    from drtui.errors import InvalidInput

    out = []
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput([Problem("settings", f"expected KEY=VALUE, got {item!r}")])
        out.append((key, value))
    return out


def method_data(data: dict, method: str, settings: list[str]) -> dict:
    """The session data with `method` set from KEY=VALUE settings (checked by the caller)."""
    from drtui.cliargs import parse_scalar as _value  # true/false, int, float, else the text

    research = data.setdefault("research", {})
    pairs = _pairs(settings)
    if method == "off":
        data.pop("research", None)
        data.pop("workers", None)
        data.setdefault("training", {})["workers"] = 1
        return data
    if method == "multitask":  # DRfC's multi-config workers: worker k drives its own world
        overrides = []
        for key, value in pairs:
            if key != "track":
                overrides.append({"worker": 0, key: value})  # refused below, with its path
                continue
            world, _, race = value.partition(":")
            override = {"worker": len(overrides) + 2, "track": {"world": world}}
            if race:
                override["race"] = {"type": race}
            overrides.append(override)
        data["workers"] = overrides
        data.setdefault("training", {})["workers"] = 1 + len(overrides)
        if not research:
            data.pop("research")
        return data
    if method == "randomization":
        research["randomization"] = {"enabled": True,
                                     **{k: _value(v) for k, v in pairs}}
    elif method == "transfer":
        research["transfer"] = {k: v for k, v in pairs}
    else:
        stages, rest = [], {}
        for key, value in pairs:
            if key == "stage":
                world, _, speed = value.partition(":")
                stage = {"world": world}
                if speed:
                    stage["max_speed"] = _value(speed)
                stages.append(stage)
            else:
                rest[key] = _value(value)
        research["curriculum"] = {"stages": stages, **rest}
    return data


def cmd_method(args: argparse.Namespace) -> int:
    from rich.console import Console

    from drtui.errors import InvalidInput
    from drtui.session import store
    from drtui.session.validate import problems_in

    path = Path(args.session)
    session, problems = problems_in(method_data(store.read_data(path), args.method,
                                                args.settings))
    if session is None or problems:  # every broken rule with its key path; nothing saved
        raise InvalidInput(problems)
    store.save(session, path)
    active = session.research.active()
    if session.training.workers > 1:
        active.append(f"multitask ({session.training.workers} worlds)")
    Console().print(f"{path}: research methods {', '.join(active) if active else 'off'}")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from drtui.errors import InvalidInput
    from drtui.runstore import store

    run = store.find(Path(getattr(args, "workspace", None) or "."), args.run)
    problems = []
    if not 0.0 < args.sparsity < 1.0:
        problems.append(Problem("--sparsity", f"must be between 0 and 1, got {args.sparsity}"))
    if args.laps < 0:
        problems.append(Problem("--laps", f"must be 0 or more, got {args.laps}"))
    if not (run.path / "checkpoints" / "last.pt").is_file():
        problems.append(Problem("run", f"{run.id} has no checkpoint yet: train it first"))
    if problems:
        raise InvalidInput(problems)
    from drtui.train.compress import compress

    variants = compress(run.path, checkpoint=args.checkpoint, sparsity=args.sparsity,
                        laps=args.laps)
    if args.json:
        from dataclasses import asdict

        sys.stdout.write(json.dumps([asdict(v) for v in variants], indent=2) + "\n")
        return 0
    from drtui.terminal import console
    from drtui.terminal import table as new_table

    base = variants[0]
    table = new_table("variant", "size", "zlib", "x smaller", "latency ms", "max |diff|",
                      "same action", "eval progress", "note", title=f"drtui compress {run.id}",
                      title_justify="left", keep=("variant", "size", "eval progress"))
    for v in variants:
        if not v.size_bytes:
            table.add_row(v.name, "—", "—", "—", "—", "—", "—", "—", v.note)
            continue
        table.add_row(v.name, f"{v.size_bytes / 1024:.0f} KiB", f"{v.zlib_bytes / 1024:.0f} KiB",
                      f"{base.zlib_bytes / v.zlib_bytes:.1f}", f"{v.latency_ms:.2f}",
                      f"{v.max_abs_diff:.2g}", f"{v.action_agreement:.0%}",
                      "—" if v.eval_progress is None else f"{v.eval_progress:.1f}%", v.note)
    con = console()
    con.print(table)
    out = run.path / "compress"
    written = [out / "report.json"] + [out / f"{v.name}.pt" for v in variants
                                       if (out / f"{v.name}.pt").is_file()]
    con.print("wrote " + ", ".join(str(p) for p in written), markup=False)
    return 0


def _research_session(path: str, worlds: list[str], counts: dict[str, tuple[int, int]]):
    """The session, once every world has waypoints, every count (option: (value, least)) is
    in range and it trains clipped PPO."""
    from drtui.catalog import tracks
    from drtui.errors import InvalidInput
    from drtui.session import store

    bad = [w for w in worlds if not tracks.get_or_none(w, waypoints=True)]
    problems = [Problem("track", f"no waypoints for {w!r}; tracks: "
                        + ", ".join(tracks.worlds_with_waypoints())) for w in bad]
    problems += [Problem(option, f"must be at least {least}, got {value}")
                 for option, (value, least) in counts.items() if value < least]
    if problems:
        raise InvalidInput(problems)
    session = store.load(Path(path))
    if session.training.algorithm != "clipped_ppo":  # Lab, Reptile and EWC drive PPO's net
        raise InvalidInput([Problem("training.algorithm", "drtui research measures clipped_ppo "
                                    "policies (Reptile and EWC act on PPO's network and loss); "
                                    f"this session trains {session.training.algorithm}")])
    return session


def _print_rows(rows: list, as_json: bool, title: str) -> None:
    from dataclasses import asdict

    if as_json:
        sys.stdout.write(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    keys = list(asdict(rows[0]))
    table = Table(*keys, title=title, title_justify="left")
    for r in rows:
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v)
                        for v in asdict(r).values()))
    Console().print(table)


def cmd_research_meta(args: argparse.Namespace) -> int:
    worlds = [w.strip() for w in args.tracks.split(",") if w.strip()]
    if not worlds:  # Reptile takes turns over the training tracks: it needs one at least
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--tracks", "give at least one training track "
                                                "(comma-separated world names)")])
    session = _research_session(args.session, [*worlds, args.held_out],
                                {"--outer-steps": (args.outer_steps, 0),
                                 "--adaptation": (args.adaptation, 0)})
    from drtui.research.meta import benchmark

    result = benchmark(session, seed=args.seed, worlds=tuple(worlds), held_out=args.held_out,
                       outer_steps=args.outer_steps, adaptation=args.adaptation)
    _print_rows([result], args.json, "Reptile vs training from scratch (progress %)")
    return 0


def cmd_research_continual(args: argparse.Namespace) -> int:
    session = _research_session(args.session, [args.first, args.second],
                                {"--iterations": (args.iterations, 1)})
    from drtui.research.continual import benchmark

    rows = benchmark(session, seed=args.seed, first=args.first, second=args.second,
                     iterations=args.iterations)
    _print_rows(rows, args.json, "progress on the first track after the second (%)")
    return 0
