"""A stand-in for Thunder Compute's `tnr` CLI (thunder-cli dc01ad30), run as a real executable.

Like the real one it is a thin client of the REST API: it reads its token from
TNR_API_TOKEN or ~/.thunder/cli_config.json ({"token", "apiUrl"}), honours TNR_API_URL, and
talks to the (fake) API over HTTP. With --json and no terminal it behaves as tnr does:
`create` needs every flag, prints its cost note and disclaimer, then {uuid, key, identifier};
`status --no-wait` prints the instance list; `connect <id>` saves the API-issued key to
~/.thunder/keys/<uuid> and prints {instance_id, uuid, name, ip, port, key_file,
ssh_command}; `delete <id>` needs --yes. Argv of each call goes to $FAKE_TNR_CALLS.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path


def fail(message: str) -> None:
    sys.stderr.write(f"Error: {message}\n")
    sys.exit(1)


def config() -> tuple[str, str]:
    token, url = os.environ.get("TNR_API_TOKEN", ""), "https://api.thundercompute.com:8443"
    path = Path.home() / ".thunder" / "cli_config.json"
    if not token:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            fail("not authenticated. Please run 'tnr login' first")
        token, url = data.get("token", ""), data.get("apiUrl") or url
        if not token:
            fail("no authentication token found. Please run 'tnr login'")
    return token, os.environ.get("TNR_API_URL") or url


def call(method: str, path: str, body: dict | None = None):
    token, url = config()
    req = urllib.request.Request(url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            fail("authentication failed: invalid token")
        fail(json.loads(exc.read() or b"{}").get("message") or f"status {exc.code}")
    return json.loads(raw) if raw else None


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) \
        else None


def main(argv: list[str]) -> None:
    calls = os.environ.get("FAKE_TNR_CALLS")
    if calls:
        with open(calls, "a") as fh:
            fh.write(json.dumps(argv) + "\n")
    as_json = "--json" in argv
    yes = "--yes" in argv or "-y" in argv
    args = [a for a in argv if a not in ("--json", "--yes", "-y")]
    if not args:
        fail("usage: tnr [command]")
    command, rest = args[0], args[1:]
    if command == "create":
        needed = ["--mode", "--gpu", "--template", "--primary-disk"]
        needed.append("--vcpus" if flag(rest, "--mode") == "prototyping" else "--num-gpus")
        if any(flag(rest, n) is None for n in needed):
            fail("all flags required in non-interactive mode (--mode, --gpu, "
                 "--template/--snapshot, --primary-disk, and --num-gpus or --vcpus)")
        body = {"mode": flag(rest, "--mode"), "gpu_type": flag(rest, "--gpu"),
                "num_gpus": int(flag(rest, "--num-gpus") or 1),
                "cpu_cores": int(flag(rest, "--vcpus") or 4),
                "template": flag(rest, "--template"),
                "disk_size_gb": int(flag(rest, "--primary-disk"))}
        pricing = call("GET", "/v1/pricing")["pricing"]
        rate = pricing.get(f"{body['gpu_type']}_x{body['num_gpus']}_{body['mode']}", 0)
        print(f"\nEstimated cost: ${rate:.2f}/hr")
        if body["mode"] == "prototyping":
            print("\n⚠ PROTOTYPING MODE DISCLAIMER\nPrototyping mode is optimized for "
                  "development. Long running GPU processes may be interrupted.")
        sys.stderr.write("Creating instance...\n")
        reply = call("POST", "/v1/instances/create", body)
        print(json.dumps(reply, indent=2) if as_json else
              f"Instance created: ID={reply['identifier']} UUID={reply['uuid']}")
    elif command == "status":
        listed = call("GET", "/v1/instances/list") or {}
        items = [{"id": k, **v} for k, v in sorted(listed.items())]
        print(json.dumps(items, indent=2))
    elif command == "connect":
        ident = rest[0]
        inst = (call("GET", "/v1/instances/list") or {}).get(ident)
        if inst is None:
            fail(f"instance '{ident}' not found")
        if inst["status"] != "RUNNING":
            fail(f"instance '{ident}' is not running (status: {inst['status']})")
        key_file = Path.home() / ".thunder" / "keys" / inst["uuid"]
        if not key_file.exists():
            reply = call("POST", f"/v1/instances/{ident}/add_key")
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(reply["key"])
            key_file.chmod(0o600)
        port = inst.get("port") or 22
        print(json.dumps({"instance_id": ident, "uuid": inst["uuid"], "name": inst["name"],
                          "ip": inst["ip"], "port": port, "key_file": str(key_file),
                          "ssh_command": f"ssh -i {key_file} root@{inst['ip']} -p {port}"},
                         indent=2))
    elif command == "delete":
        if not yes:
            fail("use --yes to confirm deletion in non-interactive mode")
        ident = rest[0]
        if ident not in (call("GET", "/v1/instances/list") or {}):
            fail(f"instance '{ident}' not found")
        call("POST", f"/v1/instances/{ident}/delete")
        sys.stderr.write("Deleting instance...\n")
        print(json.dumps({"message": "Instance deleted successfully", "success": True},
                         indent=2))
    else:
        fail(f'unknown command "{command}" for "tnr"')


if __name__ == "__main__":
    main(sys.argv[1:])
