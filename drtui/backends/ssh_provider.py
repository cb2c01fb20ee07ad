"""The ssh provider: any machine the user can reach over SSH, from the session's
[backend.ssh] settings. Each acquire opens its own connection (never shared between runs);
release has nothing to give back, the machine is the user's."""

from __future__ import annotations

from drtui.backends.base import Host, Provider
from drtui.problem import Problem
from drtui.runstore.store import Run


def ssh_settings(run: Run):
    """The [backend.ssh] settings of the session the run was launched with."""
    from drtui.session import store as sessions

    return sessions.load(run.session_path, check=False).backend.ssh


class SshProvider(Provider):
    name = "ssh"

    async def acquire(self, run: Run, *, create: bool = True) -> Host:
        # the machine is the user's: there is nothing to create, so create changes nothing
        from drtui.backends.ssh import SshHost, SshTarget
        from drtui.errors import InvalidInput

        s = ssh_settings(run)
        if not s.host:
            raise InvalidInput([Problem("backend.ssh.host",
                                        "the ssh provider needs a host to connect to")])
        target = SshTarget(s.host, s.port, user=s.user or None,
                           identity_file=s.identity_file or None, known_hosts=s.known_hosts,
                           accept_new=s.accept_new_host_key)
        host = SshHost(target)
        await host.ensure()  # a refused key or an unreachable host fails here, clearly
        run.update(host=host.name, ssh={"host": s.host, "port": s.port, "user": s.user},
                   workdir=s.workdir, python=s.python, pip_install=s.pip_install)
        return host

    async def estimate(self, session):
        from drtui.backends.cloud import own_machine

        return own_machine(self.name, session)

    def hourly_cost(self, run: Run) -> float:
        from drtui.errors import DrtuiError

        try:
            return float(ssh_settings(run).hourly_cost)
        except (OSError, DrtuiError):
            return 0.0  # a session damaged by hand: no cost shown, training goes on
