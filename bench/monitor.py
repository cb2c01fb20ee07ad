"""Monitor throughput: does the TUI stay responsive, and show every line, while it follows a
log filling at a set rate?

For each rate a writer process appends real drtui trainer lines (SIM_TRACE_LOG, Training>,
Policy training>, Checkpoint>, evaluation lines, cycled from tests/tui/data/recorded-run.log.gz)
to a run's log at that many lines a second, in 10 ms slices, for --seconds. The real app
(DrtuiApp, headless, 120x40) follows the run in its monitor exactly as for a live run (the run's
pid is the writer's, so the follower ends once the writer has exited and the log is drained).
A 60 Hz timer on the app records how late each tick fires: p50 / p99 / max lag in ms are
how long the UI could not react. Then: how many lines the writer wrote, how many reached the
log view (lines other than SIM_TRACE_LOG: those are drawn on the map), how many steps reached
the map, and how long after the writer stopped the follower had drained the log.

    .venv/bin/python bench/monitor.py [--rates 0,500,1000,2000,5000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "tui" / "data" / "recorded-run.log.gz"

WRITER = r"""
import sys, time
path, rate, seconds, source = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lines = open(source, encoding="utf-8").read().splitlines(keepends=True)
slice_s, n, i = 0.01, 0, 0
start = time.perf_counter()
with open(path, "a", encoding="utf-8") as out:
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate) + (1 if rate else 0)
        chunk = []
        while n < due:
            chunk.append(lines[i]); i = (i + 1) % len(lines); n += 1
        out.write("".join(chunk)); out.flush()
        time.sleep(slice_s)
print(n)
"""


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[k]


async def measure(rate: int, seconds: float, source: Path, workdir: Path) -> dict:
    from drtui.app import DrtuiApp
    from drtui.files import render
    from drtui.runstore import store
    from drtui.session.starter import starter
    from drtui.widgets.run_panel import RunPanel

    session = starter(f"bench-{rate}")
    session.track.world = "reinvent_base"  # the track of the recorded lines
    workspace = workdir / f"ws-{rate}"
    run = store.create(workspace, session, render.render(session), provider="local",
                       runner="embedded")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(run.log_path), str(rate),
                               str(seconds), str(source)], stdout=subprocess.PIPE, text=True)
    run.update(status="running", pid=writer.pid, started=time.time())

    lags: list[float] = []
    steps = [0]
    app = DrtuiApp(workspace=workspace)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        interval = 1 / 60
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lags.append(max(0.0, now - last[0] - interval) * 1000)
            last[0] = now

        app.set_interval(interval, tick)
        feed = RunPanel.feed

        def counting_feed(self, event) -> None:
            if type(event).__name__ == "Step":
                steps[0] += 1
            feed(self, event)

        RunPanel.feed = counting_feed  # counts every step that reaches the panel
        app.show_monitor(run)
        panel = None
        while panel is None:
            await pilot.pause(0.05)
            panel = app.screen.query(RunPanel).first() if app.screen.query(RunPanel) else None
        written = int((await asyncio.to_thread(writer.communicate))[0])
        writer_done = time.perf_counter()
        while panel.following or panel.log_view.pending:
            await pilot.pause(0.05)
        drained_s = time.perf_counter() - writer_done
        await pilot.pause(0.3)
        view = panel.log_view
        shown, received = view.written, view.received
        RunPanel.feed = feed
    text = run.log_path.read_text(encoding="utf-8").splitlines()
    trace = sum("SIM_TRACE_LOG" in line for line in text)
    others = sum(1 for line in text if line.strip() and "SIM_TRACE_LOG" not in line)
    return {"rate": rate, "written": written, "in_file": len(text), "log_lines": others,
            "received": received, "shown": shown, "trace": trace, "steps": steps[0],
            "ticks": len(lags), "p50": percentile(lags, 50), "p99": percentile(lags, 99),
            "max": max(lags, default=float("nan")), "drained_s": drained_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="0,500,1000,2000,5000",
                        help="lines a second; 0: the app idle, following a silent log "
                             "(the machine's own noise)")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "lines.log"
        source.write_bytes(gzip.decompress(RECORDED.read_bytes()))
        rows = [asyncio.run(measure(int(r), args.seconds, source, Path(tmp)))
                for r in args.rates.split(",")]
    head = ("lines/s", "written", "log lines", "in view", "trace", "steps", "ticks",
            "p50 ms", "p99 ms", "max ms", "drained s", "all shown")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        complete = r["received"] == r["log_lines"] and r["steps"] == r["trace"]
        capped = r["shown"] == r["received"]
        print(" | ".join([
            f"{r['rate']:,}", f"{r['written']:,}", f"{r['log_lines']:,}", f"{r['shown']:,}",
            f"{r['trace']:,}", f"{r['steps']:,}", str(r["ticks"]), f"{r['p50']:.1f}",
            f"{r['p99']:.1f}", f"{r['max']:.1f}", f"{r['drained_s']:.2f}",
            "yes" if complete and capped else
            ("yes (older than the 5,000-line cap dropped unseen)" if complete else "NO")]))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"\n{args.seconds:g} s per rate ({round(args.seconds * 60)} ticks if never late); "
          f"load average at the end: {' '.join(load)}; p50/p99/max: lateness of a 60 Hz "
          "timer on the app's loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
