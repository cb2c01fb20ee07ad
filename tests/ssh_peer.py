"""A real SSH peer for tests: an asyncssh server on 127.0.0.1 that runs each command as a
local subprocess (so `sh`, `ps`, `kill` behave for real) and serves SFTP on the real
filesystem. Public-key auth only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncssh


async def _run_command(process: asyncssh.SSHServerProcess) -> None:
    local = await asyncio.create_subprocess_shell(
        process.command or "true", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=process.env or None)

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

    def close(self) -> None:
        self.server.close()


async def start_peer(tmp: Path) -> Peer:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp / "client_key").write_bytes(client_key.export_private_key())
    (tmp / "client_key").chmod(0o600)
    (tmp / "authorized_keys").write_bytes(client_key.export_public_key())
    server = await asyncssh.create_server(
        None, "127.0.0.1", 0, server_host_keys=[host_key],
        authorized_client_keys=str(tmp / "authorized_keys"), process_factory=_run_command,
        sftp_factory=True, allow_scp=False)
    port = server.sockets[0].getsockname()[1]
    known = tmp / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
    return Peer(server, port, tmp / "client_key", known)
