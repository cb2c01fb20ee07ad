# Over 450 lines: the parser and handlers of the core subcommands; extension modules (train/cli.py,
# backends/cli.py, ...) hold the rest.
"""drtui's command line. `drtui` alone opens the TUI; every other command is headless.

Exit codes: 0 success, 2 invalid input (each problem printed with its key path), 1 other
failures. Parsing uses argparse and each command imports what it needs when it runs, so
`drtui --help` stays fast (no pydantic, rich, Textual or torch on that path).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from drtui import __version__
from drtui.fsio import atomic_write
from drtui.problem import Problem

LISTS = ("tracks", "sensors", "networks", "algorithms", "rewards", "backends")

# Modules that add commands: each has `register(command)`, where command(name, func, help)
# returns the new subparser. They must import nothing heavy at module level (`drtui --help`
# stays fast); a command's own work imports what it needs when it runs.
EXTENSIONS: tuple[str, ...] = (
    "drtui.train.cli",
    "drtui.research.cli",
    "drtui.backends.cli",
    "drtui.backends.droa_cli",
    "drtui.analysis.cli",
    "drtui.tune.cli",
    "drtui.raceline.cli",
)


def _console(stderr: bool = False):
    from drtui.terminal import console

    return console(stderr)


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _problems_out(problems: list, as_json: bool) -> None:
    if as_json:
        _print_json({"valid": not any(getattr(p, "is_error", True) for p in problems),
                     "problems": [p.as_dict() if hasattr(p, "as_dict") else
                                  {"path": "", "message": str(p), "severity": "error"}
                                  for p in problems]})
        return
    _problem_lines(problems, _console(stderr=True))


def _problem_lines(problems: list, con) -> None:
    from rich.markup import escape

    bad = [p for p in problems if getattr(p, "is_error", True)]
    if bad:
        con.print(f"[bold red]{len(bad)} problem{'s' if len(bad) != 1 else ''}:[/]")
    for p in sorted(problems, key=lambda p: not getattr(p, "is_error", True)):
        path = getattr(p, "path", "")
        msg = getattr(p, "message", str(p))
        mark = "" if getattr(p, "is_error", True) else "[yellow]warning[/] "
        # escaped: key paths such as workers[worker=2].track.world are not rich markup
        con.print(f"  {mark}[bold]{escape(path)}[/]: {escape(msg)}" if path
                  else f"  {mark}{escape(msg)}", markup=True)


def _warnings_out(problems: list) -> None:
    """Warnings of a session that passed the check: shown, on stderr, not blocking."""
    if problems:
        _problem_lines(problems, _console(stderr=True))


# --- commands ---------------------------------------------------------------------------

def cmd_new(args: argparse.Namespace) -> int:
    from drtui.session import store
    from drtui.session.starter import starter

    path = Path(args.path)
    if path.exists() and not args.force:
        _console(stderr=True).print(f"[red]{path} exists[/]: pass --force to overwrite it")
        return 2
    name = args.name or _name_from_path(path)
    session = starter(name, args.scenario, args.algorithm)
    store.save(session, path)
    if not args.quiet:
        _console().print(f"wrote [bold]{path}[/] ({args.scenario} starter, model "
                         f"[bold]{name}[/]). Next: [bold]drtui generate {path} -o OUT[/] "
                         f"or [bold]drtui tui {path}[/]")
    return 0


def _name_from_path(path: Path) -> str:
    import re

    stem = re.sub(r"[^A-Za-z0-9-]+", "-", path.stem).strip("-")[:64]
    return stem or "my-first-model"


def cmd_validate(args: argparse.Namespace) -> int:
    from drtui.session import check

    session, problems = check.load(Path(args.session))
    if args.json:
        _print_json({"valid": True, "model": session.model.name,
                     "problems": [p.as_dict() for p in problems]})
    else:
        _warnings_out(problems)
        _console().print(f"[green]valid[/]: {args.session} ({session.model.name})")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from drtui.files import render
    from drtui.session import check

    session_path = Path(args.session)
    session, problems = check.load(session_path)
    files = render.render(session, base_dir=session_path.parent, check=False)
    written = render.write(files, Path(args.output), flat=args.flat)
    if args.json:
        _print_json({"written": [str(p) for p in written],
                     "problems": [p.as_dict() for p in problems]})
    else:
        _warnings_out(problems)
        con = _console()
        for p in written:
            con.print(f"wrote {p}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from drtui.files.importer import import_folder
    from drtui.session import store

    out = Path(args.output)
    if out.exists() and not args.force:
        _console(stderr=True).print(f"[red]{out} exists[/]: pass --force to overwrite it")
        return 2
    session, notes = import_folder(Path(args.folder), args.name)
    store.save(session, out)
    if args.json:
        _print_json({"session": str(out), "model": session.model.name, "notes": notes})
    else:
        con = _console()
        con.print(f"imported [bold]{args.folder}[/] into [bold]{out}[/] "
                  f"(model {session.model.name})")
        for note in notes:
            con.print(f"  note: {note}")
    return 0


def _rows(kind: str, measure: bool = False) -> tuple[list[str], list[list[str]]]:
    if kind == "tracks":
        from drtui.catalog.tracks import catalogue

        rows = [[t.world, t.name, f"{t.length_m:.2f}" if t.length_m else "",
                 f"{t.width_m:.2f}" if t.width_m else "", t.direction,
                 "yes" if t.has_waypoints else ""] for t in catalogue().values()]
        return ["world", "name", "length m", "width m", "direction", "waypoints"], rows
    if kind == "sensors":
        from drtui.catalog.sensors import SENSORS

        return (["sensor", "kind", "observation", "description"],
                [[s.name, s.kind, s.observation, s.description] for s in SENSORS.values()])
    if kind == "networks":
        from drtui.catalog.networks import NETWORKS, parameter_count

        header = ["network", "title", "params", "runs on", "description"]
        rows = [[n.name, n.title, f"{parameter_count(n.name):,}",
                 "DeepRacer + embedded" if n.deepracer else "embedded only", n.description]
                for n in NETWORKS.values()]
        if measure:  # builds every network with torch and times it: a few seconds
            from drtui.train.networks import describe_all

            stats = {r["network"]: r for r in describe_all()}
            header.insert(3, "ms/frame")
            for row in rows:
                ms = stats[row[0]]["latency_ms"]
                row.insert(3, "" if ms is None else f"{ms:.1f}")
        return header, rows
    if kind == "algorithms":
        from drtui.catalog.algorithms import ALGORITHMS, HYPERPARAMETERS

        rows = [[name, desc, "", ""] for name, desc in ALGORITHMS.items()]
        rows += [[f"  {s.key}", s.help, s.describe_range(),
                  " / ".join(f"{a}={s.defaults[a]}" for a in ALGORITHMS if a in s.used_by)]
                 for s in HYPERPARAMETERS.values()]
        return ["algorithm / hyperparameter", "meaning", "valid", "default"], rows
    if kind == "rewards":
        from drtui.reward.templates import TEMPLATES

        return (["template", "title", "parameters", "description"],
                [[t.name, t.title, ", ".join(t.params), t.description]
                 for t in TEMPLATES.values()])
    from drtui.session.backend import specs

    return (["provider", "runners", "description"],
            [[p.name, ", ".join(p.runners), p.description] for p in specs().values()])


def cmd_list(args: argparse.Namespace) -> int:
    header, rows = _rows(args.kind, args.measure)
    if args.json:
        _print_json([dict(zip(header, r)) for r in rows])
        return 0
    from drtui.terminal import fitted

    # the first column names the row (a world, a template...): every part repeats it
    _console().print(fitted(header, [[str(v) for v in row] for row in rows],
                            title=f"drtui {args.kind}", ids=(header[0],), title_justify="left"))
    return 0


def cmd_sensors_check(args: argparse.Namespace) -> int:
    from drtui.catalog.sensors import parse_sensor_list, sensor_problems

    names = parse_sensor_list(args.sensors)
    problems = sensor_problems(names)
    if args.json:
        _print_json({"sensors": names, "valid": not problems, "problems": problems})
    elif problems:
        _problems_out(problems, False)
    else:
        _console().print(f"[green]accepted[/]: {', '.join(names)}")
    return 2 if problems else 0


def cmd_rewards_create(args: argparse.Namespace) -> int:
    from drtui.cliargs import parse_scalar
    from drtui.errors import InvalidInput
    from drtui.reward import templates

    params: dict[str, object] = {}
    for item in args.param or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InvalidInput([Problem("--param", f"{item!r} is not KEY=VALUE")])
        params[key.strip()] = parse_scalar(raw.strip())
    problems = templates.param_problems(args.scenario, params)
    if problems:
        raise InvalidInput([Problem(f"params.{k}" if k else "scenario", m) for k, m in problems])
    out = Path(args.output) / "reward_function.py"
    track = None
    if templates.TEMPLATES[args.scenario].track:  # built from the racing line of --track
        from drtui.catalog.tracks import RouteError
        from drtui.raceline.rewards import line_context
        from drtui.session.raceline import track_line

        is_route = Path(args.track).suffix == ".npy"
        try:
            line = track_line(args.track, args.track if is_route else None)
        except (RouteError, OSError, KeyError, ValueError) as exc:
            raise InvalidInput([Problem("--track", str(exc).strip("\"'"))]) from None
        track = line_context(line, args.track)
    atomic_write(out, templates.render(args.scenario, params, track))
    _console().print(f"wrote {out}")
    return 0


def _workspace(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "workspace", None) or ".")


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from drtui.backends import launch
    from drtui.runstore import store

    if args.max_cost is not None and not args.max_cost > 0:
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--max-cost", "must be a number of dollars above 0")])
    workspace = _workspace(args)
    if args.resume and (args.minutes is not None or args.iterations is not None):
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--resume", "a resumed run keeps its own limits; "
                                                "--minutes and --iterations apply to a new run")])
    if args.resume:
        run = store.find(workspace, args.resume)
        if run.status in store.ACTIVE and asyncio.run(launch.is_alive(run)):
            _console(stderr=True).print(f"[red]{run.id} is still running[/]: "
                                        f"`drtui runs attach {run.id}` follows it")
            return 2
    elif args.session:
        changes = _run_changes(Path(args.session), args)
        run = launch.create_run(workspace, Path(args.session), warn=_warnings_out,
                                changes=changes)
    else:
        _console(stderr=True).print("[red]give a SESSION file, or --resume RUN[/]")
        return 2
    return asyncio.run(_run_and_follow(run, start=True, resume=bool(args.resume),
                                       as_json=args.json, detach=args.detach,
                                       max_cost=args.max_cost))


def _run_changes(session_path: Path, args: argparse.Namespace) -> dict:
    """--minutes and --iterations as changes to this run's session (the file is kept as it
    is), each said with its old and new value."""
    from drtui.session.store import read_data

    keys = {"training.time_limit_minutes": args.minutes,
            "hyperparameters.term_cond_max_episodes": args.iterations}
    changes = {k: v for k, v in keys.items() if v is not None}
    if changes:
        data, con = read_data(session_path), _console(stderr=True)
        for key, value in changes.items():
            section, name = key.split(".")
            old = data.get(section, {}).get(name, "default")
            con.print(f"for this run: {key}: {old} -> {value}", markup=False)
    return changes


async def _run_and_follow(run, *, start: bool, resume: bool = False, as_json: bool = False,
                          detach: bool = False, max_cost: float | None = None) -> int:
    import asyncio
    import signal

    from drtui.backends import launch
    from drtui.headless import Progress, print_events
    from drtui.session import store as sessions

    host = await launch.start(run, resume=resume) if start else None
    if run.state.get("setup_note") and start:
        _console(stderr=True).print(f"note: {run.state['setup_note']}", markup=False)
    if max_cost is not None and not max_cost > 0:
        from drtui.errors import InvalidInput

        raise InvalidInput([Problem("--max-cost", "must be a number of dollars above 0")])
    if max_cost is not None and (detach or not launch.backend_for(
            run.state["provider"], run.state["runner"])[0].hourly_cost(run) > 0):
        _console(stderr=True).print("note: --max-cost is not watched: "
                                    + ("drtui does not follow a detached run" if detach else
                                       "this provider has no hourly cost set"), markup=False)
    if detach:
        if host is not None:
            await host.close()
        _console().print(f"started [bold]{run.id}[/] in the background "
                         f"(`drtui runs attach {run.id}`, `drtui runs stop {run.id}`)")
        return 0
    session = sessions.load(run.session_path, check=False)
    progress = Progress(started=run.state.get("started") or run.state.get("created"),
                        time_limit_s=session.training.time_limit_minutes * 60.0,
                        max_episodes=session.effective_hyperparameters()["term_cond_max_episodes"])
    if not start:  # attach: what earlier followers saw; the follower goes on from there
        from drtui.headless import fold_recorded

        fold_recorded(run, progress)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task] = []

    def on_interrupt() -> None:  # Ctrl-C: the trainer checkpoints and exits; we keep reading
        if not stopping:
            _console(stderr=True).print("stopping: the trainer saves a final checkpoint...")
            stopping.append(loop.create_task(launch.stop(run, finish=False)))

    async def watch_cost(stream):  # --max-cost: stop the run once it has cost that much
        from drtui.events import Cost

        async for event in stream:
            if (max_cost is not None and isinstance(event, Cost) and event.dollars >= max_cost
                    and not stopping):
                _console(stderr=True).print(f"${event.dollars:.4g} reached --max-cost "
                                            f"${max_cost:.4g}: stopping", markup=False)
                stopping.append(loop.create_task(launch.stop(run, finish=False)))
            yield event

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        stream = watch_cost(launch.events(run, host, emit_steps=False))
        await print_events(stream, progress=progress, title=f"drtui run {run.id}",
                           as_json=as_json)
        if stopping:
            await stopping[0]
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    run.reload()
    if not as_json:
        from rich.markup import escape

        _console().print(f"\nrun [bold]{run.id}[/]: {run.status}"
                         + (f" ({escape(run.state['error'])})" if run.state.get("error") else ""))
    return 0 if run.status in ("finished", "stopped") else 1


def cmd_runs_list(args: argparse.Namespace) -> int:
    from drtui.runstore import store

    runs = store.list_runs(_workspace(args))
    if args.json:
        _print_json([{"id": r.id, **{k: r.state.get(k) for k in (
            "model", "status", "provider", "runner", "iteration", "created")}} for r in runs])
        return 0
    from rich.table import Table
    from rich.text import Text

    from drtui.textsafe import printable

    table = Table("run", "model", "status", "backend", "iteration", title="drtui runs",
                  title_justify="left")
    for r in runs:  # Text: a "[" in a state.json value is shown, not read as markup
        table.add_row(*(Text(printable(v)) for v in (
            r.id, r.state.get("model", ""), r.status,
            f"{r.state.get('provider')}/{r.state.get('runner')}", r.state.get("iteration", ""))))
    _console().print(table)
    return 0


def cmd_runs_attach(args: argparse.Namespace) -> int:
    import asyncio

    from drtui.runstore import store

    run = store.find(_workspace(args), args.run)
    return asyncio.run(_run_and_follow(run, start=False, as_json=args.json,
                                       max_cost=args.max_cost))


def cmd_runs_stop(args: argparse.Namespace) -> int:
    import asyncio

    from drtui.backends import launch
    from drtui.runstore import store

    run = store.find(_workspace(args), args.run)
    asyncio.run(launch.stop(run, grace=args.grace))
    from rich.text import Text

    from drtui.textsafe import printable

    _console().print(Text(printable(f"{run.id}: {run.reload().status}")))
    return 0


def cmd_runs_clean(args: argparse.Namespace) -> int:
    import asyncio
    import shutil

    from drtui.backends import launch
    from drtui.runstore import store

    workspace = _workspace(args)
    runs = ([store.find(workspace, r) for r in args.runs] if args.runs
            else store.list_runs(workspace))
    removed, kept = [], []
    for run in runs:
        if run.status in store.ACTIVE and asyncio.run(launch.is_alive(run)):
            kept.append(run.id)  # never delete a run that is still training
            continue
        if args.runs or run.status in store.ENDED:
            shutil.rmtree(run.path)
            removed.append(run.id)
    con = _console()
    for rid in removed:
        con.print(f"removed {rid}")
    for rid in kept:
        con.print(f"[yellow]kept {rid}[/]: still running (`drtui runs stop {rid}` first)")
    return 0


def cmd_sim_trace(args: argparse.Namespace) -> int:
    from drtui.sim.trace import run

    return run(args)


def cmd_serve_ssh(args: argparse.Namespace) -> int:
    from drtui.serve import main as serve_main

    return serve_main(args)


def cmd_tui(args: argparse.Namespace) -> int:
    from drtui.app import run_app

    return run_app(session=getattr(args, "session", None), workspace=args.workspace)


# --- parser -------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more")
    return value


def _terminal_size(text: str) -> tuple[int, int]:
    cols, _, rows = text.lower().partition("x")
    if not (cols.isdigit() and rows.isdigit() and 1 <= int(cols) <= 10000
            and 1 <= int(rows) <= 10000):
        raise argparse.ArgumentTypeError(f"{text!r} is not COLSxROWS (e.g. 500x200, each "
                                         "1..10000)")
    return int(cols), int(rows)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="drtui", description="A terminal studio for AWS DeepRacer: configure, generate, "
        "train, watch and analyse. Run without a command to open the TUI.")
    p.add_argument("--version", action="version", version=f"drtui {__version__}")
    p.add_argument("--workspace", help="folder with sessions and runs (default: current folder)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=func)
        return sp

    from drtui.catalog.scenarios import SCENARIOS

    sp = command("new", cmd_new, "write a starter session file")
    sp.add_argument("path", help="session file to write, e.g. my-model.toml")
    sp.add_argument("--name", help="model name (default: from the file name)")
    sp.add_argument("--scenario", default="centerline", choices=list(SCENARIOS),
                    help="starter scenario (default: centerline)")
    sp.add_argument("--algorithm", default="clipped_ppo", choices=["clipped_ppo", "sac"])
    sp.add_argument("--force", action="store_true", help="overwrite an existing file")
    sp.add_argument("-q", "--quiet", action="store_true")

    sp = command("validate", cmd_validate, "check a session file rule by rule")
    sp.add_argument("session")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")

    sp = command("generate", cmd_generate,
                 "write the DeepRacer files (custom_files/ + run.env, system.env, worker-N.env)")
    sp.add_argument("session")
    sp.add_argument("-o", "--output", required=True, help="output folder")
    sp.add_argument("--flat", action="store_true", help="all files in one folder")
    sp.add_argument("--json", action="store_true")

    sp = command("import", cmd_import, "build a session from a DRfC folder")
    sp.add_argument("folder", help="DRfC folder (custom_files/ and run.env) or custom_files")
    sp.add_argument("-o", "--output", required=True, help="session file to write")
    sp.add_argument("--name", help="model name (default: the folder's name)")
    sp.add_argument("--force", action="store_true")
    sp.add_argument("--json", action="store_true")

    sp = command("list", cmd_list, "list " + ", ".join(LISTS))
    sp.add_argument("kind", choices=LISTS)
    sp.add_argument("--measure", action="store_true",
                    help="networks: measure CPU inference latency for one 160x120 frame "
                         "(loads torch; a few seconds)")
    sp.add_argument("--json", action="store_true")

    sensors = command("sensors", lambda a: (sensors.print_help(), 2)[1], "sensor tools")
    ssub = sensors.add_subparsers(dest="sensors_command", metavar="COMMAND")
    sp = ssub.add_parser("check", help="check a sensor combination, e.g. "
                                       "\"SECTOR_LIDAR,FRONT_FACING_CAMERA\"")
    sp.add_argument("sensors")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_sensors_check)

    rewards = command("rewards", lambda a: (rewards.print_help(), 2)[1], "reward templates")
    rsub = rewards.add_subparsers(dest="rewards_command", metavar="COMMAND")
    sp = rsub.add_parser("create", help="write a reward_function.py from a scenario template")
    sp.add_argument("scenario", help="template name (drtui list rewards)")
    sp.add_argument("-o", "--output", required=True, help="folder for reward_function.py")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="template parameter (repeatable)")
    sp.add_argument("--track", default="reInvent2019_track", metavar="WORLD|ROUTE.npy",
                    help="the track whose racing line a raceline_* template embeds "
                         "(default reInvent2019_track)")
    sp.set_defaults(func=cmd_rewards_create)

    simcmd = command("sim", lambda a: (simcmd.print_help(), 2)[1], "the embedded simulator")
    simsub = simcmd.add_subparsers(dest="sim_command", metavar="COMMAND")
    sp = simsub.add_parser("trace", help="the reward params of every row of a simtrace CSV, "
                                         "one JSON line per row")
    from drtui.sim.trace import add_arguments as add_trace_arguments  # no torch at parse time

    add_trace_arguments(sp)
    sp.set_defaults(func=cmd_sim_trace)

    sp = command("run", cmd_run, "train a session on its backend (embedded by default)")
    sp.add_argument("session", nargs="?", help="session file")
    sp.add_argument("--resume", metavar="RUN", help="continue a run from its last checkpoint")
    sp.add_argument("--json", action="store_true", help="print events as JSON lines")
    sp.add_argument("--detach", action="store_true", help="start it and return")
    sp.add_argument("--minutes", type=int, metavar="N",
                    help="this run's time limit (training.time_limit_minutes; the session "
                         "file is not changed)")
    sp.add_argument("--iterations", type=int, metavar="N",
                    help="stop after N training iterations (term_cond_max_episodes, which "
                         "the trainer counts in policy updates, as simapp does)")
    sp.add_argument("--max-cost", type=float, metavar="DOLLARS",
                    help="stop the run (final checkpoint kept) once its machine has cost "
                         "this much (providers with an hourly cost)")

    runs = command("runs", lambda a: (runs.print_help(), 2)[1], "list, attach, stop, clean runs")
    rsub2 = runs.add_subparsers(dest="runs_command", metavar="COMMAND")
    sp = rsub2.add_parser("list", help="runs in the workspace")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_runs_list)
    sp = rsub2.add_parser("attach", help="follow a run (after a restart, or from elsewhere)")
    sp.add_argument("run", help="run id, id prefix or folder")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--max-cost", type=float, metavar="DOLLARS",
                    help="stop the run once its machine has cost this much")
    sp.set_defaults(func=cmd_runs_attach)
    sp = rsub2.add_parser("stop", help="stop a run: final checkpoint, then end")
    sp.add_argument("run")
    sp.add_argument("--grace", type=float, default=30.0, help="seconds before a hard kill")
    sp.set_defaults(func=cmd_runs_stop)
    sp = rsub2.add_parser("clean", help="delete finished runs (or the runs named)")
    sp.add_argument("runs", nargs="*")
    sp.set_defaults(func=cmd_runs_clean)
    from drtui.backends.cli import add_sweep

    add_sweep(rsub2)

    sp = command("serve-ssh", cmd_serve_ssh,
                 "serve the TUI over SSH: one drtui per connection (public keys only)")
    sp.add_argument("--port", type=int, required=True, help="port to listen on")
    sp.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1)")
    sp.add_argument("--host-key", required=True, metavar="FILE",
                    help="the server's private host key (ssh-keygen -t ed25519 -N '' -f FILE)")
    sp.add_argument("--authorized-keys", required=True, metavar="FILE",
                    help="public keys allowed in, OpenSSH authorized_keys format")
    # SUPPRESS: without it the subcommand's default would wipe `drtui --workspace X serve-ssh`
    sp.add_argument("--workspace", default=argparse.SUPPRESS,
                    help="folder holding one workspace per key, named by its authorized_keys "
                         "comment (default: the server's --workspace, else the current folder)")
    sp.add_argument("--unsafe-no-sandbox", action="store_true",
                    help="serve without the bubblewrap sandbox: every key can then read and "
                         "change whatever this account can (only for keys you fully trust)")
    sp.add_argument("--allow-network", action="store_true",
                    help="let served sessions reach the network (ssh and cloud backends); off, "
                         "they train only here")
    sp.add_argument("--max-sessions", type=_positive_int, metavar="N",
                    help="drtui sessions at once, all keys together (default 16)")
    sp.add_argument("--max-sessions-per-key", type=_positive_int, metavar="N",
                    help="drtui sessions at once per key (default 2)")
    sp.add_argument("--idle-timeout", type=_seconds, metavar="SECONDS",
                    help="hang up a session after this long without a keystroke (default "
                         "3600; 0: never)")
    sp.add_argument("--max-terminal", type=_terminal_size, metavar="COLSxROWS",
                    help="largest terminal served; bigger ones get this size (default 500x200)")

    from importlib import import_module

    for module in EXTENSIONS:
        import_module(module).register(command)

    sp = command("tui", cmd_tui, "open the full-screen app")
    sp.add_argument("session", nargs="?", help="session file to open")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.session = None
        args.func = cmd_tui
    from drtui.errors import DrtuiError

    try:
        return args.func(args)
    except DrtuiError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        _problems_out(problems, bool(getattr(args, "json", False)))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        _console(stderr=True).print(f"[red]error[/]: {exc}")
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        import os

        if os.environ.get("DRTUI_DEBUG"):
            raise
        _console(stderr=True).print(f"[red]internal error[/]: {type(exc).__name__}: {exc} "
                                    "(set DRTUI_DEBUG=1 for the traceback)")
        return 1
