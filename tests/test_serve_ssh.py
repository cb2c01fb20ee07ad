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
def size(*_):  # os.write: a SIGWINCH during print() would be a reentrant call
    c, r = os.get_terminal_size(0)
    os.write(1, f"size={c}x{r}\n".encode())
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


def _need_sandbox(kw) -> None:
    """The sandbox is bubblewrap (Debian's package bubblewrap). .ci/run installs it and sets
    DRTUI_REQUIRE_SANDBOX, so there a missing bwrap fails; on a developer's machine without
    it the sandboxed tests are skipped, saying what to install."""
    import shutil

    if kw.get("sandbox", True) and shutil.which("bwrap") is None \
            and not os.environ.get("DRTUI_REQUIRE_SANDBOX"):
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


async def start(keys, **kw):
    _need_sandbox(kw)
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

    def folded(self) -> str:
        """The screen text with runs of blanks as one space (a redraw is mostly blanks)."""
        return re.sub(r"\s+", " ", self.text)

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
                raise AssertionError(f"{pattern!r} not seen in {timeout} s; screen text "
                                     f"(spaces folded): {self.folded()[-3000:]!r}")
            try:
                chunk = await asyncio.wait_for(self.proc.stdout.read(65536), left)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                raise AssertionError(f"channel closed before {pattern!r}: "
                                     f"{self.folded()[-3000:]!r}")
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
    _need_sandbox({})
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
    assert re.search(rf"connected: user racer key {re.escape(fingerprint)} \(workspace "
                     r"key-[0-9a-f]{16}, authorized_keys line 1\) from \[127\.0\.0\.1\]:\d+",
                     log), log
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


# --- a service one can offer: sandbox, workspaces, key options, caps ----------------------------

# What a served process can see: its folder, HOME, environment names, and the files named in
# argv (readable or not); it then exits with the number typed.
SEE = r"""
import json, os, sys
def readable(p):
    try:
        return open(p).read().strip()
    except OSError as exc:
        return type(exc).__name__
print("SEE " + json.dumps({"cwd": os.getcwd(), "home": os.environ.get("HOME"),
      "env": sorted(os.environ), "files": [readable(p) for p in sys.argv[1:]]}), flush=True)
sys.exit(int(sys.stdin.readline()))
"""
SERVED_ENV = {"PATH", "HOME", "USER", "LOGNAME", "TERM", "TMPDIR", "LANG", "PYTHONPATH",
              "DRTUI_WORKSPACE_ONLY", "COLORTERM"}


def add_key(keys, comment: str, options: str = ""):
    """A new client key, appended to authorized_keys with `options` and `comment`."""
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    line = key.export_public_key().decode().strip()
    with open(keys["dir"] / "authorized_keys", "a") as f:
        f.write(f"{options} {line}\n" if options else f"{line}\n")
    return key


async def see(conn, *files, size=TERM_SIZE) -> tuple[dict, object, Term]:
    proc = await conn.create_process(term_type="xterm", term_size=size, encoding=None)
    term = Term(proc)
    await term.wait_for("SEE {", 20)
    await term.wait_for("}", 5)
    line = term.text.split("SEE ", 1)[1].splitlines()[0]
    import json
    return json.loads(line), proc, term


async def test_one_workspace_per_key_clean_env_and_nothing_outside(keys, monkeypatch):
    monkeypatch.setenv("DRTUI_SERVER_SECRET", "hunter2")
    secret = keys["dir"] / "secret.txt"
    secret.write_text("server secret")
    alice, bob = add_key(keys, "alice"), add_key(keys, "bob")
    alice2 = add_key(keys, "alice")  # a second key of the same person: the same workspace
    odd = add_key(keys, "../../etc")  # not a plain name: a workspace from its fingerprint
    root = keys["dir"] / "served"
    acceptor, port = await start(keys, workspace=root,
                                 command=[sys.executable, "-c", SEE, str(secret),
                                          str(root / "bob" / "note.txt")])
    (root / "bob").mkdir(parents=True)
    (root / "bob" / "note.txt").write_text("bob's")
    try:
        async with await connect(keys, port, client_keys=[alice]) as conn:
            seen, proc, _ = await see(conn)
            assert seen["cwd"] == seen["home"] == str(root / "alice")
            assert set(seen["env"]) <= SERVED_ENV | {"PWD", "SHLVL", "_"}, seen["env"]
            assert seen["files"] == ["FileNotFoundError", "FileNotFoundError"]
            proc.stdin.write(b"0\r")
        async with await connect(keys, port, client_keys=[alice2]) as conn:
            assert (await see(conn))[0]["cwd"] == str(root / "alice")
        async with await connect(keys, port, client_keys=[bob]) as conn:
            seen, _, _ = await see(conn)
            assert seen["cwd"] == str(root / "bob") and seen["files"][1] == "bob's"
        async with await connect(keys, port, client_keys=[odd]) as conn:
            seen, _, _ = await see(conn)
            assert re.fullmatch(re.escape(str(root)) + r"/key-[0-9a-f]{16}", seen["cwd"])
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_without_the_sandbox_the_same_probe_sees_outside(keys):
    """The control: the probe above can fail. Unsafe mode still has a clean environment."""
    secret = keys["dir"] / "secret.txt"
    secret.write_text("server secret")
    acceptor, port = await start(keys, workspace=keys["dir"] / "served", sandbox=False,
                                 command=[sys.executable, "-c", SEE, str(secret)])
    try:
        async with await connect(keys, port) as conn:
            seen, _, _ = await see(conn)
            assert seen["files"] == ["server secret"]
            assert "DRTUI_SERVER_SECRET" not in seen["env"]
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_key_options_are_honoured_or_the_key_refused(keys):
    forced = add_key(keys, "forced", 'command="/bin/false",no-pty,restrict')
    restricted = add_key(keys, "restricted", "restrict")
    expiring = add_key(keys, "expiring", 'expiry-time="20300101"')
    elsewhere = add_key(keys, "elsewhere", 'from="10.9.9.9"')
    ok = add_key(keys, "ok", 'restrict,pty,from="127.0.0.1"')
    acceptor, port = await start(keys, workspace=keys["dir"] / "served",
                                 command=[sys.executable, "-c", PROBE])
    try:
        for key, why in ((forced, "may only run '/bin/false' (command= in authorized_keys)"),
                         (restricted, "may not open a terminal (restrict without pty"),
                         (expiring, "option expiry-time is not one drtui serve-ssh can honour")):
            async with await connect(keys, port, client_keys=[key]) as conn:
                proc = await conn.create_process(term_type="xterm", term_size=TERM_SIZE)
                await asyncio.wait_for(proc.wait_closed(), 10)
                stderr = await proc.stderr.read()
                assert proc.exit_status == 1 and why in stderr, stderr
                assert "the key is refused" in stderr
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(keys, port, client_keys=[elsewhere])
        assert acceptor.children.spawned == []
        async with await connect(keys, port, client_keys=[ok]) as conn:
            proc = await conn.create_process(term_type="xterm", term_size=TERM_SIZE,
                                             encoding=None)
            await Term(proc).wait_for("size=100x30", 20)
            proc.stdin.write(b"5\r")
            await asyncio.wait_for(proc.wait_closed(), 10)
            assert proc.exit_status == 5
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_session_connection_size_and_idle_caps(keys):
    a, b, c = add_key(keys, "a"), add_key(keys, "b"), add_key(keys, "c")
    limits = serve_mod.Limits(sessions=2, sessions_per_key=1, connections=4, idle_s=0)
    acceptor, port = await start(keys, workspace=keys["dir"] / "served", limits=limits,
                                 command=[sys.executable, "-c", PROBE])
    try:
        async def session(conn, size=TERM_SIZE):
            proc = await conn.create_process(term_type="xterm", term_size=size, encoding=None)
            return proc, Term(proc)

        async def refused(conn) -> str:
            proc = await conn.create_process(term_type="xterm", term_size=TERM_SIZE)
            await asyncio.wait_for(proc.wait_closed(), 10)
            assert proc.exit_status == 1
            return await proc.stderr.read()

        async with await connect(keys, port, client_keys=[a]) as ca, \
                await connect(keys, port, client_keys=[b]) as cb, \
                await connect(keys, port, client_keys=[c]) as cc:
            # a 10000x10000 terminal is served at the server's largest, and said so
            big, big_term = await session(ca, (10000, 10000))
            await big_term.wait_for("size=500x200", 20)
            note = (await asyncio.wait_for(big.stderr.read(4096), 5)).decode()
            assert "terminal 10000x10000 -> 500x200: the server's limit is 500x200" in note
            big.change_terminal_size(100000, 100000)  # once dropped the connection
            mark = len(big_term.raw)
            big.change_terminal_size(120, 40)
            await big_term.wait_for("size=120x40", 10, since=mark)
            assert "this key has 1 sessions open, the server's limit" in await refused(ca)
            other, other_term = await session(cb)
            await other_term.wait_for("size=100x30", 20)
            assert "the server has 2 sessions open, its limit" in await refused(cc)
            big.stdin.write(b"0\r")  # one ends: its place is free again
            await asyncio.wait_for(big.wait_closed(), 10)
            third, third_term = await session(cc)
            await third_term.wait_for("size=100x30", 20)
            assert len(acceptor.children.live) == 2
            # a fourth connection is the last allowed; the fifth is closed at once
            async with await connect(keys, port, client_keys=[a]):
                with pytest.raises((asyncssh.Error, OSError, asyncio.TimeoutError)):
                    await connect(keys, port, client_keys=[a])
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_idle_sessions_are_hung_up(keys):
    limits = serve_mod.Limits(idle_s=1.0)
    acceptor, port = await start(keys, workspace=keys["dir"] / "served", limits=limits,
                                 command=[sys.executable, "-c", PROBE])
    try:
        async with await connect(keys, port) as conn:
            proc = await conn.create_process(term_type="xterm", term_size=TERM_SIZE,
                                             encoding=None)
            term = Term(proc)
            await term.wait_for("size=100x30", 20)
            started = time.monotonic()
            for _ in range(3):  # input keeps it alive past the limit
                await asyncio.sleep(0.5)
                proc.stdin.write(b"1")
            await asyncio.wait_for(proc.wait_closed(), 10)
            assert time.monotonic() - started > 2.0
            stderr = (await proc.stderr.read()).decode()
            assert "no input for 1 s: disconnected" in stderr and proc.exit_signal[0] == "HUP"
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


FAKE_BWRAP = r"""#!{python}
# Pretends to be bwrap but sandboxes nothing: runs what follows "--" {how}.
import os, sys
args = sys.argv[1:]
env = {{}}
for i, a in enumerate(args):
    if a == "--setenv":
        env[args[i + 1]] = args[i + 2]
env.update({extra})
cmd = args[args.index("--") + 1:]
os.execve(cmd[0], cmd, env)
"""


@pytest.mark.parametrize("extra,why", [
    ('{"AWS_SECRET_ACCESS_KEY": "x"}', "the sandbox leaks environment variables: "
                                       "AWS_SECRET_ACCESS_KEY"),
    ("{}", "the sandbox can see files outside the workspace"),
])
async def test_the_server_refuses_to_start_without_a_working_sandbox(keys, extra, why):
    from drtui.sandbox import sandbox_problem

    fake = keys["dir"] / "bwrap"
    fake.write_text(FAKE_BWRAP.format(python=sys.executable, how="as is", extra=extra))
    fake.chmod(0o755)
    problem = sandbox_problem(keys["dir"] / "served", [keys["dir"] / "authorized_keys"],
                              bwrap=str(fake))
    assert problem and problem.startswith(why), problem
    assert "not installed" in sandbox_problem(keys["dir"], [], bwrap="no-such-bwrap")
    assert sandbox_problem(keys["dir"] / "served", [keys["dir"] / "authorized_keys"]) is None


async def test_main_refuses_to_serve_unsafe_unless_told(keys, tmp_path):
    d = keys["dir"]
    base = (f"port=0, host_key={str(d / 'host_key')!r}, "
            f"authorized_keys={str(d / 'authorized_keys')!r}, host='127.0.0.1', "
            f"workspace={str(tmp_path / 'served')!r}")
    env = dict(os.environ, PATH=str(tmp_path / "empty"))  # no bwrap to be found
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import argparse, sys; from drtui.serve import main; "
        f"sys.exit(main(argparse.Namespace({base})))", stderr=asyncio.subprocess.PIPE, env=env)
    err = (await asyncio.wait_for(done.stderr.read(), 30)).decode()
    assert await done.wait() == 1
    assert "bubblewrap (bwrap) is not installed" in err and "refusing to serve" in err
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import argparse, sys; from drtui.serve import main; "
        f"sys.exit(main(argparse.Namespace({base}, unsafe_no_sandbox=True)))",
        stderr=asyncio.subprocess.PIPE, env=env)
    try:
        warning = (await asyncio.wait_for(server.stderr.readline(), 20)).decode()
        assert "serving WITHOUT a sandbox (--unsafe-no-sandbox)" in warning
    finally:
        server.terminate()
        await server.wait()


# --- the real studio, served: typed reward code and path fields --------------------------------

STUDIO_SIZE = (160, 50)
CTRL_N, SHIFT_TAB, CTRL_A, CTRL_K = b"\x0e", b"\x1b[Z", b"\x01", b"\x0b"


def served_session(workspace, name="served-model"):
    """A session with inline reward code in the served workspace."""
    from drtui.session.starter import starter
    from drtui.session.store import save, to_data
    from drtui.session.validate import problems_in

    data = to_data(starter(name))
    data["reward"] = {"code": "def reward_function(params):\n    return 1.0\n"}
    session, problems = problems_in(data)
    assert not problems
    workspace.mkdir(parents=True, exist_ok=True)
    save(session, workspace / f"{name}.toml")


async def studio_at_step(conn, steps: int) -> tuple[object, Term]:
    """The served app with the workspace's session opened and `steps` wizard steps on."""
    from drtui.screens.steps import STEPS

    proc = await conn.create_process(term_type="xterm-256color", term_size=STUDIO_SIZE,
                                     encoding=None)
    term = Term(proc)
    await term.wait_for("served-model.toml", 40)
    for step in range(steps + 1):
        mark = len(term.raw)
        proc.stdin.write(CTRL_N if step else b"\r")  # open the highlighted session, then on
        await term.wait_for(STEPS[step].title, 30, since=mark)
        await asyncio.sleep(0.3)
    return proc, term


@pytest.mark.parametrize("sandbox,expected", [(True, "env=None file=unreadable"),
                                              (False, "env=None file=server-secret")])
async def test_reward_code_typed_in_the_studio_sees_nothing_outside(keys, monkeypatch,
                                                                    sandbox, expected):
    monkeypatch.setenv("DRTUI_SERVER_SECRET", "hunter2")
    secret = keys["dir"] / "secret.txt"
    secret.write_text("server-secret")
    key = add_key(keys, "racer")
    root = keys["dir"] / "served"
    served_session(root / "racer")
    acceptor, port = await start(keys, workspace=root, sandbox=sandbox)
    try:
        async with await connect(keys, port, client_keys=[key]) as conn:
            proc, term = await studio_at_step(conn, 5)
            proc.stdin.write(b"\t")  # from the source choice into the editor
            for _ in range(10):  # once focused, enter there opens a line above the code
                mark = len(term.raw)
                proc.stdin.write(b"\r")
                try:
                    await term.wait_for("2  def reward_function(params):", 3, since=mark)
                    break
                except AssertionError:
                    continue
            mark = len(term.raw)
            line = ('import os; R = os.environ.get("DRTUI_SERVER_SECRET"); '
                    f'F = open({str(secret)!r}).read().strip() '
                    f'if os.access({str(secret)!r}, os.R_OK) else "unreadable"; '
                    'raise RuntimeError(f"env={R} file={F}")\r')
            proc.stdin.write(line.encode())
            await term.wait_for(f"RuntimeError: {expected}", 40, since=mark)
            assert "hunter2" not in term.text
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_path_fields_outside_the_workspace_are_refused(keys):
    key = add_key(keys, "racer")
    root = keys["dir"] / "served"
    served_session(root / "racer")
    acceptor, port = await start(keys, workspace=root)
    try:
        async with await connect(keys, port, client_keys=[key]) as conn:
            proc, term = await studio_at_step(conn, 7)
            await asyncio.sleep(0.5)
            assert not term.seen("until they are fixed")  # the session has no problem
            proc.stdin.write(SHIFT_TAB + SHIFT_TAB)  # from Save back to the session file
            await asyncio.sleep(1.0)
            for text in (b"../outside.toml", str(keys["dir"] / "abs.toml").encode()):
                mark = len(term.raw)
                proc.stdin.write(CTRL_A + CTRL_K + text)
                # the review's summary (its long lines wrap: the first one says it)
                await term.wait_for("nothing is saved or written until they are fixed", 20,
                                    since=mark)
                # the problem line wraps where the path's length puts it (tmp paths differ)
                shown = ANSI.sub(b"", term.raw[mark:]).decode(errors="replace")
                assert re.search(r"is\s*outside", shown), re.sub(r"\s+", " ", shown)[-2000:]
                mark = len(term.raw)
                proc.stdin.write(b"\x13")  # ctrl+s
                await term.wait_for("Not saved", 20, since=mark)
            proc.stdin.write(b"\t" + CTRL_A + CTRL_K + b"../../out")  # the output folder
            await asyncio.sleep(0.5)
            mark = len(term.raw)
            proc.stdin.write(b"\x07")  # ctrl+g
            await term.wait_for("Nothing written", 60, since=mark)
        await gone(acceptor)
    finally:
        acceptor.close()
        await acceptor.wait_closed()
    assert not (root / "outside.toml").exists() and not (keys["dir"] / "abs.toml").exists()
    assert not (keys["dir"] / "out").exists()
    # the session alone (and the racing-line cache the track map keeps in the workspace)
    assert sorted(p.name for p in (root / "racer").iterdir()
                  if p.name != ".drtui-cache") == ["served-model.toml"]


def test_an_install_under_tmp_shows_through_the_sandboxs_empty_tmp(tmp_path, monkeypatch):
    """A virtual environment in /tmp (tmp_path is there) is bound over the sandbox's empty
    /tmp, not hidden by it: drtui installed in /tmp/x/.venv must still start when served."""
    import subprocess

    from drtui import sandbox

    _need_sandbox({})
    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "venv" / "lib"
    venv.mkdir(parents=True)
    (venv / "marker.txt").write_text("the install\n")
    real = sandbox._python_paths()
    monkeypatch.setattr(sandbox, "_python_paths", lambda: [*real, venv])
    ws = tmp_path / "ws"
    ws.mkdir()
    cmd = sandbox.bwrap_command(["cat", str(venv / "marker.txt")], ws,
                                sandbox.served_env(ws, "racer", "dumb", {}))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={})
    assert (done.returncode, done.stdout) == (0, "the install\n"), done.stderr
