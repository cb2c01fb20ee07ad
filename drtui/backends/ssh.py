"""Any machine reachable over SSH as a Host (asyncssh, imported only here).

- The host key is checked against known_hosts; an unknown host is refused unless the user
  said to trust it (`accept_new`), and then its key is added to known_hosts. A host whose
  key differs from the recorded one is always refused (OpenSSH's `accept-new`).
- One connection per host object, never shared between runs; a dropped connection is
  reopened with exponential backoff by `ensure()` before the next operation, and an
  operation cut by a drop is tried once more (never a detached start: it may have run).
  When the host stays unreachable, SshUnreachable (a HostUnreachable) says so.
- Detached commands run under `setsid nohup` with output appended to a log file on the host,
  so training survives drtui and the connection; the log is read back by byte offset over
  SFTP, which is how a reconnect resumes with no line lost or repeated.
"""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from drtui.backends.base import Chunk, CommandResult, Host, HostUnreachable, chunk_from, read_span
from drtui.errors import DrtuiError


class SshError(DrtuiError):
    pass


class SshUnreachable(SshError, HostUnreachable):
    """The connection failed or dropped and could not be reopened (yet)."""


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    accept_new: bool = False  # trust and record an unknown host key (asked of the user)


def _quote(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


class SshHost(Host):
    def __init__(self, target: SshTarget, *, retries: int = 5, backoff: float = 0.5,
                 connect_timeout: float = 15.0):
        self.target = target
        self.name = f"ssh://{target.user + '@' if target.user else ''}{target.host}:{target.port}"
        self.retries, self.backoff, self.connect_timeout = retries, backoff, connect_timeout
        self._conn = None
        self._sftp = None

    # -- connection ----------------------------------------------------------------------
    async def _connect(self):
        from drtui.asyncssh_quiet import load
        asyncssh = load()

        t = self.target
        known = Path(t.known_hosts).expanduser()
        options: dict = dict(host=t.host, port=t.port, connect_timeout=self.connect_timeout)
        if t.user:  # unset: asyncssh's default (ssh config, else the local user), never None
            options["username"] = t.user
        if t.identity_file:
            key = Path(t.identity_file).expanduser()
            if not key.is_file():  # the user's to fix: not worth retrying as if unreachable
                raise SshError(f"{t.host}: identity_file {key}: no such key file")
            options["client_keys"] = [str(key)]
        trust_new = t.accept_new and not self._known_entry(known)
        if trust_new:
            options["known_hosts"] = None  # no entry for this host: accepted, then recorded
        else:
            options["known_hosts"] = str(known) if known.exists() else ()
        try:
            conn = await asyncssh.connect(**options)
        except asyncssh.HostKeyNotVerifiable as exc:
            if self._known_entry(known):
                raise SshError(f"{t.host}: the host key differs from the one recorded in "
                               f"{known}: refused (if the host was really reinstalled, "
                               "remove its line there)") from exc
            raise SshError(f"{t.host}: host key not in {known}; connect once with "
                           "`accept new host key` to trust it") from exc
        except asyncssh.PermissionDenied as exc:
            raise SshError(f"{t.host}: permission denied for user {t.user or '(default)'}: "
                           "check the key or your ssh agent") from exc
        if trust_new:
            self._record_host_key(conn, known)
        return conn

    def _known_entry(self, known: Path) -> bool:
        """Whether known_hosts holds any key for this host (and port)."""
        from drtui.asyncssh_quiet import load
        asyncssh = load()

        if not known.exists():
            return False
        try:
            entries = asyncssh.read_known_hosts(str(known))
        except (OSError, ValueError):
            return True  # unreadable: never treat the host as new
        port = self.target.port if self.target.port != 22 else None
        keys, ca_keys, *_ = entries.match(self.target.host, "", port)
        return bool(keys or ca_keys)

    def _record_host_key(self, conn, known: Path) -> None:
        key = conn.get_server_host_key()
        if key is None:
            return
        entry = (f"[{self.target.host}]:{self.target.port}" if self.target.port != 22
                 else self.target.host)
        line = f"{entry} {key.export_public_key().decode().strip()}\n"
        known.parent.mkdir(parents=True, exist_ok=True)
        existing = known.read_text() if known.exists() else ""
        if line not in existing:
            with open(known, "a") as fh:
                fh.write(line)

    async def ensure(self):
        """The open connection, reconnecting with exponential backoff if it dropped."""
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        from drtui.backends.retry import Backoff, retry

        self._conn, self._sftp = None, None
        try:  # a refused key or host (SshError): retrying will not help
            self._conn = await retry(self._connect, Backoff(self.backoff, 30.0),
                                     retry_if=lambda exc: not isinstance(exc, SshError),
                                     attempts=max(1, self.retries))
        except SshError:
            raise
        except Exception as exc:  # noqa: BLE001 - OSError, a timeout, asyncssh's own
            raise SshUnreachable(f"{self.target.host}: cannot connect after {self.retries} "
                                 f"tries: {exc}") from None
        return self._conn

    async def _sftp_client(self):
        conn = await self.ensure()
        if self._sftp is None:
            self._sftp = await conn.start_sftp_client()
        return self._sftp

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
        self._conn, self._sftp = None, None

    async def _retrying(self, op, *, retry: bool = True):
        """Run op(conn) once more on a fresh connection if the connection dropped under it
        (retry=False: never twice, the first try may have run; the drop is raised)."""
        from drtui.asyncssh_quiet import load
        asyncssh = load()

        for attempt in (1, 2):
            conn = await self.ensure()
            try:
                return await op(conn)
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.ChannelOpenError,
                    OSError) as exc:
                if isinstance(exc, TimeoutError):
                    raise  # the command was slow, the connection is fine
                self._conn, self._sftp = None, None
                if attempt == 2 or not retry:
                    raise SshUnreachable(f"{self.target.host}: connection lost: "
                                         f"{exc}") from exc

    # -- Host ------------------------------------------------------------------------------
    async def run(self, argv: Sequence[str], *, cwd: str | None = None,
                  env: dict[str, str] | None = None, timeout: float | None = None
                  ) -> CommandResult:
        return await self._run(self._command(argv, cwd, env), timeout=timeout)

    async def _run(self, command: str, *, timeout: float | None = None,
                   retry: bool = True) -> CommandResult:
        async def op(conn):
            from drtui.asyncssh_quiet import load
            asyncssh = load()

            result = await conn.run(command, check=False, timeout=timeout)
            if result.exit_status is None and result.exit_signal is None:
                # the channel closed with no exit status: the connection dropped under the
                # command; its answer is unknown, not "failed" (a liveness check must not read
                # a cut connection as a dead trainer)
                raise asyncssh.ConnectionLost("the channel closed without an exit status")
            return CommandResult(result.exit_status if result.exit_status is not None else -1,
                                 str(result.stdout or ""), str(result.stderr or ""))
        return await self._retrying(op, retry=retry)

    async def stream(self, argv: Sequence[str], *, cwd: str | None = None,
                     env: dict[str, str] | None = None) -> AsyncIterator[str]:
        from drtui.asyncssh_quiet import load
        asyncssh = load()

        conn = await self.ensure()
        async with conn.create_process(self._command(argv, cwd, env),
                                       stderr=asyncssh.STDOUT) as proc:
            async for line in proc.stdout:
                if line:  # asyncssh ends the stream with an empty read
                    yield line.rstrip("\r\n")

    async def start_detached(self, argv: Sequence[str], *, log_path: str,
                             cwd: str | None = None, env: dict[str, str] | None = None) -> int:
        log = shlex.quote(log_path)
        inner = self._command(argv, cwd, env)
        script = (f"mkdir -p $(dirname {log}) && "
                  f"setsid nohup sh -c {shlex.quote(inner)} >> {log} 2>&1 < /dev/null & echo $!")
        # never retried: a start cut by a drop may have run, and a second one would train twice
        result = await self._run(_quote(["sh", "-c", script]), retry=False)
        try:
            return int(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SshError(f"{self.target.host}: could not start {argv[0]}: "
                           f"{result.stderr.strip() or result.stdout.strip()}") from None

    async def is_running(self, pid: int) -> bool:
        # kill -0 succeeds for zombies too: ask ps for the state
        result = await self.run(["sh", "-c", f"ps -o stat= -p {int(pid)}"])
        state = result.stdout.strip()
        return result.returncode == 0 and bool(state) and not state.startswith("Z")

    async def signal(self, pid: int, sig: int) -> None:
        await self.run(["kill", f"-{int(sig)}", str(int(pid))])

    async def read_from(self, path: str, offset: int, limit: int = 1 << 20) -> Chunk:
        from drtui.asyncssh_quiet import load
        asyncssh = load()

        start, size = read_span(offset, limit)

        async def op(conn):
            sftp = await self._sftp_client()
            try:
                async with sftp.open(path, "rb") as fh:
                    await fh.seek(start)
                    data = await fh.read(size)
            except asyncssh.SFTPNoSuchFile:
                return Chunk([], offset)
            return chunk_from(data, offset, limit)
        return await self._retrying(op)

    async def put(self, local: Path, remote: str) -> None:
        sftp = await self._sftp_client()
        parent = str(Path(remote).parent)
        await self.run(["mkdir", "-p", parent])
        await sftp.put(str(local), remote)

    async def get(self, remote: str, local: Path) -> None:
        Path(local).parent.mkdir(parents=True, exist_ok=True)

        async def op(conn):
            sftp = await self._sftp_client()
            await sftp.get(remote, str(local))
        await self._retrying(op)

    @staticmethod
    def _command(argv: Sequence[str], cwd: str | None, env: dict[str, str] | None) -> str:
        parts = []
        if cwd:
            parts.append(f"cd {shlex.quote(cwd)} &&")
        if env:
            parts.append("env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
        parts.append(_quote(argv))
        return " ".join(parts)
