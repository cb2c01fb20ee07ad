"""Time to first paint of `drtui`, measured the way a user sees it.

Each run spawns the command in a fresh 80x24 pseudo-terminal, starts the clock just before
the spawn and reads the terminal until the expected text is on screen (escape sequences
stripped). The TUI is then quit with ctrl+q and must exit. `drtui --help` is timed the same
way. With --imports, `python -X importtime -c "import drtui.cli"` shows where startup goes
(--imports drtui.app: the same for the TUI).

    .venv/bin/python bench/first_paint.py [-n 5] [--text Sessions] [--imports [MODULE]]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time

ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|.)")
CTRL_Q = b"\x11"


def drtui_command() -> list[str]:
    # The console script is what users type; fall back to -m where it is not installed.
    script = shutil.which("drtui", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "drtui"]


class PtyRun:
    """One process on a fresh PTY, with everything it printed so far."""

    def __init__(self, cmd: list[str], cols: int = 80, rows: int = 24) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")}
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.raw = b""
        self.eof = False

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            self.raw += data
            self.eof = not data

    def wait_text(self, text: str, timeout: float) -> float:
        """Seconds from spawn until `text` is on screen."""
        deadline = time.perf_counter() + timeout
        needle = text.encode()
        while needle not in ANSI.sub(b"", self.raw):
            if self.eof or time.perf_counter() > deadline:
                screen = ANSI.sub(b"", self.raw).decode(errors="replace")[-1500:]
                self.kill()
                raise SystemExit(f"{text!r} did not appear (exit {self.proc.poll()}): {screen!r}")
            self.read(0.05)
        return time.perf_counter() - self.start

    def wait_exit(self, timeout: float) -> float | None:
        """Seconds until the process exits (reading on so it never blocks writing)."""
        t0 = time.perf_counter()
        while self.proc.poll() is None and time.perf_counter() - t0 < timeout:
            self.read(0.02)
        if self.proc.poll() is None:
            self.kill()
            return None
        return time.perf_counter() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.master)


def report(label: str, seconds: list[float]) -> None:
    print(f"{label:<48} n={len(seconds)}  min {min(seconds) * 1e3:6.0f} ms  "
          f"median {statistics.median(seconds) * 1e3:6.0f} ms  max {max(seconds) * 1e3:6.0f} ms")


def bench_tui(cmd: list[str], text: str, n: int, timeout: float) -> None:
    paints, quits = [], []
    for _ in range(n):
        run = PtyRun(cmd)
        paints.append(run.wait_text(text, timeout))
        run.read(0.2)  # let the first frame settle before quitting
        os.write(run.master, CTRL_Q)
        quit_s = run.wait_exit(10)
        if quit_s is None:
            raise SystemExit("ctrl+q did not end the app within 10 s (killed it)")
        quits.append(quit_s)
        run.kill()
    report(f"tui first paint ({text!r} on 80x24)", paints)
    report("tui exit after ctrl+q", quits)


def bench_help(cmd: list[str], n: int, timeout: float) -> None:
    shown, done = [], []
    for _ in range(n):
        run = PtyRun(cmd + ["--help"])
        shown.append(run.wait_text("usage:", timeout))
        if run.wait_exit(timeout) is None:
            raise SystemExit("drtui --help did not exit")
        done.append(time.perf_counter() - run.start)
        run.kill()
    report("--help: 'usage:' on screen", shown)
    report("--help: process exited", done)


def bench_imports(module: str, top: int) -> None:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                         capture_output=True, text=True, check=True).stderr
    rows = []
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m[2]), int(m[1]), len(m[3]) // 2, m[4]))
    total = next((c for c, _, depth, name in rows if name == module), None)
    print(f"import {module}: {total / 1e3:.1f} ms cumulative; "
          f"top {top} by cumulative time (ms, self ms, depth, module):")
    for cum, own, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cum / 1e3:8.1f} {own / 1e3:8.1f}  {depth:2d}  {name}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=5, help="runs of each (default 5)")
    p.add_argument("--text", default="Sessions", help="home screen text that marks the "
                   "first paint (default: Sessions)")
    p.add_argument("--timeout", type=float, default=30, help="seconds per run (default 30)")
    p.add_argument("--imports", nargs="?", const="drtui.cli", metavar="MODULE",
                   help="also show -X importtime for MODULE (default: drtui.cli)")
    p.add_argument("--top", type=int, default=15, help="import rows to show (default 15)")
    args = p.parse_args()
    cmd = drtui_command()
    print(f"command: {' '.join(cmd)}   python {sys.version.split()[0]}   {os.cpu_count()} cpus")
    bench_help(cmd, args.n, args.timeout)
    if args.imports:
        bench_imports(args.imports, args.top)
    bench_tui(cmd, args.text, args.n, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
