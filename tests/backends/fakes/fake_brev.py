"""A stand-in for NVIDIA's `brev` CLI, run as a real executable by the Brev provider's tests.

It parses argv like brev-cli (github.com/brevdev/brev-cli at 12d39b75) and prints what that
version prints when stdout is a pipe: `ls --json` as {"workspaces": [WorkspaceInfo...]}
(null when empty), `search --json` as a list of GPUInstanceInfo, `create`/`delete` the
instance names one a line, `refresh` writing ~/.brev/ssh_config with `Host <name>` and
`Host <name>-host` blocks (SSHConfigEntryTemplateV3, or V2 with a ProxyCommand). Without
~/.brev/credentials.json it prompts for a login the way brev does and fails on no answer.

State lives in the JSON file $FAKE_BREV_STATE, so create, ls and delete agree across calls;
each call's argv is appended to $FAKE_BREV_STATE.calls. Behaviour switches (environment):
FAKE_BREV_READY_AFTER (ls polls before RUNNING, default 2), FAKE_BREV_SSH_PORT (default 22),
FAKE_BREV_FAIL = unhealthy | failure | create | nocapacity | proxy | hang (no answer).
"""

from __future__ import annotations

import json
import os
import random
import string
import sys
import time
from pathlib import Path

STATE = Path(os.environ["FAKE_BREV_STATE"])
FAIL = os.environ.get("FAKE_BREV_FAIL", "")
READY_AFTER = int(os.environ.get("FAKE_BREV_READY_AFTER", "2"))

# brev search --json rows (GPUInstanceInfo), prices as listed for these types
OFFERS = [
    {"type": "g5.xlarge", "cloud": "aws", "provider": "aws", "gpu_name": "A10G", "gpu_count": 1,
     "vram_per_gpu_gb": 24, "total_vram_gb": 24, "capability": 8.6, "vcpus": 4,
     "memory": "16GiB", "ram_gb": 16, "arch": "x86_64", "disk_min_gb": 50, "disk_max_gb": 16000,
     "boot_time_seconds": 420, "stoppable": True, "rebootable": True, "flex_ports": True,
     "price_per_hour": 1.006},
    {"type": "g4dn.xlarge", "cloud": "aws", "provider": "aws", "gpu_name": "T4", "gpu_count": 1,
     "vram_per_gpu_gb": 16, "total_vram_gb": 16, "capability": 7.5, "vcpus": 4,
     "memory": "16GiB", "ram_gb": 16, "arch": "x86_64", "disk_min_gb": 50, "disk_max_gb": 16000,
     "boot_time_seconds": 360, "stoppable": True, "rebootable": True, "flex_ports": True,
     "price_per_hour": 0.526},
    {"type": "hyperstack_A6000", "cloud": "hyperstack", "provider": "shadeform",
     "gpu_name": "A6000", "gpu_count": 1, "vram_per_gpu_gb": 48, "total_vram_gb": 48,
     "capability": 8.6, "vcpus": 8, "memory": "58GiB", "ram_gb": 58, "arch": "x86_64",
     "disk_min_gb": 100, "disk_max_gb": 100, "boot_time_seconds": 300, "stoppable": False,
     "rebootable": True, "flex_ports": False, "price_per_hour": 0.6},
]


def load() -> dict:
    try:
        return json.loads(STATE.read_text())
    except FileNotFoundError:
        return {"instances": []}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def view(inst: dict) -> dict:
    """WorkspaceInfo as `brev ls --json` shows it (getWorkspaceDisplayStatus etc.)."""
    status, build, health = inst["status"], inst["build"], inst["health"]
    display = health if status == "RUNNING" and health == "UNHEALTHY" else status
    shell = "READY" if status == "RUNNING" and build == "COMPLETED" else "NOT READY"
    gpu = next((o["gpu_name"] for o in OFFERS if o["type"] == inst["type"]), "-")
    return {"name": inst["name"], "id": inst["id"], "status": display, "build_status": build,
            "shell_status": shell, "health_status": health, "instance_type": inst["type"],
            "instance_kind": "gpu" if gpu != "-" else "cpu", "gpu": gpu}


def advance(inst: dict) -> None:
    if inst["status"] in ("DELETING", "FAILURE"):
        return
    inst["polls"] += 1
    if inst["polls"] < READY_AFTER:
        inst["status"], inst["build"] = "DEPLOYING", "BUILDING" if inst["polls"] else "PENDING"
        return
    if FAIL == "failure":
        inst["status"], inst["build"], inst["health"] = "FAILURE", "CREATE_FAILED", "UNAVAILABLE"
        return
    inst["status"], inst["build"] = "RUNNING", "COMPLETED"
    inst["health"] = "UNHEALTHY" if FAIL == "unhealthy" else "HEALTHY"


def opt(args: list[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        if a in names and i + 1 < len(args):
            return args[i + 1]
        for n in names:
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


def positional(args: list[str], flags_with_values: set[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in flags_with_values:
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


def ssh_config(state: dict) -> str:
    home = Path.home()
    port = int(os.environ.get("FAKE_BREV_SSH_PORT", "22"))
    key = home / ".brev" / "brev.pem"
    blocks = []
    for inst in state["instances"]:
        if inst["status"] != "RUNNING":
            continue
        for alias in (inst["name"], inst["name"] + "-host"):
            if FAIL == "proxy":
                blocks.append(f"Host {alias}\n  IdentityFile \"{key}\"\n  User ubuntu\n"
                              f"  ProxyCommand {home}/.brev/cloudflared access ssh --hostname "
                              f"{inst['id']}.brevlab.com\n  UserKnownHostsFile /dev/null\n"
                              "  StrictHostKeyChecking no\n")
            else:
                blocks.append(f"Host {alias}\n  Hostname 127.0.0.1\n  IdentityFile \"{key}\"\n"
                              "  User ubuntu\n  ServerAliveInterval 30\n"
                              "  UserKnownHostsFile /dev/null\n  IdentitiesOnly yes\n"
                              "  StrictHostKeyChecking no\n  PasswordAuthentication no\n"
                              "  ControlMaster auto\n  ControlPath ~/.ssh/brev-control-%C\n"
                              f"  Port {port}\n\n")
    return "".join(blocks)


def main(argv: list[str]) -> None:
    with open(str(STATE) + ".calls", "a") as fh:
        fh.write(json.dumps(argv) + "\n")
    if not argv:
        fail("Usage: brev [command]", 1)
    if FAIL == "hang":  # a prompt nobody answers, or a control plane that never replies
        time.sleep(600)
    command, args = argv[0], argv[1:]
    if command in ("--version", "version"):
        print("Current Version: v0.6.fake")
        return
    if not (Path.home() / ".brev" / "credentials.json").is_file():
        sys.stdout.write("You are currently logged out, would you like to log in? [Y/n]: ")
        fail("\nError: declined to login\nlog in to run this command")
    state = load()
    if command == "ls":
        for inst in state["instances"]:
            advance(inst)
        shown = [view(i) for i in state["instances"]]
        state["instances"] = [i for i in state["instances"] if i["status"] != "DELETING"]
        save(state)
        print(json.dumps({"workspaces": shown or None}, indent=2))
    elif command == "search":
        print(json.dumps(OFFERS, indent=2))
    elif command in ("create", "provision"):
        names = positional(args, {"--type", "-t", "--name", "-n", "--timeout", "--count",
                                  "-c", "--mode", "-m", "--startup-script", "-s"})
        name = opt(args, "--name", "-n") or (names[0] if names else "")
        kind = opt(args, "--type", "-t") or "g5.xlarge"
        if not name:
            fail("Error: name is required")
        if any(i["name"] == name for i in state["instances"]):
            fail(f"Error: instance with name {name} already exists")
        if FAIL == "nocapacity":
            fail(f"Error: failed to create {name}: no capacity for any of: {kind}")
        inst = {"id": "".join(random.choices(string.ascii_lowercase + string.digits, k=9)),
                "name": name, "type": kind.split(",")[0], "status": "DEPLOYING",
                "build": "PENDING", "health": "", "polls": -1}
        state["instances"].append(inst)
        save(state)
        if FAIL == "create":  # the API took it, then the CLI gave up
            fail(f"Error: failed to create instance {name}: context deadline exceeded")
        print(name)
    elif command == "delete":
        for ref in positional(args, set()):
            inst = next((i for i in state["instances"] if ref in (i["id"], i["name"])), None)
            if inst is None:
                fail(f"Error: instance {ref} not found")
            inst["status"] = "DELETING"
            save(state)
            print(inst["name"])
    elif command == "stop":
        fail("Error: this fake refuses stop: drtui must delete, a stopped instance bills disk")
    elif command == "refresh":
        path = Path.home() / ".brev" / "ssh_config"
        path.write_text(ssh_config(state))
    else:
        fail(f'Error: unknown command "{command}" for "brev"')


if __name__ == "__main__":
    main(sys.argv[1:])
