# Over 450 lines: one security boundary: the SSH server's key checks, its refusals and the sandboxed
# launch, reviewed as one file.
"""Serve the drtui TUI over SSH: `drtui serve-ssh`, safe to offer to people you do not trust.

Each SSH connection that authenticates with a key from the authorized_keys file and asks for
a terminal gets its own `drtui` process in a fresh pseudo-terminal, inside a bubblewrap sandbox
(drtui/sandbox.py) that sees only that key's workspace, with an environment built from scratch.
One workspace per name: a key's authorized_keys comment when it is a plain name (so several
keys of one person share one), else `key-<fingerprint>`, under the --workspace folder. The
server checks the sandbox before it listens and refuses to start without one unless given
--unsafe-no-sandbox. Passwords, keyboard-interactive, certificates, exec requests, subsystems
(sftp), port/agent/X11 forwarding are all refused.

authorized_keys options are honoured: `from=` limits where a key may connect from; a key with
`command=`, `no-pty` or `restrict` (without `pty`) is refused with a message saying so, since
drtui runs no commands and needs a terminal; an option drtui cannot honour refuses the key.
Limits (Limits): sessions per key and in total, open connections, terminal size, idle time.

    drtui serve-ssh --port 2222 --host-key ssh_host_ed25519_key \\
        --authorized-keys ~/.ssh/authorized_keys --workspace /srv/deepracer
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

sshd then allocates the PTY, forwards resizes and hangs the app up on disconnect itself (but
every user of that account shares one workspace and the account's files).

asyncssh is imported only here, so the rest of drtui does not need it.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import signal
import struct
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path

from drtui.asyncssh_quiet import load as _load_asyncssh
from drtui.sandbox import bwrap_command, sandbox_problem, served_env

asyncssh = _load_asyncssh()

log = logging.getLogger("drtui.serve")

GRACE_S = 3.0  # between SIGHUP and SIGKILL when a client goes away
_READ_SIZE = 65536
_INPUT_HIGH_WATER = 1 << 16  # pause reading the channel when this much input is queued
NO_PTY_MESSAGE = "drtui is a full-screen app and needs a terminal: connect with `ssh -t`.\r\n"
NO_EXEC_MESSAGE = "drtui runs no commands over SSH: connect with `ssh -t` and no command.\r\n"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_KEY_AND_COMMENT = re.compile(r"(?:^|\s)(?:ssh|ecdsa|sk)-\S+\s+[A-Za-z0-9+/=]+(?:\s+(.*))?$")
# Options that restrict nothing drtui allows, or allow what it never does (it forwards
# nothing and passes no environment): accepted. Everything else refuses the key.
_HARMLESS_OPTIONS = {"from", "restrict", "pty", "no-port-forwarding", "no-agent-forwarding",
                     "no-X11-forwarding", "no-user-rc", "port-forwarding", "agent-forwarding",
                     "X11-forwarding", "user-rc", "environment", "permitopen", "permitlisten",
                     "no-touch-required"}


@dataclass
class Limits:
    """What one server allows; a session past a cap is refused with a message."""

    sessions: int = 16  # drtui processes at once, all keys together
    sessions_per_key: int = 2
    connections: int = 64  # SSH connections at once, logged in or not
    cols: int = 500  # a bigger terminal is used at this size (each cell costs memory and CPU)
    rows: int = 200
    idle_s: float = 3600.0  # no keystroke for this long: hung up (0: never)
    login_s: float = 30.0  # to finish authentication


@dataclass
class Children:
    """The drtui processes of one server: `live` maps pid to user; `spawned` keeps all;
    `sessions` maps each open session to its key's fingerprint (for the caps)."""

    live: dict[int, str] = field(default_factory=dict)
    spawned: list[int] = field(default_factory=list)
    sessions: dict[object, str] = field(default_factory=dict)


@dataclass
class KeyEntry:
    """The authorized_keys line a key matched: its options and the workspace name it gets."""

    line: int
    options: dict
    name: str


def tui_command(workspace: str | os.PathLike) -> list[str]:
    return [sys.executable, "-m", "drtui", "--workspace",
            os.path.abspath(os.path.expanduser(workspace))]


def workspace_name(comment: str | None, key) -> str:
    """The key's comment when it is a plain name (letters, digits, . _ @ -), else one made
    from the key's fingerprint: never a path, never two keys' names by accident."""
    comment = (comment or "").strip()
    if _NAME.fullmatch(comment) and comment not in {".", ".."}:
        return comment
    digest = hashlib.sha256(key.public_data).hexdigest()[:16]
    return f"key-{digest}"


def match_key(path: Path, key, peer: str) -> KeyEntry | None:
    """The first line of the authorized_keys file that admits `key` from `peer` (its from=
    applied), as sshd reads it; None when no line does. Lines that do not parse are logged."""
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = asyncssh.import_authorized_keys(line)
        except (ValueError, asyncssh.KeyImportError) as exc:
            log.warning("%s line %d ignored: %s", path, number, exc)
            continue
        options = entry.validate(key, peer, peer)
        if options is not None:
            found = _KEY_AND_COMMENT.search(line)
            return KeyEntry(number, dict(options), workspace_name(
                found.group(1) if found else None, key))
    return None


def key_refusal(options: dict) -> str | None:
    """Why drtui will not serve a key with these authorized_keys options; None if it will."""
    if "command" in options:
        return (f"this key may only run {options['command']!r} (command= in authorized_keys), "
                "and drtui serve-ssh runs no commands: the key is refused")
    if "no-pty" in options or ("restrict" in options and "pty" not in options):
        which = "no-pty" if "no-pty" in options else "restrict without pty"
        return (f"this key may not open a terminal ({which} in authorized_keys), and drtui "
                "needs one: the key is refused")
    unknown = sorted(set(options) - _HARMLESS_OPTIONS)
    if unknown:
        return (f"authorized_keys option {', '.join(unknown)} is not one drtui serve-ssh can "
                "honour: the key is refused")
    return None


def _clamp_size(size: tuple, limits: Limits) -> tuple[int, int, int, int]:
    cols, rows, xpix, ypix = (int(v) for v in size)
    return (max(1, min(cols, limits.cols)), max(1, min(rows, limits.rows)),
            max(0, min(xpix, 65535)), max(0, min(ypix, 65535)))


def _set_winsize(fd: int, cols: int, rows: int, xpix: int = 0, ypix: int = 0) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpix, ypix))


def _take_controlling_tty() -> None:
    # Runs in the child after setsid() (start_new_session): make the PTY (fd 0) its
    # controlling terminal, so /dev/tty, job control and kernel SIGWINCH/SIGHUP work.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class Config:
    """One server's settings, shared by its connections."""

    authorized_keys: Path
    workspace_root: Path
    limits: Limits
    sandbox: bool = True
    network: bool = False
    command: list[str] | None = None  # replaces `python -m drtui --workspace DIR` (tests)
    bwrap: str = "bwrap"


class _Server(asyncssh.SSHServer):
    """One per connection: public-key auth against the authorized_keys file."""

    def __init__(self, config: Config, children: Children,
                 conns: set[asyncssh.SSHServerConnection]) -> None:
        self.config = config
        self._children = children
        self._conns = conns
        self._peer_host = self._peer = "?"
        self.fingerprint = ""
        self.entry: KeyEntry | None = None  # the authorized_keys line of the accepted key
        self.refusal: str | None = None  # why this key gets no session, from its options
        self.user = ""
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self._peer_host, port = conn.get_extra_info("peername")[:2]
        self._peer = f"[{self._peer_host}]:{port}"
        if len(self._conns) >= self.config.limits.connections:
            log.warning("refused %s: %d connections open, the limit", self._peer,
                        len(self._conns))
            conn.close()
            return
        self._conns.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._conns.discard(self.conn)
        if self.user:
            log.info("disconnected: user %s from %s", self.user, self._peer)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Re-read per attempt (as sshd does) so edits apply without a restart.
        try:
            entry = match_key(self.config.authorized_keys, key, self._peer_host)
        except OSError as exc:
            log.error("cannot read %s: %s", self.config.authorized_keys, exc)
            return False
        if entry is not None:  # the key that finally signs is the last one accepted here
            self.entry, self.fingerprint = entry, key.get_fingerprint()
            self.refusal = key_refusal(entry.options)
        return entry is not None

    def auth_completed(self) -> None:
        assert self.conn is not None and self.entry is not None
        self.user = self.conn.get_extra_info("username")
        log.info("connected: user %s key %s (workspace %s, authorized_keys line %d) from %s",
                 self.user, self.fingerprint, self.entry.name, self.entry.line, self._peer)
        if self.refusal:
            log.warning("refused key %s: %s", self.fingerprint, self.refusal)

    def workspace(self) -> Path:
        assert self.entry is not None
        path = self.config.workspace_root / self.entry.name
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def session_requested(self) -> _TuiSession:
        return _TuiSession(self, self._children)


class _TuiSession(asyncssh.SSHServerSession):
    """One SSH session channel <-> one child process on a PTY."""

    def __init__(self, server: _Server, children: Children) -> None:
        self._server = server
        self._limits = server.config.limits
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
        self._last_input = self._loop.time()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idled = False  # hung up for want of input
        self._notes: list[str] = []  # said on stderr before the app starts

    # --- SSH requests -----------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: dict) -> bool:
        # A terminal type is a terminfo name, nothing more (it reaches the app's environment).
        self._term = term_type if re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", term_type or "") \
            else "xterm-256color"
        if term_size[0] and term_size[1]:
            self._size = _clamp_size(term_size, self._limits)
            if self._size[:2] != tuple(term_size[:2]):
                self._notes.append(
                    f"terminal {term_size[0]}x{term_size[1]} -> {self._size[0]}x{self._size[1]}:"
                    f" the server's limit is {self._limits.cols}x{self._limits.rows}")
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._exec = True  # accepted only to say why it will not run
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # sftp and friends: a plain refusal is the protocol's polite answer

    def _refuse(self, message: str) -> None:
        assert self._chan is not None
        self._chan.write_stderr(f"drtui: {message}\r\n".encode())
        self._chan.exit(1)

    def session_started(self) -> None:
        assert self._chan is not None
        server = self._server
        if server.refusal:
            self._refuse(server.refusal)
            return
        if self._exec or self._term is None:
            self._chan.write_stderr((NO_EXEC_MESSAGE if self._exec else NO_PTY_MESSAGE).encode())
            self._chan.exit(1)
            return
        sessions = self._children.sessions
        mine = sum(1 for fp in sessions.values() if fp == server.fingerprint)
        if mine >= self._limits.sessions_per_key:
            log.warning("refused a session of key %s: %d open", server.fingerprint, mine)
            self._refuse(f"this key has {mine} sessions open, the server's limit: close one "
                         "first")
            return
        if len(sessions) >= self._limits.sessions:
            log.warning("refused a session of key %s: the server is full", server.fingerprint)
            self._refuse(f"the server has {len(sessions)} sessions open, its limit: try again "
                         "later")
            return
        sessions[self] = server.fingerprint
        for note in self._notes:
            self._chan.write_stderr(f"drtui: {note}\r\n".encode())
        self._task = self._loop.create_task(self._run())

    # --- the child --------------------------------------------------------------------

    def _command(self) -> tuple[list[str], dict[str, str]]:
        """The child's command line and its whole environment."""
        config, server = self._server.config, self._server
        workspace = server.workspace()
        inner = config.command or tui_command(workspace)
        env = served_env(workspace, server.entry.name, self._term,
                         dict(self._chan.get_environment()))
        if not config.sandbox:
            return inner, env
        return bwrap_command(inner, workspace, env, network=config.network,
                             bwrap=config.bwrap), {}

    async def _run(self) -> None:
        try:
            await self._run_child()
        finally:
            self._children.sessions.pop(self, None)
            if self._idle_timer is not None:
                self._idle_timer.cancel()

    async def _run_child(self) -> None:
        chan = self._chan
        assert chan is not None and self._term is not None
        master, slave = os.openpty()
        try:
            _set_winsize(master, *self._size)
            command, env = self._command()
            self._proc = await asyncio.create_subprocess_exec(
                *command, stdin=slave, stdout=slave, stderr=slave, env=env,
                start_new_session=True, preexec_fn=_take_controlling_tty)
        except Exception as exc:  # noqa: BLE001 - logged and told to the user; the session ends
            os.close(master)
            log.error("cannot start drtui for %s: %s", self._server.fingerprint, exc)
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
        self._arm_idle()
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
            if self._idled:
                chan.write_stderr(f"\r\ndrtui: no input for {self._limits.idle_s:g} s: "
                                  "disconnected (the server's idle limit)\r\n".encode())
            chan.exit_with_signal(sig) if sig else chan.exit(code)

    def _arm_idle(self) -> None:
        """Check for idleness a few times per limit; hang up once there was no input for it."""
        idle = self._limits.idle_s
        if not idle or self._proc is None or self._proc.returncode is not None:
            return
        left = self._last_input + idle - self._loop.time()
        if left <= 0:
            log.info("pid %d: no input for %g s, hanging up", self._proc.pid, idle)
            self._idled = True
            self._loop.create_task(_hang_up(self._proc))
            return
        self._idle_timer = self._loop.call_later(min(left, 30.0), self._arm_idle)

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
        self._last_input = self._loop.time()
        self._pending += data
        self._flush_input()

    def eof_received(self) -> bool:
        return True  # a terminal session ends when the client disconnects, not on EOF

    def terminal_size_changed(self, width: int, height: int, pixwidth: int,
                              pixheight: int) -> None:
        self._size = _clamp_size((width, height, pixwidth, pixheight), self._limits)
        if self._master >= 0 and self._proc is not None and self._proc.returncode is None:
            _set_winsize(self._master, *self._size)
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


class UnsafeToServe(Exception):
    """The sandbox does not hold here; the server does not start."""


async def serve(port: int, host_key: str | os.PathLike, authorized_keys: str | os.PathLike,
                host: str = "127.0.0.1", workspace: str | os.PathLike | None = None, *,
                command: list[str] | None = None, limits: Limits | None = None,
                sandbox: bool = True, network: bool = False) -> asyncssh.SSHAcceptor:
    """Start the SSH server and return its acceptor (close() + wait_closed() to stop it).

    Each key's drtui opens `workspace/<name>` (`workspace` default: the current folder).
    sandbox=False serves without bubblewrap (the operator's --unsafe-no-sandbox); otherwise
    the sandbox is checked first and UnsafeToServe raised when it does not hold. network=True
    lets served sessions reach the network. `acceptor.children` is the `Children` record of
    the drtui processes and `acceptor.connections` the open SSH connections. `command`
    replaces `python -m drtui --workspace DIR` (for tests).
    """
    authorized_keys = Path(authorized_keys)
    asyncssh.read_authorized_keys(str(authorized_keys))  # fail now, not at the first login
    root = Path(workspace or ".").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    if sandbox:
        problem = await asyncio.to_thread(sandbox_problem, root, [authorized_keys,
                                                                  Path(host_key)],
                                          network=network)
        if problem:
            raise UnsafeToServe(f"{problem}; refusing to serve")
    else:
        log.warning("serving WITHOUT a sandbox (--unsafe-no-sandbox): every key's reward code "
                    "can read and change whatever this account can")
    limits = limits or Limits()
    config = Config(authorized_keys, root, limits, sandbox, network, command,
                    shutil.which("bwrap") or "bwrap")
    children = Children()
    conns: set[asyncssh.SSHServerConnection] = set()
    acceptor = await asyncssh.create_server(
        lambda: _Server(config, children, conns), host, port,
        server_host_keys=[str(host_key)],
        password_auth=False, kbdint_auth=False, gss_host=None,
        # TCP/unix forwarding stays off too: SSHServer refuses those requests by default.
        agent_forwarding=False, x11_forwarding=False,
        line_editor=False,  # raw bytes both ways: the app does its own input handling
        encoding=None, login_timeout=limits.login_s,
    )
    acceptor.children = children
    acceptor.connections = conns
    return acceptor


async def _serve_forever(args: argparse.Namespace) -> None:
    limits = Limits()
    for name, attr in (("max_sessions", "sessions"), ("max_sessions_per_key", "sessions_per_key"),
                       ("idle_timeout", "idle_s")):
        if getattr(args, name, None) is not None:
            setattr(limits, attr, getattr(args, name))
    if getattr(args, "max_terminal", None):
        limits.cols, limits.rows = args.max_terminal
    acceptor = await serve(args.port, args.host_key, args.authorized_keys, args.host,
                           getattr(args, "workspace", None), limits=limits,
                           sandbox=not getattr(args, "unsafe_no_sandbox", False),
                           network=getattr(args, "allow_network", False))
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
    except (OSError, asyncssh.Error, ValueError, UnsafeToServe) as exc:
        log.error("%s", exc)
        return 1
    return 0
