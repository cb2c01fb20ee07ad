"""DeepRacer on AWS (DRoA) as a backend: training runs as a managed job of the user's own
deployment, driven through its REST API (droa_client).

There is no machine to reach and no log stream: DRoA only exposes a model's status and a
presigned URL of its training metrics (simapp's TrainingMetrics.json, one record a
finished episode). So the runner polls both every `poll_seconds` and turns what is new into
log lines appended to the run's log, in a format the log parser understands:

    DROA_STATUS {"state": "running", "status": "TRAINING", "trainingStatus": "IN_PROGRESS"}
    DROA_METRIC {"n": 0, "phase": "training", "episode": 1, "reward_score": 14, ...}

The run store then follows that file like any other log. Which metrics were already written
is known from the log itself (each DROA_METRIC carries its index n), so a second follower or
a drtui restarted after a crash never writes a record twice. Nothing secret is written: the
presigned URL and the credentials stay in memory.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from drtui.backends.base import Chunk, CommandResult, Host, Provider, Runner
from drtui.backends.local import read_lines_from
from drtui.errors import DrtuiError, InvalidInput
from drtui.fsio import atomic_write
from drtui.logs import protocol
from drtui.runstore.store import Run
from drtui.session.runner_rules import droa_problems as session_problems
from drtui.session.runner_rules import droa_track_config as track_config

STATUS_TAG, METRIC_TAG = protocol.DROA_STATUS, protocol.DROA_METRIC
# training job statuses (JobStatus in the solution's model.smithy) that are not over yet
ACTIVE_JOB = ("QUEUED", "INITIALIZING", "IN_PROGRESS", "STOPPING")
_JOB_STATE = {"QUEUED": "starting", "INITIALIZING": "starting", "IN_PROGRESS": "running",
              "STOPPING": "stopping", "COMPLETED": "finished", "CANCELED": "stopped",
              "FAILED": "failed"}
# transient errors (throttling, 5xx, network) are retried this long before following fails
MAX_OUTAGE_S = 300.0


class DroaUnsupported(DrtuiError):
    exit_code = 2


# -- the CreateModel request -----------------------------------------------------------------

def _action_space(metadata: dict[str, Any]) -> dict[str, Any]:
    space = metadata["action_space"]
    if metadata.get("action_space_type") == "continuous":
        # "continous" is the member's name in the solution's Smithy model (sic)
        return {"continous": {
            "lowSpeed": space["speed"]["low"], "highSpeed": space["speed"]["high"],
            "lowSteeringAngle": space["steering_angle"]["low"],
            "highSteeringAngle": space["steering_angle"]["high"]}}
    return {"discrete": [{"speed": a["speed"], "steeringAngle": a["steering_angle"]}
                         for a in space]}


_HP_KEYS = ("batch_size", "num_epochs", "stack_size", "lr", "beta_entropy", "e_greedy_value",
            "epsilon_steps", "discount_factor", "loss_type", "num_episodes_between_training",
            "exploration_type", "sac_alpha")


def model_definition(session, files: dict[str, str]) -> dict[str, Any]:
    """CreateModel's modelDefinition for a session and its rendered files (the run's
    model_metadata.json, hyperparameters.json and reward_function.py). Refuses, with every
    reason, what a DRoA deployment cannot train."""
    problems = session_problems(session)
    if problems:
        raise InvalidInput(problems)
    metadata = json.loads(files["model_metadata.json"])
    hp = json.loads(files["hyperparameters.json"])
    track, _ = track_config(session.track.world, session.track.reverse)
    race, minutes = session.race.type, session.training.time_limit_minutes
    oa = session.race.object_avoidance
    # DRoA's ModelDescription allows only letters, digits, '-' and spaces: keep those
    desc = " ".join(re.sub(r"[^A-Za-z0-9 -]", " ", session.model.description).split())[:255]
    algo = metadata["training_algorithm"]

    from drtui.catalog.sensors import CAMERAS, LIDARS

    sensors = metadata["sensor"]
    hyper = {k: hp[k] for k in _HP_KEYS if k in hp and hp[k] is not None}
    hyper["loss_type"] = "huber" if hyper.get("loss_type") == "huber" else "mean_squared_error"
    training: dict[str, Any] = {"trackConfig": track, "maxTimeInMinutes": minutes,
                                "raceType": race,
                                "minEvalTrials": session.training.min_eval_trials}
    if race == "OBJECT_AVOIDANCE":
        oa_config: dict[str, Any] = {"numberOfObjects": len(oa.object_positions)
                                     or oa.number_of_obstacles}
        if oa.object_positions and not oa.randomize_obstacle_locations:
            oa_config["objectPositions"] = [{"laneNumber": p.lane, "trackPercentage": p.progress}
                                            for p in oa.object_positions]
        training["objectAvoidanceConfig"] = oa_config
    definition: dict[str, Any] = {
        "name": session.model.name,
        "carCustomization": {"carColor": session.car.color.upper(), "carShell": "DEEPRACER"},
        "trainingConfig": training,
        "metadata": {
            "agentAlgorithm": "SAC" if algo == "sac" else "PPO",
            "rewardFunction": files["reward_function.py"],
            "hyperparameters": hyper,
            "actionSpace": _action_space(metadata),
            "sensors": {k: v for k, v in (
                ("camera", next((s for s in sensors if s in CAMERAS), None)),
                ("lidar", next((s for s in sensors if s in LIDARS), None))) if v},
        },
    }
    if desc:
        definition["description"] = desc
    return definition


def run_files(run: Run) -> dict[str, str]:
    from drtui.files.render import CUSTOM_FILES, relative_path

    return {name: (run.path / "files" / relative_path(name)).read_text(encoding="utf-8")
            for name in CUSTOM_FILES}


# -- provider and host -------------------------------------------------------------------------

class DroaHost(Host):
    """No machine: DRoA runs the job. The run's own files are all there is to read."""

    name = "deepracer-on-aws"

    def _none(self, what: str):
        raise DroaUnsupported(f"DeepRacer on AWS gives no shell: cannot {what}")

    async def run(self, argv: Sequence[str], *, cwd: str | None = None,
                  env: dict[str, str] | None = None, timeout: float | None = None
                  ) -> CommandResult:
        self._none("run commands")

    def stream(self, argv: Sequence[str], *, cwd: str | None = None,
               env: dict[str, str] | None = None) -> AsyncIterator[str]:
        self._none("run commands")

    async def start_detached(self, argv: Sequence[str], *, log_path: str,
                             cwd: str | None = None, env: dict[str, str] | None = None) -> int:
        self._none("start processes")

    async def is_running(self, pid: int) -> bool:
        return False

    async def signal(self, pid: int, sig: int) -> None:
        self._none("signal processes")

    async def read_from(self, path: str, offset: int, limit: int = 1 << 20) -> Chunk:
        return read_lines_from(path, offset, limit)

    async def put(self, local: Path, remote: str) -> None:
        self._none("copy files")

    async def get(self, remote: str, local: Path) -> None:
        self._none("copy files")


class DroaProvider(Provider):
    name = "deepracer-on-aws"

    async def acquire(self, run: Run, create: bool = True) -> Host:
        return DroaHost()


# -- runner ------------------------------------------------------------------------------------

def status_line(state: str, model: dict[str, Any]) -> str:
    data = {"state": state, "status": model.get("status"),
            "trainingStatus": model.get("trainingStatus")}
    if model.get("importErrorMessage"):
        data["message"] = model["importErrorMessage"]
    return STATUS_TAG + json.dumps(data, sort_keys=True)


def metric_line(n: int, record: dict[str, Any]) -> str:
    return METRIC_TAG + json.dumps({"n": n, **record}, sort_keys=True)


def metrics_in_log(path: Path, offset: int = 0, count: int = 0) -> tuple[int, int]:
    """(offset scanned to, records) after counting the DROA_METRIC records the log holds
    past `offset`: the count is 1 + the last index written. The log only grows, so a
    follower scans each byte once."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # a line still being written
                offset += len(raw)
                if raw.startswith(METRIC_TAG.encode()):
                    try:
                        count = max(count, int(json.loads(raw[len(METRIC_TAG):])["n"]) + 1)
                    except (ValueError, KeyError, TypeError):
                        continue
    except FileNotFoundError:
        return 0, 0
    return offset, count


def job_state(model: dict[str, Any], stop_requested: bool) -> str:
    """drtui's run status for a DRoA model record."""
    state = _JOB_STATE.get(model.get("trainingStatus") or "", "starting")
    if state == "finished":
        if stop_requested:
            return "stopped"  # a stopped job completes, keeping the model trained so far
        if model.get("status") == "ERROR":
            return "failed"
    return state


def _rank(training_status: str | None) -> int:
    """Job statuses only move forward; a lower one is a stale answer of a slower poll."""
    order = ("QUEUED", "INITIALIZING", "IN_PROGRESS", "STOPPING")
    return order.index(training_status) if training_status in order else len(order)


class DroaRunner(Runner):
    name = "deepracer-on-aws"

    def __init__(self):
        self._clients: dict[str, Any] = {}
        self._settings: dict[Path, Any] = {}
        self._scanned: dict[Path, tuple[int, int]] = {}  # log -> (offset, metrics records)
        self._outage_since: float | None = None

    # -- settings and client ------------------------------------------------------------------
    def settings(self, run: Run):
        if run.path not in self._settings:  # a run's session never changes
            from drtui.session import store as sessions

            self._settings[run.path] = sessions.load(
                run.session_path, check=False).backend.deepracer_on_aws
        return self._settings[run.path]

    def client(self, run: Run):
        from drtui.backends.droa_client import DroaClient, Endpoint

        s = self.settings(run)
        key = f"{s.api_url}|{s.region}|{s.profile}"
        if key not in self._clients:
            self._clients[key] = DroaClient(Endpoint(s.api_url, s.region, s.profile))
        return self._clients[key]

    # -- launch --------------------------------------------------------------------------------
    async def launch(self, run: Run, host: Host, *, resume: bool = False) -> None:
        from drtui.session import store as sessions

        if run.state.get("droa_model_id"):
            raise DroaUnsupported(
                f"run {run.id} already trains DeepRacer on AWS model "
                f"{run.state['droa_model_id']}: `drtui runs attach {run.id}` follows it "
                "(DRoA cannot resume a job; start a new run instead)")
        if resume:
            raise DroaUnsupported("DeepRacer on AWS cannot resume a run; start a new run")
        session = sessions.load(run.session_path, check=False)
        body = model_definition(session, run_files(run))
        run.update(status="starting", host=DroaHost.name)
        try:
            model_id = await self.client(run).create_model(body)
        except DrtuiError as exc:
            run.update(status="failed", error=str(exc))
            raise
        run.update(droa_model_id=model_id, droa_polled=0.0, droa_active=True,
                   droa_stop_requested=False, started=time.time())
        with open(run.log_path, "a", encoding="utf-8") as log:
            log.write(f"DeepRacer on AWS: created model {model_id} ({session.model.name})\n")

    # -- following -----------------------------------------------------------------------------
    async def alive(self, run: Run, host: Host | None = None) -> bool:
        """Whether the job still runs; polls the API when a poll is due, which appends
        whatever is new to the run's log."""
        run.reload()
        if not run.state.get("droa_model_id"):
            return False
        poll_s = float(self.settings(run).poll_seconds)
        if run.state.get("droa_active", True) and \
                time.time() - float(run.state.get("droa_polled", 0.0)) < poll_s:
            return True
        return await self.poll(run)

    async def poll(self, run: Run) -> bool:
        """One look at the model and its metrics; True while the job is not over."""
        from drtui.backends.droa_client import DroaError, DroaNotFound

        try:
            return await self._poll(run)
        except DroaNotFound:
            await asyncio.to_thread(self._gone, run)
            return False
        except DroaError as exc:
            if not exc.transient:
                raise
            now = time.monotonic()
            self._outage_since = self._outage_since or now
            if now - self._outage_since > MAX_OUTAGE_S:
                raise
            run.update(droa_polled=time.time())  # try again after poll_seconds
            return True

    async def _poll(self, run: Run) -> bool:
        from drtui.backends.droa_client import fetch_presigned

        model_id = run.state["droa_model_id"]
        client = self.client(run)
        model = await client.get_model(model_id)
        records: list[dict[str, Any]] | None = None
        raw: bytes | None = None
        url = model.get("trainingMetricsUrl")
        if url and model.get("trainingStatus") not in ("QUEUED", None):
            raw = await asyncio.to_thread(fetch_presigned, url)
            if raw:
                try:
                    records = json.loads(raw).get("metrics") or []
                except (ValueError, AttributeError):
                    records = None  # a partly written file: read it next time
        self._outage_since = None
        await asyncio.to_thread(self._record, run, model, records, raw if records else None)
        return model.get("trainingStatus") in ACTIVE_JOB

    def _record(self, run: Run, model: dict[str, Any], records: list | None,
                raw: bytes | None) -> None:
        """Append what is new to the log, under a lock shared by every follower."""
        import fcntl

        with open(run.path / "droa.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            run.reload()
            scanned = metrics_in_log(run.log_path, *self._scanned.get(run.log_path, (0, 0)))
            written = scanned[1]
            lines = [metric_line(n, records[n]) for n in range(written, len(records or []))]
            before = run.state.get("droa_seen")
            if before and _rank(model.get("trainingStatus")) < _rank(before[1]):
                model = {**model, "status": before[0], "trainingStatus": before[1]}
            state = job_state(model, bool(run.state.get("droa_stop_requested")))
            seen = [model.get("status"), model.get("trainingStatus")]
            if seen != before:
                lines.append(status_line(state, model))
            if lines:
                with open(run.log_path, "a", encoding="utf-8") as log:
                    log.write("".join(line + "\n" for line in lines))
            self._scanned[run.log_path] = scanned  # the lines just written are scanned next
            if raw:
                atomic_write(run.path / "metrics" / "TrainingMetrics.json", raw)
            changes: dict[str, Any] = dict(droa_seen=seen, droa_polled=time.time(),
                                           droa_active=model.get("trainingStatus") in ACTIVE_JOB)
            if run.status != "stopping" or state != "running":
                changes["status"] = state
            if state == "failed":
                changes["error"] = model.get("importErrorMessage") or \
                    f"DeepRacer on AWS training {model.get('trainingStatus', '').lower()}"
            run.update(**changes)

    def _gone(self, run: Run) -> None:
        """The model was deleted in DRoA: nothing more will come."""
        import fcntl

        from drtui.runstore.store import ACTIVE

        with open(run.path / "droa.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            run.reload()
            if run.status not in ACTIVE:
                return
            why = f"DeepRacer on AWS model {run.state['droa_model_id']} no longer exists"
            with open(run.log_path, "a", encoding="utf-8") as log:
                log.write(STATUS_TAG + json.dumps({"state": "failed", "message": why}) + "\n")
            run.update(status="failed", error=why, droa_active=False, droa_polled=time.time())

    # -- stopping ------------------------------------------------------------------------------
    async def stop(self, run: Run, host: Host | None = None, *, grace: float = 30.0) -> None:
        """PATCH the model, which stops its SageMaker job (DRoA keeps the model trained so
        far); then watch up to `grace` seconds for the job to end."""
        from drtui.backends.droa_client import DroaBadRequest

        model_id = run.reload().state.get("droa_model_id")
        if not model_id:
            return
        client = self.client(run)
        deadline = time.monotonic() + grace
        run.update(droa_stop_requested=True)
        while True:
            try:
                await client.stop_model(model_id)
                break
            except DroaBadRequest as exc:
                # DRoA refuses to stop a job while it initialises: ask again until it runs
                if "initiali" in str(exc).lower() and time.monotonic() < deadline:
                    await asyncio.sleep(min(float(self.settings(run).poll_seconds), 5.0))
                    await self.poll(run)
                    continue
                if "not in a stoppable state" in str(exc).lower():
                    break  # it already ended
                raise
        run.update(status="stopping")
        poll_s = float(self.settings(run).poll_seconds)
        while await self.poll(run) and time.monotonic() < deadline:
            await asyncio.sleep(poll_s)
