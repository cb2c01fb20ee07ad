"""`drtui raceline TRACK`: a track's racing line, its speed profile and lap time, as a
table and a picture, JSON, a PNG, or a reward function. Registered through
drtui.cli.EXTENSIONS; numpy and the rest are imported when the command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drtui.fsio import atomic_write
from drtui.problem import Problem


def register(command) -> None:
    sp = command("raceline", cmd_raceline,
                 "a track's racing line (K1999) inside its borders, with the speed the car "
                 "model can hold along it and the lap time")
    sp.add_argument("track", help="a world name (drtui list tracks) or a route .npy file")
    sp.add_argument("--method", default="k1999", choices=("k1999", "centre"),
                    help="k1999: Coulom's line (default); centre: the centre line, to compare")
    sp.add_argument("--margin", type=float, metavar="M",
                    help="metres kept from both borders (default: half the car's width plus "
                         "5 cm)")
    sp.add_argument("--min-speed", type=float, default=None, metavar="V",
                    help="slowest speed the plan commands, m/s (default 0.1)")
    sp.add_argument("--max-speed", type=float, default=None, metavar="V",
                    help="fastest speed the plan commands, m/s (default 4.0)")
    sp.add_argument("--reverse", action="store_true", help="drive the route backwards")
    sp.add_argument("--json", action="store_true",
                    help="print the summary and every point (x, y, speed, steering) as JSON")
    sp.add_argument("-o", "--output", metavar="FILE",
                    help="write FILE.png (the picture), FILE.json (the points) or FILE.py "
                         "(a racing-line reward_function.py, see --reward)")
    sp.add_argument("--reward", default="raceline_time_trial",
                    choices=("raceline_time_trial", "raceline_object_avoidance"),
                    help="reward template for -o FILE.py (default raceline_time_trial)")
    sp.add_argument("--actions", type=int, metavar="N",
                    help="also print an action space of N actions built from the line")


def _limits_problems(args) -> list:
    out = []
    if args.margin is not None and not 0.0 <= args.margin < 1.0:
        out.append(Problem("--margin", f"must be within 0 .. 1 m (got {args.margin:g})"))
    for key, value in (("--min-speed", args.min_speed), ("--max-speed", args.max_speed)):
        if value is not None and not 0.1 <= value <= 4.0:
            out.append(Problem(key, f"must be within 0.1 .. 4 m/s (got {value:g})"))
    if (args.min_speed or 0.1) >= (args.max_speed or 4.0):
        out.append(Problem("--min-speed", "must be below --max-speed"))
    if args.actions is not None and not 2 <= args.actions <= 30:
        out.append(Problem("--actions", f"must be within 2 .. 30 (got {args.actions})"))
    if args.output and Path(args.output).suffix not in (".png", ".json", ".py"):
        out.append(Problem("--output", f"must end in .png, .json or .py (got {args.output})"))
    return out


def cmd_raceline(args: argparse.Namespace) -> int:
    from drtui.catalog.tracks import RouteError, waypoints_of
    from drtui.errors import InvalidInput
    from drtui.raceline.line import DEFAULT_MARGIN_M, racing_line
    from drtui.raceline.speed import CarLimits

    problems = _limits_problems(args)
    try:
        waypoints = waypoints_of(args.track)
    except (FileNotFoundError, RouteError) as exc:
        problems.append(Problem("track", str(exc).strip("\"'")))
    if problems:
        raise InvalidInput(problems)
    if args.reverse:
        waypoints = waypoints[::-1].copy()
    limits = CarLimits(args.min_speed or 0.1, args.max_speed or 4.0)
    margin = DEFAULT_MARGIN_M if args.margin is None else args.margin
    line = racing_line(waypoints, method=args.method, margin=margin, limits=limits)
    centre = racing_line(waypoints, method="centre", margin=margin, limits=limits)
    actions = None
    if args.actions:
        from drtui.raceline.actions import line_actions

        actions = line_actions(line, args.actions)
    written = _write(args, waypoints, line) if args.output else None
    if args.json:
        data = {"track": args.track, "reverse": args.reverse, **line.as_dict(),
                "centre_line": centre.summary()}
        if actions is not None:
            data["actions"] = actions
        if written:
            data["written"] = str(written)
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    _print(args, waypoints, line, centre, actions, written)
    return 0


def _write(args, waypoints, line) -> Path:
    path = Path(args.output)
    suffix = path.suffix
    if suffix == ".png":
        from drtui.raceline.picture import write_line_png

        return write_line_png(path, waypoints, line)
    if suffix == ".json":
        text = json.dumps({"track": args.track, "reverse": args.reverse, **line.as_dict()})
        atomic_write(path, text + "\n")
        return path
    from drtui.raceline.rewards import render_line_reward

    atomic_write(path, render_line_reward(args.reward, line, args.track))
    return path


def _print(args, waypoints, line, centre, actions, written) -> None:
    import shutil

    from drtui.raceline.picture import line_text
    from drtui.terminal import console, table

    con = console()
    s, c = line.summary(), centre.summary()
    t = table("", line.method, "centre line", title=f"racing line of {args.track}"
              + (" (reversed)" if args.reverse else ""))
    for key, label, unit in (("length_m", "length", "m"), ("lap_time_s", "lap time", "s"),
                             ("flying_lap_time_s", "flying lap", "s"),
                             ("min_speed", "slowest", "m/s"), ("max_speed", "fastest", "m/s"),
                             ("min_radius_m", "tightest radius", "m")):
        t.add_row(label, f"{s[key]:.2f} {unit}", f"{c[key]:.2f} {unit}")
    con.print(t)
    con.print(f"margin {line.margin_m:.3f} m from both borders; speeds "
              f"{line.limits.min_speed:g}..{line.limits.max_speed:g} m/s; lap from rest, "
              "as DeepRacer times it (drtui's car model)")
    cols = min(shutil.get_terminal_size((100, 30)).columns, 100)
    con.print(line_text(waypoints, line, cols, max(12, cols // 4)))
    con.print(f"speed: [blue]slow {line.speed.min():.1f}[/] [cyan]·[/] [green]·[/] "
              f"[yellow]·[/] [red]fast {line.speed.max():.1f} m/s[/]")
    if actions is not None:
        at = table("#", "steering (deg)", "speed (m/s)", title="action space from the line")
        for i, a in enumerate(actions):
            at.add_row(str(i), f"{a['steering_angle']:g}", f"{a['speed']:g}")
        con.print(at)
    if written:
        con.print(f"wrote {written}")
