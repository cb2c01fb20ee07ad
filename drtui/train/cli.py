"""`drtui evaluate RUN` and `drtui export RUN -o DIR`: evaluation laps and ONNX export of a
run's checkpoint (drtui.train.evaluate / drtui.train.export); `--car` exports the physical car's
.tar.gz from a run or a DRfC model folder (drtui.train.car_export), and `evaluate --model` drives
with such a file (drtui.train.car_model). torch loads only when a command runs, so registering
them keeps `drtui --help` fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drtui.problem import Problem
from drtui.train import START_RULES

CHECKPOINTS = ("best", "last")


def register(command) -> None:
    sp = command("evaluate", cmd_evaluate,
                 "drive evaluation laps with a run's checkpoint: DeepRacer evaluation metrics "
                 "JSON and a lap picture in the run's metrics/evaluation/")
    sp.add_argument("run", help="run id, id prefix or folder")
    sp.add_argument("--trials", "--laps", dest="trials", type=int, default=None,
                    help="evaluation trials (default: the session's evaluation.number_of_trials)")
    sp.add_argument("--checkpoint", default="best", metavar="best|last|NAME",
                    help="best (chosen by training.best_model_metric: progress, reward or "
                         "laptime; the default), last, or a checkpoint's name or iteration")
    sp.add_argument("--world", metavar="W",
                    help="drive another shipped track (`drtui list tracks`) instead of the "
                         "session's")
    sp.add_argument("--reverse", action="store_true",
                    help="drive the track the other way round")
    sp.add_argument("--start", choices=START_RULES, default="spread",
                    help="spread: trial k of n starts k/n of the lap from the start line (the "
                         "default); line: every trial at the start line, as DeepRacer's "
                         "evaluation job starts them")
    sp.add_argument("--model", metavar="FILE.tar.gz",
                    help="drive with this car model file (from `drtui export --car`), loaded "
                         "with OpenVINO as the car loads it, on the run's track and settings")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")

    sp = command("export", cmd_export,
                 "export a run's policy as ONNX with its model_metadata.json, checked against "
                 "torch; --car: the physical car's .tar.gz; --drfc / --droa: a TensorFlow "
                 "checkpoint DRfC continues / DeepRacer on AWS imports")
    sp.add_argument("run", help="run id, id prefix or folder; with --car also a DRfC model "
                                "folder (model_N.pb + deepracer_checkpoints.json)")
    sp.add_argument("-o", "--output", required=True,
                    help="output folder (with --car also a FILE.tar.gz)")
    sp.add_argument("--car", action="store_true",
                    help="the physical DeepRacer car's model file: agent/model.pb (frozen "
                         "TensorFlow graph) + model_metadata.json in a .tar.gz")
    sp.add_argument("--drfc", action="store_true",
                    help="a DRfC pretrained model folder: a TensorFlow checkpoint with Coach's "
                         "variables (clipped PPO, DeepRacer's networks) and the run's files")
    sp.add_argument("--droa", action="store_true",
                    help="the same laid out for DeepRacer on AWS's model import (adds the .meta "
                         "graph and training_params.yaml; upload with `drtui droa import`)")
    sp.add_argument("--checkpoint", choices=CHECKPOINTS, default="best",
                    help="best (the default) or last")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")


def _run_with_checkpoint(args: argparse.Namespace):
    """The run named on the command line, refusing (exit 2) when it has no such checkpoint."""
    from drtui.errors import InvalidInput
    from drtui.runstore import store

    run = store.find(Path(getattr(args, "workspace", None) or "."), args.run)
    folder = run.path / "checkpoints"
    if args.checkpoint not in CHECKPOINTS and (folder / "last.pt").is_file():
        from drtui.train.checkpoint import CheckpointError, resolve

        try:
            resolve(run.path, args.checkpoint)
        except CheckpointError as err:
            raise InvalidInput([Problem("--checkpoint", str(err))]) from None
        return run
    if not (folder / f"{args.checkpoint}.pt").is_file():
        if args.checkpoint == "best" and (folder / "last.pt").is_file():
            why = ("no best checkpoint yet: one is kept after the first in-training "
                   "evaluation; --checkpoint last uses the latest")
        else:
            why = (f"no checkpoint yet in {run.id} (status {run.status}): train it first "
                   f"(`drtui run --resume {run.id}`)")
        raise InvalidInput([Problem("--checkpoint", why)])
    return run


def cmd_evaluate(args: argparse.Namespace) -> int:
    from drtui.errors import InvalidInput

    if args.trials is not None and args.trials < 1:
        raise InvalidInput([Problem("--trials", f"must be at least 1 (got {args.trials})")])
    if args.world:
        from drtui.catalog import tracks

        if tracks.get_or_none(args.world) is None:
            raise InvalidInput([Problem("--world", f"no shipped track {args.world!r}: "
                                        "`drtui list tracks` shows the world names")])
    run = _run_with_checkpoint(args)
    from drtui.train.evaluate import evaluate

    policy, camera, source = None, None, args.checkpoint
    if args.model:
        policy = _car_policy(args.model, run)
        camera, source = (160, 120), f"car model {Path(args.model).name}"
    result = evaluate(run.path, laps=args.trials, checkpoint=args.checkpoint, policy=policy,
                      camera_size=camera, world=args.world,
                      reverse=True if args.reverse else None, start=args.start)
    trials = [{"trial": t.trial, "start_pct": round(100 * t.start_ndist, 2),
               "status": t.status, "progress": round(t.progress, 2),
               "time_s": round(t.elapsed_s, 3), "resets": t.resets,
               "off_track": t.counts["off_track"], "crashed": t.counts["crashed"]}
              for t in result.trials]
    data = {"run": run.id, "checkpoint": None if args.model else result.checkpoint,
            "model": args.model, "world": result.world, "reverse": result.reverse,
            "start": result.start, "continuous": result.continuous,
            "laps": len(trials),
            "laps_completed": result.laps_completed,
            "mean_progress": round(result.mean_progress, 2),
            "best_lap_s": None if result.best_lap_s is None else round(result.best_lap_s, 3),
            "metrics": str(result.metrics_path),
            "picture": None if result.picture_path is None else str(result.picture_path),
            "trials": trials}
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("trial", "start", "status", "progress", "time", "resets",
                  title=f"evaluation of {run.id} ({result.checkpoint}, {source})"
                  if not args.model else f"evaluation of {source} on {run.id}'s track",
                  title_justify="left")
    for t in trials:
        mark = "✓" if t["status"] == "lap_complete" else "✗"
        table.add_row(str(t["trial"]), f"{t['start_pct']:.1f}%", f"{mark} {t['status']}",
                      f"{t['progress']:.1f}%",
                      f"{t['time_s']:.3f} s", str(t["resets"]))
    con = Console(highlight=False, soft_wrap=True)
    con.print(table)
    con.print(f"{data['world']}{', reversed' if data['reverse'] else ''}, trials from "
              f"{'spread start points' if data['start'] == 'spread' else 'the start line'}, "
              f"{'continuous (resets)' if data['continuous'] else 'one attempt each'}")
    best = "—" if data["best_lap_s"] is None else f"{data['best_lap_s']:.3f} s"
    con.print(f"laps completed [bold]{data['laps_completed']}/{data['laps']}[/], mean progress "
              f"[bold]{data['mean_progress']:.1f}%[/], best lap [bold]{best}[/]")
    con.print(f"metrics  {data['metrics']}")
    if data["picture"]:
        con.print(f"picture  {data['picture']}")
    return 0


def _console_unless_json(args: argparse.Namespace, data: dict):
    """With --json: print `data` as JSON and give None; else a console for the summary."""
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return None
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _print_check(con, verified_with: str, diff: float | None, what: str) -> None:
    if diff is None and "converts with openvino" in verified_with:  # a DRfC model.pb as is
        con.print(f"✓ {verified_with}")
    elif diff is None:
        con.print(f"[yellow]! not checked[/]: {verified_with}")
    else:
        con.print(f"✓ checked with {verified_with}: {what} [bold]{diff:.2e}[/]")


def _car_policy(path: str, run):
    """The car model file as evaluate's policy on `run`'s simulator; refused (exit 2) when it
    cannot be read or reads other sensors than the run's, a clear failure without OpenVINO."""
    from drtui.errors import DrtuiError, InvalidInput
    from drtui.session import store as session_store

    try:
        from drtui.train.car_model import CarPolicy
    except ImportError:
        raise DrtuiError("evaluating a car model file needs OpenVINO, as the car uses: "
                         "pip install openvino") from None
    policy = CarPolicy(path)
    theirs = sorted(name.rsplit("/", 1)[-1] for name in policy.sensors.values())
    ours = sorted(session_store.load(run.session_path).car.sensors)
    if theirs != ours:
        raise InvalidInput([Problem("--model", f"{path} reads {', '.join(theirs)}; run {run.id} "
                                    f"drives with {', '.join(ours)}: evaluate it on a run with "
                                    "the same sensors")])
    return policy


def cmd_export(args: argparse.Namespace) -> int:
    from drtui.errors import DrtuiError

    if args.car + args.drfc + args.droa > 1:
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--car/--drfc/--droa", "choose one export target")])
    if args.car:
        return cmd_export_car(args)
    if args.drfc or args.droa:
        return cmd_export_drfc(args)
    run = _run_with_checkpoint(args)
    from drtui.train.export import export

    try:
        result = export(run.path, Path(args.output), checkpoint=args.checkpoint)
    except ValueError as exc:  # the ONNX file does not reproduce torch: not a usable export
        raise DrtuiError(f"export of {run.id} failed its check: {exc}") from exc
    data = {"run": run.id, "checkpoint": result.checkpoint, "onnx": str(result.onnx_path),
            "metadata": str(result.metadata_path),
            "info": str(Path(args.output) / "export.json"),
            "verified_with": result.verified_with, "max_abs_diff": result.max_abs_diff}
    con = _console_unless_json(args, data)
    if con is None:
        return 0
    con.print(f"exported [bold]{run.id}[/] ({result.checkpoint}, {args.checkpoint})")
    con.print(f"  {data['onnx']}\n  {data['metadata']}\n  {data['info']}")
    _print_check(con, result.verified_with, result.max_abs_diff, "max abs diff vs torch")
    return 0


def cmd_export_car(args: argparse.Namespace) -> int:
    """`drtui export RUN|DRFC_MODEL_FOLDER --car -o OUT`."""
    from drtui.errors import DrtuiError
    from drtui.train import car_export

    folder = Path(args.run)
    if folder.is_dir() and any((f / "deepracer_checkpoints.json").is_file()
                               for f in (folder, folder / "model")):
        result = car_export.export_drfc(folder, Path(args.output), checkpoint=args.checkpoint)
        label = str(folder)
    else:
        run = _run_with_checkpoint(args)
        try:
            result = car_export.export_run(run.path, Path(args.output),
                                           checkpoint=args.checkpoint)
        except ValueError as exc:  # the converted graph does not reproduce torch
            raise DrtuiError(f"car export of {run.id} failed its check: {exc}") from exc
        label = run.id
    data = {"source": label, **result.as_dict()}
    con = _console_unless_json(args, data)
    if con is None:
        return 0
    con.print(f"car model of [bold]{label}[/] ({result.checkpoint}, {args.checkpoint})")
    con.print(f"  {data['file']}\n  for {car_export.FOR_CAR}")
    for name, shape in result.inputs.items():
        con.print(f"  input  {name} {shape}")
    con.print(f"  output {result.output}")
    if result.resize:
        con.print(f"  camera 160x120 resized in the graph by {result.resize}")
    for note in result.notes:
        con.print(f"[yellow]! {note}[/]")
    _print_check(con, result.verified_with, result.max_abs_diff,
                 "same actions as torch, max abs diff")
    return 0


def cmd_export_drfc(args: argparse.Namespace) -> int:
    """`drtui export RUN --drfc|--droa -o DIR`."""
    from drtui.train.drfc_export import export_drfc, export_droa

    run = _run_with_checkpoint(args)
    write = export_droa if args.droa else export_drfc
    data = {"run": run.id, **write(run.path, Path(args.output), args.checkpoint)}
    con = _console_unless_json(args, data)
    if con is None:
        return 0
    target = "DeepRacer on AWS import" if args.droa else "DRfC model"
    con.print(f"{target} of [bold]{run.id}[/] ({data['checkpoint']}, {args.checkpoint}): "
              f"{data['variables']} variables")
    con.print(f"  {data['folder']}")
    con.print("  import it with `drtui droa import FOLDER --name NAME`" if args.droa else
              "  upload it as the DR_LOCAL_S3_PRETRAINED_PREFIX of a DRfC run "
              "(DR_LOCAL_S3_PRETRAINED_CHECKPOINT=last)")
    return 0
