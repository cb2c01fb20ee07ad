"""`drtui serve-ssh` end to end on loopback: keys, PTY, the real app, resize, hang-up."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time

import pytest

asyncssh = pytest.importorskip("asyncssh")

from drtui import serve as serve_mod  # noqa: E402

TERM_SIZE = (100, 30)
ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|.)")

# Stands in for drtui where the test is about the relay itself: it reports what a
# terminal app sees (TERM, COLORTERM, controlling tty, size on each SIGWINCH) and exits
# with the number typed.
PROBE = r"""
import os, signal, sys
def size(*_):
    c, r = os.get_terminal_size(0)
    print(f"size={c}x{r}", flush=True)
signal.signal(signal.SIGWINCH, size)
os.close(os.open("/dev/tty", os.O_RDWR))  # fails without a controlling terminal
print(f"TERM={os.environ['TERM']} COLORTERM={os.environ.get('COLORTERM')} pid={os.getpid()}",
      flush=True)
size()
sys.exit(int(sys.stdin.readline()))
"""


@pytest.fixture
def keys(tmp_path):
    host = asyncssh.generate_private_key("ssh-ed25519")
    client = asyncssh.generate_private_key("ssh-ed25519")
    host.write_private_key(tmp_path / "host_key")
    (tmp_path / "authorized_keys").write_bytes(client.export_public_key())
    return {"host": host, "client": client, "dir": tmp_path}


async def start(keys, **kw):
    acceptor = await serve_mod.serve(0, keys["dir"] / "host_key",
                                     keys["dir"] / "authorized_keys", "127.0.0.1", **kw)
    port = acceptor.sockets[0].getsockname()[1]
    known = keys["dir"] / "known_hosts"
    known.write_bytes(f"[127.0.0.1]:{port} ".encode() + keys["host"].export_public_key())
    return acceptor, port


def connect(keys, port, client_keys=None, **kw):
    return asyncio.wait_for(asyncssh.connect(
        "127.0.0.1", port, username="racer", known_hosts=str(keys["dir"] / "known_hosts"),
        client_keys=[keys["client"]] if client_keys is None else client_keys,
        agent_path=None, config=None, **kw), 10)


class Term:
    """What the client's terminal received, raw and with escapes stripped."""

    def __init__(self, proc):
        self.proc = proc
        self.raw = b""

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode(errors="replace")

    def seen(self, pattern: bytes | str, since: int = 0) -> bool:
        """`pattern` in the output from byte `since` on: bytes raw, str as screen text."""
        out = self.raw[since:]
        return pattern in out if isinstance(pattern, bytes) else pattern.encode() in ANSI.sub(
            b"", out)

    async def wait_for(self, pattern: bytes | str, timeout: float, since: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while not self.seen(pattern, since):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen in {timeout} s; screen text: "
                                     f"{self.text[-2000:]!r}")
            try:
                chunk = await asyncio.wait_for(self.proc.stdout.read(65536), left)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                raise AssertionError(f"channel closed before {pattern!r}: {self.text[-2000:]!r}")
            self.raw += chunk


async def gone(acceptor, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while acceptor.children.live and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not acceptor.children.live, f"children still running: {acceptor.children.live}"
    for pid in acceptor.children.spawned:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_real_app_over_ssh(keys, tmp_path):
    acceptor, port = await start(keys, workspace=tmp_path)
    try:
        async with await connect(keys, port) as conn:
            proc = await conn.create_process(term_type="xterm-256color", term_size=TERM_SIZE,
                                             encoding=None)
            term = Term(proc)
            await term.wait_for("Sessions", 30)  # the home screen
            assert "drtui" in term.text
            assert len(acceptor.children.live) == 1

            # Input reaches the app: F1 opens the help, whose border says "esc closes".
            assert not term.seen("esc closes")
            mark = len(term.raw)
            proc.stdin.write(b"\x1bOP")  # F1 as xterm sends it
            await term.wait_for("esc closes", 10, since=mark)

            # The app redraws for the new size: row 40 exists only at the new height.
            assert b"\x1b[40;" not in term.raw
            mark = len(term.raw)
            proc.change_terminal_size(120, 40)
            await term.wait_for(b"\x1b[40;", 10, since=mark)
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_relay_env_resize_and_exit_status(keys):
    acceptor, port = await start(keys, command=[sys.executable, "-c", PROBE])
    try:
        async with await connect(keys, port) as conn:
            procs = [await conn.create_process(term_type="xterm-256color", term_size=TERM_SIZE,
                                               env={"COLORTERM": "truecolor"}, encoding=None)
                     for _ in range(2)]
            terms = [Term(p) for p in procs]
            for term in terms:
                await term.wait_for("size=100x30", 10)
                assert "TERM=xterm-256color COLORTERM=truecolor" in term.text
            assert len(acceptor.children.live) == 2  # one process per session

            procs[0].change_terminal_size(120, 40)
            await terms[0].wait_for("size=120x40", 10)

            procs[0].stdin.write(b"7\r")
            await asyncio.wait_for(procs[0].wait_closed(), 10)
            assert procs[0].exit_status == 7
            assert len(acceptor.children.live) == 1
        await gone(acceptor)  # the second one was hung up by the disconnect
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_refusals(keys):
    acceptor, port = await start(keys, command=[sys.executable, "-c", PROBE])
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(keys, port, client_keys=[asyncssh.generate_private_key("ssh-ed25519")])
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(keys, port, client_keys=[], password="secret")

        async with await connect(keys, port) as conn:
            result = await asyncio.wait_for(conn.run(), 10)  # a shell without a PTY
            assert result.exit_status == 1
            assert "needs a terminal" in result.stderr
            result = await asyncio.wait_for(conn.run("ls /"), 10)
            assert result.exit_status == 1
            assert "runs no commands" in result.stderr
            with pytest.raises(asyncssh.ChannelOpenError):
                await asyncio.wait_for(conn.start_sftp_client(), 10)
            with pytest.raises(asyncssh.ChannelOpenError):
                await asyncio.wait_for(conn.open_connection("127.0.0.1", port), 10)
        assert acceptor.children.spawned == []
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_main_logs_connections_to_stderr(keys):
    d = keys["dir"]
    args = (f"port=0, host_key={str(d / 'host_key')!r}, "
            f"authorized_keys={str(d / 'authorized_keys')!r}, host='127.0.0.1'")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import argparse, sys; from drtui.serve import main; "
        f"sys.exit(main(argparse.Namespace({args})))", stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(server.stderr.readline(), 20)).decode()
        port = int(re.search(r"port (\d+)", line)[1])
        (d / "known_hosts").write_bytes(f"[127.0.0.1]:{port} ".encode()
                                        + keys["host"].export_public_key())
        async with await connect(keys, port) as conn:
            await asyncio.wait_for(conn.run(), 10)  # no PTY: refused, but logged
            proc = await conn.create_process(term_type="xterm-256color", term_size=TERM_SIZE,
                                             encoding=None)
            await Term(proc).wait_for("Sessions", 30)
            server.terminate()  # SIGTERM: a clean stop that hangs the session up
            await asyncio.wait_for(proc.wait_closed(), 10)
        assert await asyncio.wait_for(server.wait(), 10) == 0
        log = line + (await server.stderr.read()).decode()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    fingerprint = keys["client"].get_fingerprint()
    assert re.search(rf"connected: user racer key {re.escape(fingerprint)} from "
                     r"\[127\.0\.0\.1\]:\d+", log), log
    assert "PRIVATE KEY" not in log
    pid = int(re.search(r"started pid (\d+)", log)[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_typeahead_reaches_the_child(keys):
    acceptor, port = await start(keys, command=[sys.executable, "-c", PROBE])
    try:
        async with await connect(keys, port) as conn:
            proc = await conn.create_process(term_type="xterm", term_size=TERM_SIZE,
                                             encoding=None)
            proc.stdin.write(b"3\r")  # sent before the child runs: queued, not dropped
            await asyncio.wait_for(proc.wait_closed(), 10)
            assert proc.exit_status == 3
    finally:
        acceptor.close()
        await acceptor.wait_closed()
