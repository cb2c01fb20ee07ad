"""A DRfC host for tests: an asyncssh server on loopback whose commands run for real, a
"DRfC install" folder whose bin/activate.sh defines dr-* as bash functions (as DRfC does)
that record their calls, and a `docker` executable on the server's PATH that replays the
REAL sample robomaker / SageMaker logs as container logs.

The fake docker keeps its containers in FAKE_DOCKER_DIR/containers.json. `docker compose -p
deepracer-N up -d` (run by dr-start-training) creates the robomaker container at once and the
SageMaker `...-algo-1-...` container later: it is listed only once the test calls
`show("sagemaker")`, as SageMaker local mode starts after rl_coach. A container's log gives
out the lines the test has released (`release(role, n)`), so a test decides exactly where
the stream stands when it cuts a connection. A container whose lines are all released
exits (auto_exit); `compose down` (dr-stop-training) stops the project's containers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

DATA = Path(__file__).resolve().parent.parent / "data" / "logs"
# robomaker: the start of a simapp 6 training and its first iteration boundary (two excerpts
# of one real log); SageMaker: a real simapp 6 SageMaker training log (see data/README.md)
ROBOMAKER_LOGS = ("droa-simapp6-simulation-training-start-excerpt.log",
                  "droa-simapp6-simulation-training-iteration-boundary-excerpt.log")
SAGEMAKER_LOG = "droa-simapp6-sagemaker-training-continuous-ppo.log"

FAKE_DOCKER = r'''#!{python}
"""docker, as far as drtui's DRfC runner and collector use it (ps, logs, compose up/down)."""
import functools, json, os, sys, time, uuid
from pathlib import Path

D = Path(os.environ["FAKE_DOCKER_DIR"])
DB = D / "containers.json"


def load():
    try:
        return json.loads(DB.read_text())
    except (FileNotFoundError, ValueError):
        return []


def save(cs):
    tmp = D / f".containers.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(cs))
    os.replace(tmp, DB)


@functools.cache
def _lines(path):
    return Path(path).read_bytes().splitlines(keepends=True)


def lines_of(c):
    return _lines(c["log"])


def released(c):
    gate = D / f"release-{c['role']}"
    n = len(lines_of(c))
    return min(n, int(gate.read_text())) if gate.exists() else n


def exited(c):
    return c["stopped"] or (c["auto_exit"] and released(c) >= len(lines_of(c)))


def visible(c):
    return (D / f"show-{c['role']}").exists() and not exited(c)


def arg(args, flag):
    out = []
    while flag in args:
        i = args.index(flag)
        out.append(args[i + 1])
        del args[i:i + 2]
    return out


def ps(args):
    filters, fmt = arg(args, "--filter"), arg(args, "--format")
    cs = [c for c in load() if visible(c)]
    for f in filters:
        key, _, value = f.partition("=")
        if key == "name":
            pass  # or-ed below
        elif key == "since":
            ref = [c for c in load() if c["id"].startswith(value) or c["name"] == value]
            if not ref:
                sys.stderr.write(f"Error: No such container: {value}\n")
                sys.exit(1)
            cs = [c for c in cs if c["seq"] > ref[0]["seq"]]
    names = [f.partition("=")[2] for f in filters if f.startswith("name=")]
    if names:
        cs = [c for c in cs if any(n in c["name"] for n in names)]
    for c in cs:
        if "-q" in args or fmt == ["{{.ID}}"]:
            print(c["id"])
        else:
            print(f"{c['id']}   {c['image']}   {c['name']}")


def logs(args):
    follow = "-f" in args or "--follow" in args
    ref = [a for a in args if not a.startswith("-")][-1]
    found = [c for c in load() if c["id"] == ref]
    if not found:
        sys.stderr.write(f"Error response from daemon: No such container: {ref}\n")
        sys.exit(1)
    c, done = found[0], 0
    lines = lines_of(c)
    out = sys.stdout.buffer
    while True:
        c = [x for x in load() if x["id"] == ref][0]
        upto = released(c)
        for line in lines[done:upto]:
            out.write(line)
            out.flush()
        done = max(done, upto)
        if not follow or (exited(c) and done >= upto):
            return
        time.sleep(0.05)


def compose(args):
    project = arg(args, "-p")[0]
    cs = load()
    if "up" in args:
        for c in cs:
            c["stopped"] = True  # an earlier training's containers are gone
        seq = max((c["seq"] for c in cs), default=0)
        auto = os.environ.get("FAKE_DOCKER_AUTO_EXIT", "1") == "1"
        for role, name, log in (
                ("robomaker", f"{project}-robomaker-1", D / "robomaker.log"),
                ("sagemaker", f"{uuid.uuid4().hex[:8]}-algo-1-{uuid.uuid4().hex[:4]}",
                 D / "sagemaker.log")):
            seq += 1
            cs.append(dict(id=uuid.uuid4().hex[:12], name=name, role=role, log=str(log),
                           image="awsdeepracercommunity/deepracer-simapp:6.0.4-cpu",
                           project=project, seq=seq, stopped=False, auto_exit=auto))
        (D / "show-robomaker").touch()
    elif "down" in args:
        for c in cs:
            c["stopped"] = True  # the algo container goes with the training
    save(cs)


cmd, rest = sys.argv[1], sys.argv[2:]
with open(D / "calls.log", "a") as fh:
    fh.write(" ".join(sys.argv[1:]) + "\n")
{"ps": ps, "logs": logs, "compose": compose}[cmd](rest)
'''

ACTIVATE = r'''# deepracer-for-cloud's bin/activate.sh, reduced to what drtui calls; each dr-*
# function records its call (and the variables DRfC would use) in $DR_DIR/calls.log
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DR_DIR="$(dirname "$SCRIPT_DIR")"
export DR_CONFIG="$DR_DIR/run.env"

function dr-update-env {
  # DRfC's own reading loop (bin/activate.sh)
  for f in "$DR_DIR/system.env" "$DR_CONFIG"; do
    if [[ ! -f "$f" ]]; then echo "File $f does not exist."; return 1; fi
    LINES=$(grep -v '^#' "$f")
    for l in $LINES; do
      env_var=$(echo $l | cut -f1 -d\=)
      env_val=$(echo $l | cut -f2 -d\=)
      eval "export $env_var=$env_val"
    done
  done
}

function _record {
  local seen="DR_LOCAL_S3_MODEL_PREFIX=$DR_LOCAL_S3_MODEL_PREFIX"
  seen+=" DR_LOCAL_S3_PRETRAINED=$DR_LOCAL_S3_PRETRAINED"
  seen+=" DR_LOCAL_S3_PRETRAINED_PREFIX=$DR_LOCAL_S3_PRETRAINED_PREFIX"
  seen+=" DR_UPLOAD_S3_PREFIX=$DR_UPLOAD_S3_PREFIX"
  echo "$* | $seen" >> "$DR_DIR/calls.log"
}

function dr-upload-custom-files {
  _record dr-upload-custom-files "$@"
  local target="$DR_DIR/data/minio/$DR_LOCAL_S3_BUCKET/$DR_LOCAL_S3_CUSTOM_FILES_PREFIX"
  mkdir -p "$target" && cp "$DR_DIR"/custom_files/* "$target/"
}

function dr-start-training {
  dr-update-env
  _record dr-start-training "$@"
  if [[ -n "$FAKE_DRFC_START_FAILS" ]]; then  # start.sh's message when S3 lacks the files
    echo "Training aborted. Configuration files were not found."; return 1
  fi
  local bucket="$DR_DIR/data/minio/$DR_LOCAL_S3_BUCKET"
  for f in "$DR_LOCAL_S3_MODEL_METADATA_KEY" "$DR_LOCAL_S3_HYPERPARAMETERS_KEY" \
           "$DR_LOCAL_S3_REWARD_KEY"; do
    if [[ ! -f "$bucket/$f" ]]; then echo "ERROR: s3://$DR_LOCAL_S3_BUCKET/$f missing"; return 1; fi
  done
  docker compose -p "deepracer-$DR_RUN_ID" up -d
}

function dr-stop-training {
  _record dr-stop-training "$@"
  docker compose -p "deepracer-$DR_RUN_ID" down
}

function dr-upload-model {
  dr-update-env
  _record dr-upload-model "$@"
}

dr-update-env
echo "DRfC activated in $DR_DIR"
'''


def make_drfc(root: Path) -> tuple[Path, Path, Path]:
    """(DRfC folder, fake docker folder, bin folder to put first on PATH). root/home is the
    host user's HOME: its .bash_profile puts the fake docker first on a login shell's PATH
    (a login shell's /etc/profile resets PATH), as a DRfC user's profile sets theirs."""
    drfc, docker_dir, bin_dir = root / "deepracer-for-cloud", root / "docker", root / "bin"
    for d in (drfc / "bin", drfc / "custom_files", docker_dir, bin_dir, root / "home"):
        d.mkdir(parents=True, exist_ok=True)
    (root / "home" / ".bash_profile").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    (drfc / "bin" / "activate.sh").write_text(ACTIVATE)
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.replace("{python}", sys.executable, 1))
    docker.chmod(0o755)
    (docker_dir / "robomaker.log").write_bytes(b"".join(robomaker_lines(raw=True)))
    (docker_dir / "sagemaker.log").write_bytes((DATA / SAGEMAKER_LOG).read_bytes())
    return drfc, docker_dir, bin_dir


def robomaker_lines(raw: bool = False) -> list:
    data = b"".join((DATA / name).read_bytes() for name in ROBOMAKER_LOGS)
    return data.splitlines(keepends=True) if raw else data.decode().splitlines()


def sagemaker_lines() -> list[str]:
    return (DATA / SAGEMAKER_LOG).read_text().splitlines()


@dataclass
class FakeDocker:
    dir: Path

    def release(self, role: str, n: int) -> None:
        tmp = self.dir / f".release-{role}.tmp"
        tmp.write_text(str(n))
        os.replace(tmp, self.dir / f"release-{role}")

    def reset(self) -> None:
        """Before another training: nothing released, SageMaker not yet started."""
        for role in ("robomaker", "sagemaker"):
            self.release(role, 0)
            (self.dir / f"show-{role}").unlink(missing_ok=True)

    def show(self, role: str) -> None:
        (self.dir / f"show-{role}").touch()

    def containers(self) -> list[dict]:
        try:
            return json.loads((self.dir / "containers.json").read_text())
        except FileNotFoundError:
            return []


# -- the SSH server ----------------------------------------------------------------------------
@dataclass
class DrfcPeer:
    """An sshd on 127.0.0.1 that can drop its connections or restart on the same port."""

    tmp: Path
    env: dict[str, str]
    port: int = 0
    client_key: Path | None = None
    known_hosts: Path | None = None
    _host_key: object = None
    _server: object = None
    _conns: list = field(default_factory=list)

    async def start(self) -> DrfcPeer:
        if self._host_key is None:
            self._host_key = asyncssh.generate_private_key("ssh-ed25519")
            client = asyncssh.generate_private_key("ssh-ed25519")
            self.client_key = self.tmp / "client_key"
            self.client_key.write_bytes(client.export_private_key())
            self.client_key.chmod(0o600)
            (self.tmp / "authorized_keys").write_bytes(client.export_public_key())
        peer = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn):
                peer._conns.append(conn)

        self._server = await asyncssh.create_server(
            Server, "127.0.0.1", self.port, server_host_keys=[self._host_key],
            authorized_client_keys=str(self.tmp / "authorized_keys"),
            process_factory=self._run, sftp_factory=True, allow_scp=False)
        self.port = self._server.sockets[0].getsockname()[1]
        self.known_hosts = self.tmp / "known_hosts"
        self.known_hosts.write_text(
            f"[127.0.0.1]:{self.port} {self._host_key.export_public_key().decode().strip()}\n")
        return self

    async def _run(self, process: asyncssh.SSHServerProcess) -> None:
        local = await asyncio.create_subprocess_shell(
            process.command or "true", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self.env})
        out, err = await local.communicate()
        try:
            process.stdout.write(out.decode(errors="replace"))
            process.stderr.write(err.decode(errors="replace"))
            process.exit(local.returncode)
        except (asyncssh.Error, OSError):
            pass  # the connection was cut while the command ran

    def cut(self) -> int:
        """Drop every open connection, as a network failure would; returns how many."""
        conns, self._conns = self._conns, []
        for conn in conns:
            conn.abort()
        return len(conns)

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def restart(self, down_for: float = 0.3) -> None:
        """sshd goes away (connections dropped, port closed) and comes back on the same port."""
        await self.stop()
        await asyncio.sleep(down_for)
        await self.start()
