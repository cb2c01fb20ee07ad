"""The SSH host against a real asyncssh server on loopback."""

from __future__ import annotations

import asyncio
import sys

import pytest
from ssh_peer import start_peer

from drtui.backends.ssh import SshError, SshHost, SshTarget


@pytest.fixture
async def peer(tmp_path):
    p = await start_peer(tmp_path)
    yield p
    p.close()


def target(peer, **kw) -> SshTarget:
    return SshTarget("127.0.0.1", peer.port, user="racer", identity_file=str(peer.client_key),
                     known_hosts=str(peer.known_hosts), **kw)


async def test_run_stream_and_files(peer, tmp_path):
    host = SshHost(target(peer))
    try:
        result = await host.run(["sh", "-c", "echo hello; echo oops >&2; exit 3"])
        assert (result.returncode, result.stdout, result.stderr) == (3, "hello\n", "oops\n")
        lines = [ln async for ln in host.stream(["sh", "-c", "for i in 1 2 3; do echo l$i; done"])]
        assert lines == ["l1", "l2", "l3"]
        src = tmp_path / "up.txt"
        src.write_text("payload\n")
        await host.put(src, str(tmp_path / "remote" / "deep" / "up.txt"))
        await host.get(str(tmp_path / "remote" / "deep" / "up.txt"), tmp_path / "down.txt")
        assert (tmp_path / "down.txt").read_text() == "payload\n"
    finally:
        await host.close()


async def test_detached_process_survives_and_log_is_tailed_by_offset(peer, tmp_path):
    host = SshHost(target(peer))
    log = tmp_path / "remote" / "train.log"
    script = ("import time\nfor i in range(30):\n"
              "    print('line', i, flush=True); time.sleep(0.02)\n")
    pid = await host.start_detached([sys.executable, "-c", script], log_path=str(log))
    assert await host.is_running(pid)
    await host.close()  # the connection goes away; the process does not

    host2 = SshHost(target(peer))
    got, offset = [], 0
    deadline = asyncio.get_running_loop().time() + 120  # a deadline, not a count: CI is slow
    while asyncio.get_running_loop().time() < deadline:
        chunk = await host2.read_from(str(log), offset)
        got += chunk.lines
        offset = chunk.offset
        if not chunk.lines and not await host2.is_running(pid):
            break
        await asyncio.sleep(0.02)
    assert got == [f"line {i}" for i in range(30)]
    await host2.close()


async def test_reconnects_after_the_connection_drops(peer, tmp_path):
    host = SshHost(target(peer), backoff=0.05)
    log = tmp_path / "log"
    log.write_text("a\nb\n")
    first = await host.read_from(str(log), 0)
    host._conn.abort()  # the network goes away mid-session
    await asyncio.sleep(0.05)
    with open(log, "a") as fh:
        fh.write("c\n")
    second = await host.read_from(str(log), first.offset)
    assert first.lines + second.lines == ["a", "b", "c"]
    await host.close()


async def test_a_command_cut_by_a_drop_is_not_read_as_failed(peer, tmp_path):
    """A liveness check whose connection is cut under it must not answer "not running" (the
    follower would end the run and release its machine): the command runs again on a fresh
    connection and gives its real answer."""
    import subprocess
    import sys

    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = SshHost(target(peer), backoff=0.05)
        await host.run(["true"])  # connected

        async def cut_soon():
            await asyncio.sleep(0.3)
            peer.drop()

        cut = asyncio.create_task(cut_soon())
        # ps answers at once; make the check take long enough for the cut to land in it
        result = await host.run(["sh", "-c", f"sleep 1; ps -o stat= -p {trainer.pid}"])
        await cut
        assert result.returncode == 0 and result.stdout.strip()
        assert await host.is_running(trainer.pid)
        await host.close()
    finally:
        trainer.kill()
        trainer.wait()


async def test_unknown_host_key_is_refused_unless_accepted(peer, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(peer.client_key), known_hosts=str(empty)))
    with pytest.raises(SshError, match="host key not in"):
        await host.ensure()
    trusting = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                                 identity_file=str(peer.client_key), known_hosts=str(empty),
                                 accept_new=True))
    await trusting.ensure()
    await trusting.close()
    assert f"[127.0.0.1]:{peer.port} ssh-ed25519 " in empty.read_text()
    again = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                              identity_file=str(peer.client_key), known_hosts=str(empty)))
    assert (await again.run(["true"])).returncode == 0
    await again.close()


async def test_wrong_key_is_refused(peer, tmp_path):
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "other").write_bytes(other.export_private_key())
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(tmp_path / "other"),
                             known_hosts=str(peer.known_hosts)))
    with pytest.raises(SshError, match="permission denied"):
        await host.ensure()


async def test_no_user_means_the_default_user(peer):
    # `user` is optional in [backend.ssh]: leaving it out must connect as the default user,
    # not fail inside asyncssh (username=None) after every retry
    host = SshHost(SshTarget("127.0.0.1", peer.port, identity_file=str(peer.client_key),
                             known_hosts=str(peer.known_hosts)), retries=1)
    try:
        assert (await host.run(["echo", "hi"])).stdout == "hi\n"
    finally:
        await host.close()


async def test_a_detached_start_cut_by_a_drop_is_not_run_again(peer, tmp_path):
    # the start may have run before the connection dropped: a second try could start a
    # second trainer on the same run, so the drop is reported instead
    import asyncssh

    from drtui.backends.ssh import SshUnreachable

    host = SshHost(target(peer), backoff=0.05)
    sent = []

    class Dropping:
        def is_closed(self) -> bool:
            return False

        async def run(self, command, **kw):
            sent.append(command)
            raise asyncssh.ConnectionLost("dropped after the command went out")

    host._conn = Dropping()
    log = tmp_path / "remote" / "once.log"
    with pytest.raises(SshUnreachable, match="connection lost"):
        await host.start_detached(["sh", "-c", "echo started"], log_path=str(log))
    assert len(sent) == 1 and not log.exists()  # tried once, not again on a new connection
    assert (await host.run(["echo", "back"])).stdout == "back\n"  # later calls reconnect
    await host.close()


async def test_a_missing_key_file_is_refused_at_once(peer, tmp_path):
    host = SshHost(SshTarget("127.0.0.1", peer.port, user="racer",
                             identity_file=str(tmp_path / "no-such-key"),
                             known_hosts=str(peer.known_hosts)), backoff=5.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(SshError, match="identity_file .*no-such-key: no such key file"):
        await host.ensure()
    assert asyncio.get_running_loop().time() - started < 5.0  # no retries with backoff
