"""The bash script an EC2 instance runs at first boot (user data).

It does three things, in this order, so a forgotten instance can never bill for long:
1. arms `shutdown -h +N` from the session's time limit plus a margin; the instance is
   launched with InstanceInitiatedShutdownBehavior=terminate, so the halt ends the billing
   even if drtui, the laptop and the network are all gone;
2. starts a spot-interruption watcher: it polls IMDSv2 (a PUT for a token, then
   /latest/meta-data/spot/instance-action) and, when AWS announces the 2-minute notice,
   runs the save command (checkpoint the embedded trainer, or upload the DRfC model);
3. installs drtui (runner embedded) or deepracer-for-cloud (runner drfc).

No credential is ever written here: the instance gets AWS access, if at all, from its
instance profile. Tests source the script with DRTUI_USERDATA_SOURCE_ONLY=1 and call the
functions with DRTUI_IMDS / DRTUI_SAVE_CMD pointing at a local server and a test command.
"""

from __future__ import annotations

import math
import shlex

SHUTDOWN_MARGIN_MINUTES = 20  # at least: boot, install, final checkpoint, collecting files
USER = "ubuntu"

# The embedded trainer checkpoints and exits on SIGINT. drtui's remote runner starts it
# under `timeout`, whose pid is in <run>/trainer.pid and which passes the signal on once.
# Wait for them, at most 100 s of the 120 s notice. DRfC: upload the model, then stop.
SAVE_COMMANDS = {
    "embedded": ('for f in "$DRTUI_RUNS"/*/trainer.pid; do [ -f "$f" ] && '
                 'kill -INT "$(cat "$f")" 2>/dev/null; done; '
                 # alive = listed by ps and not a zombie (kill -0 succeeds on zombies)
                 'for i in $(seq 100); do alive=0; for f in "$DRTUI_RUNS"/*/trainer.pid; do '
                 '[ -f "$f" ] && s="$(ps -o stat= -p "$(cat "$f")")" && '
                 '[ "${s#*Z}" = "$s" ] && alive=1; done; '
                 '[ "$alive" = 0 ] && break; sleep 1; done'),
    "drfc": (f"su - {USER} -c 'cd ~/deepracer-for-cloud && source bin/activate.sh && "
             "dr-upload-model -bf; dr-stop-training'"),
}

_INSTALL = {
    "embedded": """\
drtui_install() {
  export DEBIAN_FRONTEND=noninteractive
  python3 -c "import ensurepip, venv" 2>/dev/null || {
    apt-get update -q && apt-get install -y -q python3-venv python3-pip; }
  # <workdir>/venv: where drtui's remote runner looks for it (drtui/backends/remote_embedded)
  sudo -u "$DRTUI_USER" mkdir -p "/home/$DRTUI_USER/drtui"
  sudo -u "$DRTUI_USER" python3 -m venv "/home/$DRTUI_USER/drtui/venv"
  sudo -u "$DRTUI_USER" "/home/$DRTUI_USER/drtui/venv/bin/pip" install -q "$DRTUI_PACKAGE"
}""",
    "drfc": """\
drtui_install() {
  export DEBIAN_FRONTEND=noninteractive
  command -v git >/dev/null || { apt-get update -q && apt-get install -y -q git; }
  sudo -u "$DRTUI_USER" git clone --depth 1 \\
    https://github.com/aws-deepracer-community/deepracer-for-cloud.git \\
    "/home/$DRTUI_USER/deepracer-for-cloud"
  cd "/home/$DRTUI_USER/deepracer-for-cloud" && bin/prepare.sh && \\
    sudo -u "$DRTUI_USER" bin/init.sh -c aws -a gpu
}""",
}

_SCRIPT = """\
#!/bin/bash
# drtui bootstrap for run {run_id}: hard shutdown timer, spot watcher, install.
set -u
DRTUI_RUN={run_id_q}
DRTUI_USER={user_q}
DRTUI_PACKAGE={package_q}
DRTUI_SHUTDOWN_MINUTES={minutes}
DRTUI_IMDS="${{DRTUI_IMDS:-http://169.254.169.254}}"
DRTUI_SAVE_DEFAULT={save_q}
DRTUI_SAVE_CMD="${{DRTUI_SAVE_CMD:-$DRTUI_SAVE_DEFAULT}}"
DRTUI_POLL="${{DRTUI_POLL:-5}}"
DRTUI_STATE="${{DRTUI_STATE:-/var/lib/drtui}}"
DRTUI_RUNS="${{DRTUI_RUNS:-/home/$DRTUI_USER/drtui/runs}}"
export DRTUI_RUN DRTUI_USER DRTUI_RUNS  # for the save command

drtui_arm_shutdown() {{
  # halt = terminate (InstanceInitiatedShutdownBehavior), whatever happens to drtui
  shutdown -h "+$DRTUI_SHUTDOWN_MINUTES" "drtui: time limit of run $DRTUI_RUN"
}}

drtui_imds_token() {{
  curl -sf -m 5 -X PUT "$DRTUI_IMDS/latest/api/token" \\
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300"
}}

drtui_spot_action() {{
  # 404 until AWS schedules an interruption; then {{"action": ..., "time": ...}}
  local token
  token="$(drtui_imds_token)" || return 1
  curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" \\
    "$DRTUI_IMDS/latest/meta-data/spot/instance-action"
}}

drtui_watch_spot() {{
  local action
  while true; do
    if action="$(drtui_spot_action)" && [ -n "$action" ]; then
      echo "drtui: spot interruption notice: $action; saving"
      bash -c "$DRTUI_SAVE_CMD"
      echo "drtui: saved (exit $?)"
      return 0
    fi
    sleep "$DRTUI_POLL"
  done
}}

{install}

drtui_main() {{
  mkdir -p "$DRTUI_STATE"
  drtui_arm_shutdown
  drtui_watch_spot >> /var/log/drtui-spot.log 2>&1 < /dev/null &
  if drtui_install >> /var/log/drtui-install.log 2>&1; then
    touch "$DRTUI_STATE/ready"
  else
    echo "install failed: see /var/log/drtui-install.log" > "$DRTUI_STATE/failed"
  fi
}}

if [ "${{DRTUI_USERDATA_SOURCE_ONLY:-}}" != 1 ]; then
  drtui_main
fi
"""


def shutdown_minutes(time_limit_minutes: int) -> int:
    """Minutes from boot to the hard stop: the time limit plus the remote runner's grace
    (drtui.backends.remote_embedded: the larger of 5 min and 10 %) plus 15 min for booting,
    installing and collecting the files, and never less than the limit + 20 min."""
    limit = int(time_limit_minutes)
    return limit + max(SHUTDOWN_MARGIN_MINUTES, math.ceil(0.1 * limit) + 15)


def render(run_id: str, *, runner: str, time_limit_minutes: int, package: str) -> str:
    """The user-data script for a run. `package` is what pip installs (runner embedded)."""
    if runner not in _INSTALL:
        raise ValueError(f"no EC2 bootstrap for runner {runner!r} "
                         f"(supported: {', '.join(_INSTALL)})")
    return _SCRIPT.format(
        run_id=run_id, run_id_q=shlex.quote(run_id), user_q=shlex.quote(USER),
        package_q=shlex.quote(package), minutes=shutdown_minutes(time_limit_minutes),
        save_q=shlex.quote(SAVE_COMMANDS[runner]),
        install=_INSTALL[runner])
