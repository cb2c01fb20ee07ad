"""A real SSH peer for tests: an asyncssh server on 127.0.0.1 that runs each command as a
local subprocess (so `sh`, `ps`, `kill` behave for real) and serves SFTP on the real
filesystem. Public-key auth only.

For remote-run tests the peer can stand in for a real machine more closely: `env` gives the
commands a fixed environment (as sshd does) instead of the test process's, `drop()` cuts every
open connection from the server side, and `restart()` brings the server back on its port."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh


async def _run_command(process: asyncssh.SSHServerProcess, env: dict | None = None) -> None:
    local = await asyncio.create_subprocess_shell(
        process.command or "true", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**(env or {}), **process.env} if env is not None else (process.env or None))

    async def pump(src, dst):
        while chunk := await src.read(4096):
            dst.write(chunk.decode(errors="replace"))

    try:
        await asyncio.gather(pump(local.stdout, process.stdout), pump(local.stderr, process.stderr))
        process.exit(await local.wait())
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, BrokenPipeError):
        local.kill()
        process.exit(1)


@dataclass
class Peer:
    server: asyncssh.SSHAcceptor
    port: int
    client_key: Path
    known_hosts: Path
    host_key: asyncssh.SSHKey | None = None
    env: dict | None = None
    connections: list = field(default_factory=list)

    def close(self) -> None:
        self.server.close()
        self.drop()

    def drop(self) -> None:
        """Cut every open connection, as a network failure or a restarted sshd would."""
        for conn in self.connections:
            conn.abort()
        self.connections.clear()

    async def restart(self, host_key: asyncssh.SSHKey | None = None) -> None:
        """Stop listening, drop everyone, listen again on the same port (with another host
        key if given)."""
        self.close()
        await self.server.wait_closed()
        self.host_key = host_key or self.host_key
        self.server = await _listen(self, self.port)


async def _listen(peer: Peer, port: int) -> asyncssh.SSHAcceptor:
    authorized = str(peer.client_key.parent / "authorized_keys")

    async def process(proc):
        await _run_command(proc, peer.env)

    return await asyncssh.create_server(
        None, "127.0.0.1", port, server_host_keys=[peer.host_key],
        authorized_client_keys=authorized, process_factory=process,
        sftp_factory=True, allow_scp=False, acceptor=peer.connections.append)


async def start_peer(tmp: Path, *, env: dict | None = None) -> Peer:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp / "client_key").write_bytes(client_key.export_private_key())
    (tmp / "client_key").chmod(0o600)
    (tmp / "authorized_keys").write_bytes(client_key.export_public_key())
    peer = Peer(None, 0, tmp / "client_key", tmp / "known_hosts", host_key, env)  # type: ignore[arg-type]
    peer.server = await _listen(peer, 0)
    peer.port = peer.server.sockets[0].getsockname()[1]
    peer.known_hosts.write_text(
        f"[127.0.0.1]:{peer.port} {host_key.export_public_key().decode().strip()}\n")
    return peer
