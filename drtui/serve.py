"""Serve the drtui TUI over SSH: `drtui serve-ssh`.

Each SSH connection that authenticates with a key from the authorized_keys file and asks
for a terminal gets its own `drtui` process in a fresh pseudo-terminal. Sessions are
independent (two clients, two processes) and every child runs as the user that runs this
server, in its environment. Passwords, keyboard-interactive, certificates, exec requests,
subsystems (sftp), port/agent/X11 forwarding are all refused.

    drtui serve-ssh --port 2222 --host-key ssh_host_ed25519_key \\
        --authorized-keys ~/.ssh/authorized_keys --workspace ~/deepracer
    ssh -t -p 2222 localhost

Make a host key once with `ssh-keygen -t ed25519 -N '' -f ssh_host_ed25519_key`. The
server listens on 127.0.0.1 unless --host says otherwise.

Alternative without this server: let OpenSSH do it. Create a user for drtui and add to
/etc/ssh/sshd_config::

    Match User deepracer
        ForceCommand /path/to/venv/bin/drtui --workspace /srv/deepracer
        PermitTTY yes
        AllowTcpForwarding no
        AllowAgentForwarding no
        X11Forwarding no

sshd then allocates the PTY, forwards resizes and hangs the app up on disconnect itself.

asyncssh is imported only here, so the rest of drtui does not need it.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import fcntl
import logging
import os
import signal
import struct
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path

from drtui.asyncssh_quiet import load as _load_asyncssh

asyncssh = _load_asyncssh()

log = logging.getLogger("drtui.serve")

GRACE_S = 3.0  # between SIGHUP and SIGKILL when a client goes away
_READ_SIZE = 65536
_INPUT_HIGH_WATER = 1 << 16  # pause reading the channel when this much input is queued
# The server's own terminal must not leak into the children: LINES/COLUMNS would even
# override the PTY size (shutil.get_terminal_size reads them first).
_DROP_ENV = {"TERM", "COLORTERM", "LINES", "COLUMNS", "TERM_PROGRAM", "TERM_PROGRAM_VERSION",
             "TMUX", "STY", "WINDOWID", "VTE_VERSION", "SSH_AUTH_SOCK", "SSH_CONNECTION",
             "SSH_CLIENT", "SSH_TTY"}
NO_PTY_MESSAGE = "drtui is a full-screen app and needs a terminal: connect with `ssh -t`.\r\n"
NO_EXEC_MESSAGE = "drtui runs no commands over SSH: connect with `ssh -t` and no command.\r\n"


@dataclass
class Children:
    """The drtui processes of one server: `live` maps pid to user; `spawned` keeps all."""

    live: dict[int, str] = field(default_factory=dict)
    spawned: list[int] = field(default_factory=list)


def tui_command(workspace: str | os.PathLike | None) -> list[str]:
    cmd = [sys.executable, "-m", "drtui"]
    if workspace is not None:
        cmd += ["--workspace", os.path.abspath(os.path.expanduser(workspace))]
    return cmd


def _client_env(client: dict[str, str], term: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env["TERM"] = term
    # Only what describes the client's terminal and locale; never anything else it sends.
    env.update({k: v for k, v in client.items()
                if k == "COLORTERM" or k == "LANG" or k.startswith("LC_")})
    return env


def _set_winsize(fd: int, cols: int, rows: int, xpix: int = 0, ypix: int = 0) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpix, ypix))


def _take_controlling_tty() -> None:
    # Runs in the child after setsid() (start_new_session): make the PTY (fd 0) its
    # controlling terminal, so /dev/tty, job control and kernel SIGWINCH/SIGHUP work.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class _Server(asyncssh.SSHServer):
    """One per connection: public-key auth against the authorized_keys file."""

    def __init__(self, authorized_keys: Path, command: list[str], children: Children,
                 conns: set[asyncssh.SSHServerConnection]) -> None:
        self._authorized_keys_path = authorized_keys
        self._command = command
        self._children = children
        self._conns = conns
        self._keys: asyncssh.SSHAuthorizedKeys | None = None
        self._peer_host = self._peer = "?"
        self._fingerprint = ""
        self.user = ""
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self._conns.add(conn)
        self._peer_host, port = conn.get_extra_info("peername")[:2]
        self._peer = f"[{self._peer_host}]:{port}"

    def connection_lost(self, exc: Exception | None) -> None:
        self._conns.discard(self.conn)
        if self.user:
            log.info("disconnected: user %s from %s", self.user, self._peer)

    def begin_auth(self, username: str) -> bool:
        # Re-read per connection (as sshd does) so edits apply without a restart.
        try:
            self._keys = asyncssh.read_authorized_keys(str(self._authorized_keys_path))
        except (OSError, ValueError) as exc:
            log.error("cannot read %s: %s", self._authorized_keys_path, exc)
            self._keys = None
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # validate() also applies the file's from="..." restrictions.
        ok = (self._keys is not None and
              self._keys.validate(key, self._peer_host, self._peer_host) is not None)
        if ok:  # the key that finally signs is the last one accepted here
            self._fingerprint = key.get_fingerprint()
        return ok

    def auth_completed(self) -> None:
        assert self.conn is not None
        self.user = self.conn.get_extra_info("username")
        log.info("connected: user %s key %s from %s", self.user, self._fingerprint, self._peer)

    def session_requested(self) -> _TuiSession:
        return _TuiSession(self, self._command, self._children)


class _TuiSession(asyncssh.SSHServerSession):
    """One SSH session channel <-> one child process on a PTY."""

    def __init__(self, server: _Server, command: list[str], children: Children) -> None:
        self._server = server
        self._command = command
        self._children = children
        self._loop = asyncio.get_running_loop()
        self._chan: asyncssh.SSHServerChannel | None = None
        self._term: str | None = None
        self._size = (80, 24, 0, 0)
        self._exec = False
        self._master = -1
        self._proc: asyncio.subprocess.Process | None = None
        self._pending = bytearray()  # client input the PTY has not taken yet
        self._output_done = asyncio.Event()
        self._task: asyncio.Task | None = None  # _run(), referenced so it is not collected
        self._gone = False  # the client disconnected

    # --- SSH requests -----------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: dict) -> bool:
        self._term = term_type or "xterm-256color"
        if term_size[0] and term_size[1]:
            self._size = term_size
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._exec = True  # accepted only to say why it will not run
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # sftp and friends: a plain refusal is the protocol's polite answer

    def session_started(self) -> None:
        assert self._chan is not None
        if self._exec or self._term is None:
            message = NO_EXEC_MESSAGE if self._exec else NO_PTY_MESSAGE
            self._chan.write_stderr(message.encode())
            self._chan.exit(1)
            return
        self._task = self._loop.create_task(self._run())

    # --- the child --------------------------------------------------------------------

    async def _run(self) -> None:
        chan = self._chan
        assert chan is not None and self._term is not None
        master, slave = os.openpty()
        try:
            _set_winsize(master, *self._size)
            self._proc = await asyncio.create_subprocess_exec(
                *self._command, stdin=slave, stdout=slave, stderr=slave,
                env=_client_env(dict(chan.get_environment()), self._term),
                start_new_session=True, preexec_fn=_take_controlling_tty)
        except Exception as exc:
            os.close(master)
            log.error("cannot start %s: %s", self._command[0], exc)
            chan.write_stderr(f"drtui could not start: {exc}\r\n".encode())
            chan.exit(1)
            return
        finally:
            os.close(slave)  # the child holds it now; EOF on master follows its exit
        pid = self._proc.pid
        self._children.live[pid] = self._server.user
        self._children.spawned.append(pid)
        log.info("started pid %d for user %s (%s, %dx%d)", pid, self._server.user,
                 self._term, self._size[0], self._size[1])
        self._master = master
        os.set_blocking(master, False)
        self._loop.add_reader(master, self._read_master)
        self._flush_input()
        if self._gone:  # the client left while the child was starting
            self._loop.create_task(_hang_up(self._proc))
        try:
            code = await self._proc.wait()
            # Let the last frame out; a grandchild holding the PTY must not keep us here.
            try:
                await asyncio.wait_for(self._output_done.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        finally:
            self._children.live.pop(pid, None)
            self._close_master()
        # Killed by a signal: report it the SSH way, by name without "SIG".
        sig = signal.Signals(-code).name[3:] if code < 0 else None
        log.info("pid %d exited with %s", pid, f"signal {sig}" if sig else code)
        if not self._gone and not chan.is_closing():
            chan.exit_with_signal(sig) if sig else chan.exit(code)

    def _read_master(self) -> None:
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: every slave fd is closed, i.e. the child is gone
            if exc.errno != errno.EIO:
                log.warning("pty read: %s", exc)
            data = b""
        if not data:
            self._loop.remove_reader(self._master)
            self._output_done.set()
            return
        assert self._chan is not None
        if not self._chan.is_closing():
            self._chan.write(data)

    def _flush_input(self) -> None:
        if self._master < 0 or not self._pending:
            return  # typed ahead while the child starts: flushed once it runs
        self._write_master()
        if self._pending:  # the PTY is full: finish when it drains, stop reading meanwhile
            self._loop.add_writer(self._master, self._write_master)
            if len(self._pending) >= _INPUT_HIGH_WATER and self._chan is not None:
                self._chan.pause_reading()

    def _write_master(self) -> None:
        try:
            n = os.write(self._master, self._pending)
        except BlockingIOError:
            n = 0
        except OSError:
            self._pending.clear()
            n = 0
        del self._pending[:n]
        if not self._pending:
            self._loop.remove_writer(self._master)
        if len(self._pending) < _INPUT_HIGH_WATER and self._chan is not None:
            self._chan.resume_reading()

    def _close_master(self) -> None:
        if self._master >= 0:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
            os.close(self._master)
            self._master = -1

    # --- traffic from the client ------------------------------------------------------

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self._pending += data
        self._flush_input()

    def eof_received(self) -> bool:
        return True  # a terminal session ends when the client disconnects, not on EOF

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        self._size = (width, height, pixwidth, pixheight)
        if self._master >= 0 and self._proc is not None and self._proc.returncode is None:
            _set_winsize(self._master, width, height, pixwidth, pixheight)
            # The kernel signals the PTY's foreground group; the child itself gets one too
            # in case it has not made the PTY its foreground yet.
            _signal_group(self._proc.pid, signal.SIGWINCH, group=False)

    # Back-pressure: stop reading the PTY while the SSH channel's send buffer is full.
    def pause_writing(self) -> None:
        if self._master >= 0:
            self._loop.remove_reader(self._master)

    def resume_writing(self) -> None:
        if self._master >= 0 and not self._output_done.is_set():
            self._loop.add_reader(self._master, self._read_master)

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._loop.create_task(_hang_up(proc))


def _signal_group(pid: int, sig: int, group: bool = True) -> None:
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    except ProcessLookupError:
        pass


async def _hang_up(proc: asyncio.subprocess.Process) -> None:
    """SIGHUP the child's process group as a terminal hang-up would; SIGKILL if it lingers."""
    grace = GRACE_S
    _signal_group(proc.pid, signal.SIGHUP)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except asyncio.TimeoutError:
        log.warning("pid %d ignored SIGHUP for %.0f s: killing it", proc.pid, grace)
        _signal_group(proc.pid, signal.SIGKILL)
        await proc.wait()


async def serve(port: int, host_key: str | os.PathLike, authorized_keys: str | os.PathLike,
                host: str = "127.0.0.1", workspace: str | os.PathLike | None = None, *,
                command: list[str] | None = None) -> asyncssh.SSHAcceptor:
    """Start the SSH server and return its acceptor (close() + wait_closed() to stop it).

    `acceptor.children` is the `Children` record of the drtui processes and
    `acceptor.connections` the open SSH connections. `command` replaces
    `python -m drtui --workspace DIR` (for tests).
    """
    authorized_keys = Path(authorized_keys)
    asyncssh.read_authorized_keys(str(authorized_keys))  # fail now, not at the first login
    children = Children()
    conns: set[asyncssh.SSHServerConnection] = set()
    cmd = command or tui_command(workspace)
    acceptor = await asyncssh.create_server(
        lambda: _Server(authorized_keys, cmd, children, conns), host, port,
        server_host_keys=[str(host_key)],
        password_auth=False, kbdint_auth=False, gss_host=None,
        # TCP/unix forwarding stays off too: SSHServer refuses those requests by default.
        agent_forwarding=False, x11_forwarding=False,
        line_editor=False,  # raw bytes both ways: the app does its own input handling
        encoding=None,
    )
    acceptor.children = children
    acceptor.connections = conns
    return acceptor


async def _serve_forever(args: argparse.Namespace) -> None:
    acceptor = await serve(args.port, args.host_key, args.authorized_keys, args.host,
                           getattr(args, "workspace", None))
    port = acceptor.get_port()
    log.info("drtui SSH server on %s port %d (Ctrl-C stops it)", args.host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)  # systemd and friends stop with TERM
    try:
        await stop.wait()
    finally:
        acceptor.close()  # stops listening; open connections stay until closed here
        for conn in list(acceptor.connections):
            conn.close()  # each session then hangs its child up, as on a client disconnect
        deadline = loop.time() + GRACE_S + 1
        while acceptor.children.live and loop.time() < deadline:
            await asyncio.sleep(0.1)
        await acceptor.wait_closed()


def main(args: argparse.Namespace) -> int:
    """Run `drtui serve-ssh` until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # it logs every packet type
    for name in ("host_key", "authorized_keys"):
        if not Path(getattr(args, name)).is_file():
            log.error("--%s: no such file: %s", name.replace("_", "-"), getattr(args, name))
            return 2
    try:
        asyncio.run(_serve_forever(args))
    except KeyboardInterrupt:
        pass
    except (OSError, asyncssh.Error, ValueError) as exc:
        log.error("%s", exc)
        return 1
    return 0
