"""The sandbox a served drtui runs in: bubblewrap (bwrap), one per SSH session.

Inside, the process sees only: its own workspace (read-write, also its HOME and working folder),
the system's programs and libraries and this Python with its packages (read-only), an empty
/tmp, its own /proc and a minimal /dev. Nothing else of the server's files, no other
workspace, no process outside the sandbox, no network unless the operator allows it (the
cloud's metadata address hands out the machine's credentials), an unprivileged uid with no
capabilities, and an environment built from scratch (no key, token or variable of the server).
Everything the served drtui starts (the reward check's worker, a trainer, an analysis) inherits
all of it. `sandbox_problem()` proves it works before the server accepts anyone.

bwrap is not given --new-session: the app needs the PTY as its controlling terminal, and the
only terminal it could push input into (TIOCSTI) is its own session's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import drtui

SANDBOX_UID = SANDBOX_GID = 1000
# Read-only, each where it exists: what programs, libraries, certificates and name lookup need.
_SYSTEM = ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf",
           "/etc/ld.so.conf.d", "/etc/localtime", "/etc/ssl", "/etc/ca-certificates",
           "/etc/pki", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
           "/etc/mime.types", "/etc/fonts")
_TOP_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # often links into /usr
WORKSPACE_ONLY_ENV = "DRTUI_WORKSPACE_ONLY"  # tells the app its path fields must stay inside


def package_root() -> Path:
    """The folder that holds the drtui package (what PYTHONPATH names inside)."""
    return Path(drtui.__file__).resolve().parent.parent


def served_env(workspace: Path, user: str, term: str, client: dict[str, str]) -> dict[str, str]:
    """The whole environment of a served drtui: nothing inherited from the server but the
    interpreter's location; from the client only its terminal and locale."""
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(workspace),
           "USER": user, "LOGNAME": user, "TERM": term, "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "PYTHONPATH": str(package_root()), WORKSPACE_ONLY_ENV: "1"}
    env.update({k: v for k, v in client.items()
                if k == "COLORTERM" or k == "LANG" or k.startswith("LC_")})
    return env


def _python_paths() -> list[Path]:
    """What this interpreter needs read-only: its install, the virtual environment, drtui."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent.parent,
             Path(drtui.__file__).resolve().parent}
    paths.update(Path(p).resolve() for p in sys.path
                 if p and "site-packages" in p and os.path.isdir(p))
    return sorted(paths)


def bwrap_command(inner: list[str], workspace: Path, env: dict[str, str], *,
                  network: bool = False, bwrap: str = "bwrap") -> list[str]:
    """`inner` run in the sandbox described above, in `workspace`, with exactly `env`."""
    workspace = Path(workspace).resolve()
    cmd = [bwrap, "--unshare-all", *(["--share-net"] if network else []),
           "--die-with-parent", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_GID),
           "--hostname", "drtui", "--cap-drop", "ALL"]
    for top in _TOP_LINKS:
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for path in _SYSTEM:
        cmd += ["--ro-bind-try", path, path]
    # the empty /tmp before the binds: bwrap mounts in order, and a virtual environment or a
    # workspace under /tmp must show through it
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    for path in _python_paths():
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace), "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *inner]


# Run inside the sandbox at start: what it can see, as JSON.
_PROBE = r"""
import json, os, sys
paths = json.loads(sys.argv[1])
def readable(p):
    try:
        with open(p, "rb") as f:
            f.read(1)
        return True
    except OSError:
        return False
seen = [p for p in paths if readable(p)]
import drtui
print(json.dumps({"env": sorted(os.environ), "seen": seen, "uid": os.getuid(),
                  "drtui": drtui.__file__}))
"""


def sandbox_problem(workspace_root: Path, secrets: list[Path], *, network: bool = False,
                    bwrap: str = "bwrap", timeout: float = 30.0) -> str | None:
    """None when the sandbox holds: drtui starts in it, and it can read neither `secrets` (files
    the server can read), nor a file beside its workspace, nor any of the server's environment
    variables; else why not, in words."""
    exe = shutil.which(bwrap)
    if exe is None:
        return ("bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap) "
                "or start with --unsafe-no-sandbox to serve without one")
    probe_ws = Path(workspace_root) / ".sandbox-check"
    probe_ws.mkdir(parents=True, exist_ok=True)
    canary = Path(workspace_root) / ".sandbox-canary"  # what another workspace would hold
    canary.write_text("not for the sandbox\n")
    outside = [str(Path(p).resolve()) for p in [*secrets, canary]]
    env = served_env(probe_ws, "check", "dumb", {})
    cmd = bwrap_command([sys.executable, "-c", _PROBE, json.dumps(outside)], probe_ws, env,
                        network=network, bwrap=exe)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={}, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the sandbox did not start: {exc}"
    finally:
        shutil.rmtree(probe_ws, ignore_errors=True)
        canary.unlink(missing_ok=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"the sandbox did not start (bwrap exit status {done.returncode}: {why}); user "
                "namespaces may be disabled here")
    try:
        seen = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"the sandbox check printed nothing readable: {done.stdout[-200:]!r}"
    leaked = sorted(set(seen["env"]) - set(env) - {"PWD", "SHLVL", "_"})
    if leaked:
        return f"the sandbox leaks environment variables: {', '.join(leaked)}"
    if seen["seen"]:
        return f"the sandbox can see files outside the workspace: {', '.join(seen['seen'])}"
    if seen["uid"] == 0:
        return "the sandbox runs as root"
    return None
