# Over 450 lines: one Trainer class, to be split into settings, world builder, run recorder and log
# writer (issue 14).
"""The training process: `python -m drtui.train RUN_DIR [--resume] [--trace-all]`.

Reads RUN_DIR/session.toml and RUN_DIR/files/custom_files/reward_function.py, trains on the
embedded simulator with N cars stepping together (each plays a DeepRacer worker), and prints
DeepRacer's log lines to stdout (the embedded runner appends them to RUN_DIR/logs/trainer.log),
so the parser that reads real DeepRacer logs reads this one:

    SIM_TRACE_LOG:...                      every step of car 0 (--trace-all: every car)
    Training> Name=main_level/agent, ...   each training episode (any car; Worker = car),
                                           with Progress= and Status= appended
    Policy training> Surrogate loss=...    each PPO epoch (SAC: one line per update)
    Checkpoint> Saving in path=['./checkpoint/agent/N_Step-M.ckpt']
                                           iteration N's update is done and checkpointed
    ## agent: Starting evaluation phase ... Testing> ... Finished evaluation phase ...
    [BestModelSelection] ...               min_eval_trials greedy episodes after each update

Per iteration: the checkpoint (checkpoint.py), TensorBoard scalars (RUN_DIR/tb),
RUN_DIR/metrics/TrainingMetrics.json and training-simtrace/<k>-iteration.csv, and state.json
(status, iteration, best). Every one of them is written at the iteration boundary only, so a
SIGKILL loses the iteration in progress and nothing else; --resume continues from the last
checkpoint and drops whatever a killed iteration left behind.

SIGINT/SIGTERM finish the current step and exit 0 with status "stopped" (the last complete
iteration is the final checkpoint); training.time_limit_minutes ends training the same way
with status "finished". A broken reward function, session or checkpoint ends it with status
"failed", the reason in state.json and as one `ERROR:` line in the log, and exit code 1 or 2.

Trainer settings that the session does not hold (environment variables):
    DRTUI_CARS           cars stepping together (default 16; 8 with a camera)
    DRTUI_CAMERA_SIZE    internal camera resolution, WxH (default 80x60; see obs.py)
    DRTUI_DEVICE         cpu | cuda | auto (default auto: cuda when available)
    DRTUI_THREADS        torch CPU threads (default: cores - 1, at most 4; 1 on 2 cores)
    DRTUI_TEACHER        auto | on | off: warm-start a camera policy from a privileged teacher
                         (distill.py; auto: camera + clipped_ppo on a CPU)
    DRTUI_LOG_MAX_MB     the trainer log's size cap (logs/bounded.py)
    DRTUI_LIMIT_GRACE_S  seconds past the time limit before the supervisor kills (supervise.py)
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import torch

from drtui.errors import DrtuiError, InvalidInput
from drtui.logs import protocol
from drtui.logs.camera import CAMERA_EVERY_S
from drtui.sim.env import EpisodeEnd
from drtui.train import checkpoint as ckpt
from drtui.train.distill import greedy_laps
from drtui.train.obs import (
    CAMERA_SENSORS,
    DEFAULT_CAMERA_SIZE,
    ObsAdapter,
    camera_size_for,
    parse_size,
)
from drtui.train.rollout import StopTraining, TrainEnv

DEFAULT_CARS, DEFAULT_CAMERA_CARS = 16, 8
EPISODE_LIMIT_LAPS = 2.0  # step limit of an episode: two laps' worth at the slowest speed


class UserError(DrtuiError):
    """A problem the user can fix (session, reward function, checkpoint): one clear line."""


@dataclass
class Settings:
    cars: int
    camera_size: tuple[int, int]
    device: str
    threads: int
    teacher: bool
    trace_all: bool = False


def default_threads(env=None) -> int:
    """DRTUI_THREADS, else cores - 1 (at most 4): one core stays free for the simulator's
    Python and for drtui itself, so one torch thread on a 2-core machine. A second one made
    camera PPO 1.5x faster on an idle machine but 10-25x slower when another process was
    busy (OpenMP threads spin)."""
    env = os.environ if env is None else env
    if env.get("DRTUI_THREADS"):
        return _whole_number(env, "DRTUI_THREADS")
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def _whole_number(env, name: str) -> int:
    """A trainer setting from the environment: a whole number of at least 1, or one line
    naming the variable."""
    text = env[name]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UserError(f"{name} must be a whole number of at least 1 (got {text!r})")
    return value


@contextmanager
def torch_threads(n: int | None = None):
    """torch's CPU thread count set to n (default_threads()) for the block, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(n or default_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def settings_for(session, *, trace_all: bool = False, env=None) -> Settings:
    env = os.environ if env is None else env
    camera = [s for s in session.car.sensors if s in CAMERA_SENSORS]
    cars = (_whole_number(env, "DRTUI_CARS") if env.get("DRTUI_CARS") else
            DEFAULT_CAMERA_CARS if camera else DEFAULT_CARS)
    size = DEFAULT_CAMERA_SIZE
    if env.get("DRTUI_CAMERA_SIZE"):
        try:
            size = parse_size(env["DRTUI_CAMERA_SIZE"])
        except ValueError as err:
            raise UserError(f"DRTUI_CAMERA_SIZE: {err}") from None
    channels = 2 if "STEREO_CAMERAS" in camera else 1
    size = camera_size_for(session.network.architecture, size, channels)
    device = env.get("DRTUI_DEVICE", "auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = default_threads(env)
    teacher = env.get("DRTUI_TEACHER", "auto").lower()
    if teacher not in ("auto", "on", "off"):
        raise UserError(f"DRTUI_TEACHER must be auto, on or off (got {teacher!r})")
    if teacher == "auto":
        teacher = "on" if camera and session.training.algorithm == "clipped_ppo" and \
            device == "cpu" else "off"
    return Settings(cars, size, device, threads, teacher == "on", trace_all)


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


class _Metrics:
    """TrainingMetrics.json (drtui.sim.logs.TrainingMetrics) written at iteration boundaries
    only, each entry tagged with its iteration so that a resume can drop a killed iteration's."""

    def __init__(self, path: Path, best_model_metric: str):
        from drtui.sim.logs import TrainingMetrics

        class Deferred(TrainingMetrics):
            def write(self) -> None:  # TrainingMetrics rewrites the file per episode
                pass

        self.tm = Deferred(path, best_model_metric)
        self._write = lambda: TrainingMetrics.write(self.tm)

    @property
    def episodes(self) -> int:
        return self.tm.episodes

    def add(self, end, phase: str, iteration: int) -> None:
        entry = self.tm.add(end, phase)
        entry["iteration"] = iteration

    def flush(self) -> None:
        self._write()

    def restore(self, upto_iteration: int, saved: list | None) -> str | None:
        """Back to the entries of iterations up to `upto_iteration` (a killed iteration's
        dropped). The checkpoint's own copy (`saved`, its entries when it was written) stands
        in for a file that is unreadable or holds fewer of them: never silently shortened.
        Returns a note of what was restored, or raises UserError when nothing can be."""
        path = self.tm.path
        kept, why = None, None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data.get("metrics") if isinstance(data, dict) else None
            if not isinstance(entries, list) or \
                    not all(isinstance(m, dict) for m in entries):
                why = 'must be an object whose "metrics" is a list of objects'
            else:
                kept = [m for m in entries if _iteration_of(m) <= upto_iteration]
        except FileNotFoundError:
            why = "is missing"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            why = f"is not valid JSON ({err})"
        note = None
        if saved is not None:
            saved_kept = [m for m in saved if _iteration_of(m) <= upto_iteration]
            training = lambda ms: sum(m.get("phase") == "training" for m in ms)  # noqa: E731
            if kept is None or training(kept) < training(saved_kept):
                why = why or (f"holds {training(kept)} training entries, the checkpoint "
                              f"{training(saved_kept)}")
                if path.exists():  # kept beside: nothing is lost
                    path.replace(path.with_name(f"{path.name}.damaged-{int(time.time())}"))
                kept = saved_kept
                note = (f"## drtui: metrics/{path.name} {why}: restored its "
                        f"{len(kept)} entries from the checkpoint")
        if kept is None:
            raise UserError(f"cannot resume: metrics/{path.name} {why}, and the checkpoint "
                            "holds no copy of it (an older drtui wrote it); move the file "
                            "away to resume with its metrics started afresh")
        self.tm.metrics = kept
        self.tm.episodes = sum(m.get("phase") == "training" for m in kept)
        self.flush()
        return note

    def evaluated(self, iteration: int) -> bool:
        return any(m.get("phase") == "evaluation" and _iteration_of(m) == iteration
                   for m in self.tm.metrics)


def _iteration_of(entry: dict) -> int:
    value = entry.get("iteration", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _last_logged_episode(log: Path, window: int = 8 << 20) -> int:
    """The highest Episode= of the Training> lines near the log's end (a killed iteration's
    episodes were printed; a resume numbers on after them, never repeats them)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - window))
            tail = fh.read(window).decode("utf-8", errors="replace")
    except OSError:
        return 0
    numbers = protocol.TRAINING_EPISODE.findall(tail)
    return max(map(int, numbers), default=0)


def remove_temp_files(run_dir: Path) -> list[str]:
    """Temporary files a killed writer left (atomic writes of checkpoints, metrics, state):
    removed by the run's trainer, which alone writes checkpoints/ and metrics/; state.json's
    under its lock, so a follower's write in progress is not touched."""
    import fcntl

    removed = []
    for sub in ("checkpoints", "metrics"):
        for tmp in sorted((run_dir / sub).rglob("*.tmp")):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(str(tmp.relative_to(run_dir)))
    with open(run_dir / "state.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for tmp in sorted(run_dir.glob(".state.json.*.tmp")):
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
    return removed


class Trainer:
    def __init__(self, run_dir: str | os.PathLike, *, resume: bool = False,
                 trace_all: bool = False, out: TextIO | None = None, env=None,
                 lock_fd: int | None = None, reward_output=None):
        self.run_dir = Path(run_dir).resolve()
        self.resume, self.trace_all = resume, trace_all
        self.out = out or sys.stdout
        # the supervisor's trainer lock (drtui.train.supervise); in-process use takes its own
        self.lock_fd = lock_fd
        # drtui.logs.bounded.RewardOutput: sys.stdout/stderr while training (the process only)
        self.reward_output = reward_output
        self.environ = os.environ if env is None else env
        self.iteration = 0  # complete iterations
        self.best: dict | None = None
        self._stop_signal: int | None = None
        self._deadline = math.inf
        # in-process use (drtui.research.lab): another world than the session's, and
        # iterations without the in-training evaluation
        self.world_override = None
        self.evaluate_each_iteration = True

    # -- output ----------------------------------------------------------------------------

    def log(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def _state(self, **changes) -> None:
        from drtui.runstore.store import Run

        Run(self.run_dir).update(**changes)  # a locked merge: keeps the launcher's keys

    # -- the process -----------------------------------------------------------------------

    def run(self) -> int:
        """Train until stopped, the time limit or the iteration limit; the exit code."""
        from drtui.runstore import owner

        own_lock = None
        if self.lock_fd is None:  # in this process, not under the supervisor
            try:
                own_lock = owner.acquire(self.run_dir)
            except owner.TrainerBusy as busy:
                self.log(f"ERROR: not started: {busy}")
                return 3  # the live trainer's state stays as it wrote it
            me = {"pid": os.getpid(), "pid_start": owner.start_time(os.getpid())}
        else:
            me = {"worker_pid": os.getpid()}
        self._install_signals()
        self._state(status="running", error=None, **me)
        saved = sys.stdout, sys.stderr
        if self.reward_output is not None:  # what user code prints goes through the caps
            sys.stdout = sys.stderr = self.reward_output
        try:
            self._setup()
            reason = self._train()
        except StopTraining as stop:
            reason = stop.reason
        except KeyboardInterrupt:  # a second SIGINT: stop now, the checkpoint is on disk
            reason = "stopped"
        except (DrtuiError, SyntaxError) as err:
            return self._fail(err)
        except SystemExit as err:  # only user code exits: the reward function did
            return self._fail(UserError(
                f"reward_function.py called exit({err.code!r}); a reward function must return "
                "a number"))
        except Exception as err:  # noqa: BLE001 - a trainer bug: keep the traceback
            traceback.print_exc(file=self.out)
            return self._fail(err, internal=True)
        finally:
            sys.stdout, sys.stderr = saved
            self._report_output()
            self._close()
            if own_lock is not None:
                os.close(own_lock)
        return self._finish(reason)

    def _report_output(self) -> None:
        """The one line that counts what the caps held back (reward prints, log chatter)."""
        if self.reward_output is not None:
            self.reward_output.flush_partial()
        for source in (self.reward_output, self.out):
            line = source.summary() if hasattr(source, "summary") else None
            if line:
                self.log(line)

    def _install_signals(self) -> None:
        def request_stop(signum, _frame):
            if self._stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._stop_signal = signum

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def _should_stop(self) -> str | None:
        if self._stop_signal is not None:
            return "stopped"
        if time.monotonic() >= self._deadline:
            return "finished"
        return None

    def _fail(self, err: BaseException, internal: bool = False) -> int:
        if isinstance(err, SyntaxError):
            message = f"reward_function.py line {err.lineno}: SyntaxError: {err.msg}"
        elif isinstance(err, InvalidInput):
            message = "session.toml: " + "; ".join(str(p) for p in err.problems)
        else:
            message = str(err).split("\n", 1)[0] or type(err).__name__
            if internal:
                message = f"{type(err).__name__}: {message}"
        detail = str(err) if not isinstance(err, SyntaxError) else message
        self.log(f"ERROR: training failed: {message}")
        self._state(status="failed", error=message, error_detail=detail, ended=time.time())
        return 1 if internal else getattr(err, "exit_code", 1)

    def _finish(self, reason: str) -> int:
        name = self.last_name if hasattr(self, "last_name") else None
        why = {"stopped": "stop requested", "finished": "time limit reached",
               "done": "iteration limit reached"}.get(reason, reason)
        if hasattr(self, "csv") and getattr(self, "_partial_csv", None) is not None:
            self._partial_csv.unlink(missing_ok=True)  # an abandoned iteration's steps
        self.log(protocol.training_ended_line(why, self.iteration, name))
        status = "stopped" if reason == "stopped" else "finished"
        self._state(status=status, iteration=self.iteration, ended=time.time())
        return 0

    def _close(self) -> None:
        for name in ("csv", "tb"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.close()

    # -- setup -------------------------------------------------------------------------------

    def _setup(self) -> None:
        from drtui.runstore.tensorboard import ScalarWriter
        from drtui.session import store as session_store
        from drtui.sim.logs import SimTraceCsv, SimTraceLog

        self.session = session = session_store.load(self.run_dir / "session.toml")
        if session.track.route:  # in memory only: the run folder's route.npy, wherever it is
            session.track.route = str((self.run_dir / session.track.route).resolve())
        self.settings = s = settings_for(session, trace_all=self.trace_all, env=self.environ)
        torch.set_num_threads(s.threads)
        self.reward = self._reward_function()
        seed = session.training.seed
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
        self.seed = seed
        torch.manual_seed(seed)

        self.tasks = None  # multi-task: (name, session) of each worker's world
        self.task_cars: list[int] | None = None  # cars per task (default: an even split)
        if session.training.workers > 1:
            from drtui.sim.multi import task_sessions

            self.tasks = task_sessions(session)
            s.cars = max(s.cars, len(self.tasks))  # at least one car a task
            s.teacher = False  # the warm start distils on one world
        self.curriculum = None
        if session.research.curriculum is not None:
            from drtui.train.curriculum import Curriculum

            self.curriculum = Curriculum(session.research.curriculum, session)
        self._check_worlds()
        self._build_sims()
        self.algo, self.build = self._make_algorithm(s.device)
        self.algo.interrupt = self._should_stop
        self._build_env()

        metrics = self.run_dir / "metrics"
        self.metrics = _Metrics(metrics / "TrainingMetrics.json",
                                session.training.best_model_metric)
        cars = None if s.trace_all else [0]
        self.trace = SimTraceLog(self.out, cars)
        self._camera_at = 0.0  # the next CAMERA_FRAME line (drtui.logs.camera)
        self.csv = SimTraceCsv(metrics / "training-simtrace", cars)
        self.tb = ScalarWriter(self.run_dir / "tb")
        self.elapsed_before = 0.0
        self.distilled = False
        self.episode_offset = 0  # log episode numbers past a killed iteration's
        removed = remove_temp_files(self.run_dir)
        self._header()
        if removed:
            self.log(f"## drtui: removed {len(removed)} temporary files a killed trainer left: "
                     + ", ".join(removed))
        if self.curriculum is not None and not self.resume:
            self.log(self.curriculum.describe())
        if self.resume:
            self._restore()
        else:
            self._transfer()
            self.metrics.flush()  # a fresh run starts with an empty TrainingMetrics.json
            self._checkpoint()  # 0_Step-0: a stop before the first update still has one
        limit_s = session.training.time_limit_minutes * 60.0 - self.elapsed_before
        self.started = time.monotonic()
        self._deadline = self.started + max(0.0, limit_s)
        self._state(limit_at=time.time() + max(0.0, limit_s))  # the supervisor enforces it
        self.env.reset()

    def _check_worlds(self) -> None:
        """Every world the simulator drives has waypoints (launch checks it too; a run folder
        made by hand or by an older drtui gets one line naming the key, not a traceback)."""
        from drtui.problem import errors
        from drtui.session.runner_rules import runner_problems

        problems = errors(runner_problems(self.session, "embedded"))
        if problems:
            raise UserError("; ".join(str(p) for p in problems))

    def _world_session(self):
        """The session as the simulator plays it now: the current curriculum stage's."""
        if self.world_override is not None:
            return self.world_override
        return self.curriculum.session() if self.curriculum else self.session

    def _build_sims(self) -> None:
        """The training and evaluation simulators of the current world (curriculum stage)."""
        from drtui.sim.env import DeepRacerSim, SimConfig
        from drtui.sim.episode import StartRule
        from drtui.sim.randomize import RandomizationConfig
        from drtui.train.curriculum import capped_speeds

        s, seed, world = self.settings, self.seed, self._world_session()
        reward = self.reward
        if self.curriculum is not None and self.curriculum.stage.reward_params:
            reward = self._reward_function(world)
        cap = self.curriculum.max_speed() if self.curriculum else None

        def train_sim(task_session, cars: int, task_seed: int):
            cfg = capped_speeds(SimConfig.from_session(
                task_session, cars, camera_size=s.camera_size, seed=task_seed,
                randomization=RandomizationConfig.from_session(task_session)), cap)
            sim = DeepRacerSim(cfg, reward)
            cfg.max_steps = self._episode_limit(cfg, sim)
            return sim

        if self.tasks is None:
            self.sim = train_sim(world, s.cars, seed)
        else:  # multi-task: the cars split between the workers' worlds (drtui.sim.multi)
            from drtui.sim.multi import MultiSim

            k = len(self.tasks)
            sizes = self.task_cars or [s.cars // k + (i < s.cars % k) for i in range(k)]
            self.sim = MultiSim([train_sim(t, n, seed + 101 * i) for i, ((_, t), n)
                                 in enumerate(zip(self.tasks, sizes))],
                                [name for name, _ in self.tasks])
        cfg = self.sim.cfg
        trials = world.training.min_eval_trials
        eval_start = StartRule(True, 1.0 / trials, world.training.start_position_offset, False)
        eval_cfg = capped_speeds(SimConfig.from_session(world, trials, camera_size=s.camera_size,
                                                        seed=seed + 1, start=eval_start), cap)
        self.eval_sim = DeepRacerSim(eval_cfg, reward)
        eval_cfg.max_steps = cfg.max_steps

    def _build_env(self) -> None:
        frames = getattr(self.algo.net, "frames", 1)
        shapes = self.sim.observation_shapes()
        self.adapter, self.eval_adapter = ObsAdapter(shapes, frames), ObsAdapter(shapes, frames)
        total = self.env.total_steps if hasattr(self, "env") else 0
        self.env = TrainEnv(self.sim, self.adapter, on_step=self._on_step,
                            on_episode=self._on_episode, should_stop=self._should_stop)
        self.env.total_steps = total

    def _promote(self) -> None:
        """The next curriculum stage: new simulators, the same policy and optimiser."""
        self._build_sims()
        self._build_env()
        self.env.reset()
        # evaluations of the earlier stage were on another world (or speed limit): the best
        # checkpoint is chosen afresh among this stage's, or best.pt would stay the easy stage's
        self.best = None
        self.log(self.curriculum.describe())
        self._state(stage={"index": self.curriculum.state.index + 1,
                           "total": self.curriculum.total, "name": self.curriculum.stage.name})

    def _reward_function(self, world_session=None):
        from drtui.reward.check import load_reward_function

        path = self.run_dir / "files" / "custom_files" / "reward_function.py"
        if world_session is not None:  # a curriculum stage's own reward parameters
            from drtui.files.render import reward_function_py

            source = reward_function_py(world_session, self.run_dir)
        elif path.is_file():
            source = path.read_text(encoding="utf-8")
        else:  # a run folder without generated files: render the session's reward
            from drtui.files.render import reward_function_py

            source = reward_function_py(self.session, self.run_dir)
        try:
            return load_reward_function(source)
        except SyntaxError:
            raise
        except Exception as err:  # noqa: BLE001 - the module's own code raised
            raise UserError(f"reward_function.py could not be loaded: "
                            f"{type(err).__name__}: {err}") from None

    def _episode_limit(self, cfg, sim=None) -> int:
        """simapp's 10000 steps, or two laps at the slowest speed if that is fewer: a car
        that circles on the road must not hold up an iteration for minutes."""
        from drtui.sim.car import STEP_S
        from drtui.sim.episode import MAX_STEPS

        slowest = max(0.1, min(cfg.speed_range))
        laps = EPISODE_LIMIT_LAPS * (sim or self.sim).track.length / (slowest * STEP_S)
        return min(MAX_STEPS, math.ceil(laps))

    def _make_algorithm(self, device: str):
        from drtui.train.networks import factory
        from drtui.train.networks.spec import ActionSpec, continuous, discrete
        from drtui.train.obs import obs_spec

        session = self.session
        space = session.action_space
        if space.type == "discrete":
            spec: ActionSpec = discrete(len(space.discrete_actions()))
        else:
            spec = continuous((space.steering_angle.low, space.speed.low),
                              (space.steering_angle.high, space.speed.high))
        spec_obs = obs_spec(self.sim.observation_shapes())
        network = session.network.architecture
        build = {"algorithm": session.training.algorithm, "network": network,
                 "obs_spec": {k: list(v) for k, v in spec_obs.items()},
                 "action_spec": {k: (list(v) if isinstance(v, tuple) else v)
                                 for k, v in asdict(spec).items()},
                 "options": {}, "sensors": list(session.car.sensors),
                 "camera_size": list(self.settings.camera_size)}
        try:
            if session.training.algorithm == "sac":
                from drtui.train.sac import SAC, SACConfig

                actor = factory.build_actor(network, spec_obs, spec)
                critic = factory.build_critic(network, spec_obs, spec)
                adapter = ObsAdapter(self.sim.observation_shapes(), actor.frames)
                shapes = adapter.store_shapes()
                dtypes = {k: torch.uint8 if len(v) == 3 else torch.float32
                          for k, v in shapes.items()}
                algo = SAC(actor, critic, SACConfig.from_session(session), shapes, dtypes, device)
            else:
                from drtui.train.ppo import PPO, PPOConfig

                net = factory.build(network, spec_obs, spec)
                algo = PPO(net, PPOConfig.from_session(session), device)
        except ValueError as err:  # e.g. a network that cannot take this input
            raise UserError(f"network {network}: {err}") from None
        return algo, build

    def _header(self) -> None:
        s, session = self.settings, self.session
        hp = session.effective_hyperparameters()
        space = session.action_space
        actions = ([{"steering_angle": a.steering_angle, "speed": a.speed}
                    for a in space.discrete_actions()] if space.type == "discrete" else
                   {"steering_angle": space.steering_angle.model_dump(),
                    "speed": space.speed.model_dump()})
        camera = "x".join(map(str, s.camera_size))
        self.log(protocol.trainer_header_line(self.run_dir.name, session.track.world, s.cars,
                                              s.trace_all, camera, s.device, s.threads,
                                              self.seed))
        self.log(f"Sensor list {list(session.car.sensors)}, network "
                 f"{session.network.architecture}, simapp_version drtui-embedded, "
                 f"training_algorithm {session.training.algorithm}, action_space_type {space.type}")
        self.log(f"Action space from file: {actions}")
        self.log("Using the following hyper-parameters")
        self.log(json.dumps(hp, indent=2, sort_keys=True))
        if session.training.algorithm == "sac" and \
                (per := self.algo.episodes_per_iteration(s.cars)) != \
                hp["num_episodes_between_training"]:
            self.log(f"## drtui: num_episodes_between_training "
                     f"{hp['num_episodes_between_training']} -> {per}: {s.cars} cars step "
                     "together, and a SAC iteration takes one episode per car")

    # -- checkpoints ---------------------------------------------------------------------------

    def _payload(self) -> dict:
        return {"build": self.build, "algorithm": self.algo.state_dict(),
                "policy": self.algo.policy_state(), "iteration": self.iteration,
                "total_steps": self.env.total_steps, "episodes": self.metrics.episodes,
                "elapsed_s": self._elapsed(), "seed": self.seed, "name": self._name(),
                "distilled": self.distilled,
                "held_episodes": [asdict(end) for end in self.env.held],
                "metrics": [dict(m) for m in self.metrics.tm.metrics],
                "curriculum": self.curriculum.state_dict() if self.curriculum else None,
                "rng": {"torch": torch.get_rng_state(), "sim": self.sim.gen.get_state(),
                        "eval_sim": self.eval_sim.gen.get_state()}}

    def _name(self) -> str:
        return ckpt.ckpt_name(self.iteration, self.env.total_steps)

    def _elapsed(self) -> float:
        started = getattr(self, "started", None)
        return self.elapsed_before + (time.monotonic() - started if started else 0.0)

    def _checkpoint(self) -> None:
        ckpt.save(self.run_dir, self._payload())
        self.last_name = self._name()
        index = ckpt.read_index(self.run_dir)
        index["last_checkpoint"] = ckpt.index_entry(self.last_name, self.iteration, None, "last.pt")
        index.setdefault("best_checkpoint", None)
        ckpt.write_index(self.run_dir, index)
        self.log(protocol.checkpoint_line(self.last_name))

    def _transfer(self) -> None:
        """[research.transfer]: start from another run's weights, or from a DRfC model's
        TensorFlow checkpoint (transfer.py)."""
        spec = self.session.research.transfer
        if spec is None:
            return
        from drtui.train.transfer import (
            TransferError,
            resolve_source,
            transfer_from_tf,
            transfer_into,
        )

        workspace = self.run_dir.parent.parent  # RUN_DIR is WORKSPACE/runs/ID
        network = self.session.network.architecture
        try:
            if spec.drfc_checkpoint:
                given = Path(spec.drfc_checkpoint).expanduser()
                report = transfer_from_tf(self.algo.net, given if given.is_absolute()
                                          else workspace / given, spec.checkpoint, network)
            else:
                report = transfer_into(self.algo.net, resolve_source(spec.from_run, workspace),
                                       spec.checkpoint, network)
        except TransferError as err:
            raise UserError(str(err)) from None
        if hasattr(self.algo, "target"):  # SAC: the target critic follows the critic
            self.algo.target.load_state_dict(self.algo.critic.state_dict())
        self.distilled = True  # a transferred policy needs no teacher warm start
        self.log(report.line())
        self._state(transfer={"source": report.source, "copied": len(report.copied),
                              "fresh": sorted({n.rsplit(".", 1)[0] for n in report.fresh}),
                              "notes": report.notes})

    def _restore(self) -> None:
        try:
            payload = ckpt.load(self.run_dir, "last")
        except (FileNotFoundError, ValueError, RuntimeError, ckpt.CheckpointError) as err:
            raise UserError(f"cannot resume: {err}") from None
        if note := ckpt.set_aside_damaged_index(self.run_dir):
            self.log(note)
        try:
            self._apply(payload)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise UserError(f"cannot resume: checkpoints/last.pt is damaged "
                            f"({type(err).__name__}: {str(err)[:200]})") from None

    def _apply(self, payload: dict) -> None:
        """The checkpoint's state into this trainer (resume)."""
        if payload["build"]["network"] != self.build["network"] or \
                payload["build"]["obs_spec"] != self.build["obs_spec"]:
            raise UserError("cannot resume: the checkpoint was trained with another network "
                            "or observation size (DRTUI_CAMERA_SIZE?)")
        try:
            self.algo.load_state_dict(payload["algorithm"])
        except (RuntimeError, KeyError) as err:  # layer shapes of another drtui version
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"cannot resume: the checkpoint's layers do not fit this drtui's "
                            f"{self.build['network']} ({first[:200]})") from None
        if self.curriculum is not None and payload.get("curriculum"):
            self.curriculum.load_state_dict(payload["curriculum"])
            if self.curriculum.state.index:  # the stage it was in: its world, then its RNGs
                self._build_sims()
                self._build_env()
            self.log(self.curriculum.describe())
        self.iteration = int(payload["iteration"])
        self.env.total_steps = int(payload["total_steps"])
        self.elapsed_before = float(payload.get("elapsed_s", 0.0))
        self.seed = int(payload.get("seed", self.seed))
        self.distilled = bool(payload.get("distilled", False))
        self.env.held = [EpisodeEnd(**end) for end in payload.get("held_episodes", [])]
        torch.set_rng_state(payload["rng"]["torch"])
        self.sim.gen.set_state(payload["rng"]["sim"])
        self.eval_sim.gen.set_state(payload["rng"]["eval_sim"])
        note = self.metrics.restore(self.iteration, payload.get("metrics"))
        if note:
            self.log(note)
        self.last_name = payload["name"]
        self.best = ckpt.read_index(self.run_dir).get("best_checkpoint")  # checked entries
        self.episode_offset = max(0, _last_logged_episode(self.run_dir / "logs" / "trainer.log")
                                  - self.metrics.episodes)
        self.log(protocol.resumed_line(self.last_name, self.iteration))

    # -- hooks ---------------------------------------------------------------------------------

    def _on_step(self, record) -> None:
        self.trace.write(record)
        self.csv.write(record)
        now = time.monotonic()
        if now >= self._camera_at and "camera" in self.env.obs:
            self._camera_at = now + CAMERA_EVERY_S
            self._camera_frame(record)
        if self.reward_output is not None:
            self.reward_output.next_step()

    def _on_episode(self, end) -> None:
        it = self.iteration + 1
        self.iter_ends.append(end)
        self.metrics.add(end, "training", it)
        self.log(protocol.episode_line("training", end.car,
                                       self.metrics.episodes + self.episode_offset, end.reward,
                                       self.env.total_steps, it - 1, end.progress, end.status,
                                       end.end_time - end.start_time))

    def _camera_frame(self, record) -> None:
        """One CAMERA_FRAME line: car 0's newest camera image as its policy sees it (the
        first channel of a stereo pair), every k-th pixel so it is at most MAX_SIDE wide."""
        from drtui.logs.camera import frame_line, stride_for

        stored = self.env.obs["camera"][0]  # (frames*C, H, W) uint8, oldest frame first
        channels = self.adapter.spec["camera"][0]
        image = stored[stored.shape[0] - channels]
        k = stride_for(image.shape[1])
        small = image[::k, ::k].contiguous()
        height, width = small.shape
        episode, step = int(record.episode[0]), int(record.steps[0])
        self.log(frame_line(0, episode, step, width, height,
                            small.to(torch.uint8).cpu().numpy().tobytes()))

    # -- the loop --------------------------------------------------------------------------------

    def _train(self) -> str:
        # simapp hands term_cond_max_episodes to Coach as TrainingSteps: policy updates
        max_iterations = int(self.session.effective_hyperparameters()["term_cond_max_episodes"])
        if self.settings.teacher and self.iteration == 0 and not self.distilled:
            self._warm_start()
        if self.resume and self.evaluate_each_iteration and self.iteration >= 1 and \
                not self.metrics.evaluated(self.iteration):
            self.log(f"## drtui: iteration {self.iteration}'s evaluation did not finish before "
                     "the trainer ended: running it again")
            self._evaluate(self.iteration)
        while True:
            if self.iteration >= max_iterations:
                return "done"
            reason = self._should_stop()
            if reason:
                return reason
            self._iterate()

    def _warm_start(self) -> None:
        """Teacher on privileged state, distilled into the camera network (distill.py); saved
        and evaluated as iteration 0."""
        from drtui.train.distill import distill, train_teacher

        self.log("## drtui: camera warm start: a PPO teacher on privileged state, distilled "
                 "into the camera network (DRTUI_TEACHER=off skips it)")
        t0 = time.monotonic()
        spec = self.algo.net.action_spec
        teacher, teacher_steps = train_teacher(
            self._world_session(), self.sim.reward_function, spec, seed=self.seed, log=self.log,
            should_stop=self._should_stop, episode_limit=self.sim.cfg.max_steps,
            eval_trials=self.eval_sim.n)
        quiet = TrainEnv(self.sim, self.adapter, should_stop=self._should_stop)
        used = distill(self.algo, teacher, quiet, self.eval_sim, self.eval_adapter,
                       batch_size=self.algo.cfg.batch_size, log=self.log,
                       should_stop=self._should_stop)
        self.env.total_steps += teacher_steps + used
        self.distilled = True
        self.log(f"## drtui: warm start done in {time.monotonic() - t0:.0f} s: "
                 f"{teacher_steps} teacher and {used} camera env steps")
        self._checkpoint()
        self.env.reset()  # the cars' episodes start afresh for PPO
        self._evaluate(0)

    def _iterate(self) -> None:
        it = self.iteration + 1
        self.iter_ends: list = []
        self.metrics.tm.start_iteration()
        self._partial_csv = self.csv.start_iteration(it - 1)
        t0, steps0 = time.monotonic(), self.env.total_steps
        batch = self.algo.collect(self.env)
        collect_s = time.monotonic() - t0
        epochs = self.algo.update(batch)
        del batch
        for e in epochs:
            self.log(protocol.policy_line(e["loss"], e["kl"], e["entropy"], e["epoch"],
                                          e["learning_rate"]))
        self.csv.close()
        self._partial_csv = None
        self.iteration = it
        self.metrics.flush()  # before the checkpoint: a resume trims, never lacks, entries
        self._checkpoint()
        wall = time.monotonic() - t0
        summary = self._summary(it, epochs)
        steps = self.env.total_steps - steps0
        self._iteration_scalars(summary, epochs, steps / max(wall, 1e-9), collect_s, wall)
        self.log(protocol.iteration_line(it, summary.episodes, summary.mean_progress,
                                         summary.completion_rate, summary.mean_reward, steps,
                                         wall))
        if self.tasks is not None:
            self._task_metrics(it)
        if self.reward_output is not None and (held := self.reward_output.summary()):
            self.log(held)
        self._state(iteration=it, total_steps=self.env.total_steps, last=self.last_name)
        if self._should_stop():
            return
        if self.evaluate_each_iteration:
            self._evaluate(it)
        if self.curriculum is not None and self.curriculum.observe(summary.mean_progress):
            self._promote()
            # saved without a Checkpoint> line (that line marks an iteration's end): a resume
            # continues in the new stage
            ckpt.save(self.run_dir, self._payload())

    def _task_metrics(self, it: int) -> None:
        """Multi-task: each worker's world gets its own line (TaskIteration events) and
        TensorBoard scalars."""
        total = len(self.tasks)
        for k, (name, _) in enumerate(self.tasks):
            ends = [e for e in self.iter_ends if self.sim.task(e.car) == k]
            progress, _ = _mean_std([e.progress for e in ends])
            reward, _ = _mean_std([e.reward for e in ends])
            laps = sum(e.status == "lap_complete" for e in ends) / len(ends) if ends else None
            self.log(protocol.task_line(k + 1, total, name, it, len(ends), progress, laps,
                                        reward))
            self.tb.add_scalars(it, {f"task{k + 1}/mean_progress": progress,
                                     f"task{k + 1}/completion_rate": laps,
                                     f"task{k + 1}/mean_reward": reward})

    def _summary(self, it: int, epochs: list[dict]):
        from drtui.events import IterationEnd

        ends = self.iter_ends
        mean_r, std_r = _mean_std([e.reward for e in ends])
        mean_p, std_p = _mean_std([e.progress for e in ends])
        laps = [e.end_time - e.start_time for e in ends if e.status == "lap_complete"]
        return IterationEnd(
            iteration=it, episodes=len(ends), mean_reward=mean_r, std_reward=std_r,
            mean_progress=mean_p, std_progress=std_p,
            completion_rate=(sum(e.status == "lap_complete" for e in ends) / len(ends)
                             if ends else None),
            mean_lap_time_s=statistics.fmean(laps) if laps else None,
            policy_loss=_avg(epochs, "loss"), entropy=_avg(epochs, "entropy"),
            kl_divergence=_avg(epochs, "kl"), total_steps=self.env.total_steps)

    def _iteration_scalars(self, summary, epochs, rate, collect_s, wall) -> None:
        from drtui.runstore.tensorboard import iteration_scalars

        scalars = iteration_scalars(summary)
        scalars.update({"train/episodes": summary.episodes,
                        "train/total_steps": summary.total_steps,
                        "policy/value_loss": _avg(epochs, "value_loss"),
                        "policy/q_loss": _avg(epochs, "q_loss"),
                        "policy/explained_variance": _avg(epochs, "explained_variance"),
                        "time/steps_per_second": rate, "time/collect_s": collect_s,
                        "time/iteration_s": wall})
        self.tb.add_scalars(summary.iteration, {k: v for k, v in scalars.items()
                                                if v is None or math.isfinite(v)})

    # -- in-training evaluation ---------------------------------------------------------------

    def _evaluate(self, it: int) -> None:
        """min_eval_trials greedy episodes, one per eval car, from start lines spread over the
        lap; picks the best checkpoint by training.best_model_metric."""
        sim, adapter = self.eval_sim, self.eval_adapter
        self.log(protocol.EVAL_START)
        results = greedy_laps(sim, adapter, lambda obs: self.algo.act(obs, greedy=True),
                              should_stop=self._should_stop)
        for k, end in enumerate(results, 1):
            self.metrics.add(end, "evaluation", it)
            self.log(protocol.episode_line("evaluation", end.car, k, end.reward, end.steps,
                                           max(0, it - 1), end.progress, end.status,
                                           end.end_time - end.start_time))
        progress = [e.progress for e in results]
        rewards = [e.reward for e in results]
        success = sum(e.status == "lap_complete" for e in results) / len(results)
        self.log(protocol.eval_done_line(success, statistics.fmean(rewards)))
        self.log(protocol.eval_progress_line(progress))
        self.log("[BestModelSelection] Evaluation episode progress mean: "
                 f"{statistics.fmean(progress)}")
        metric_name = self.session.training.best_model_metric
        metric = statistics.fmean(eval_metric_values(metric_name, results))
        index = ckpt.read_index(self.run_dir)
        index["last_checkpoint"] = ckpt.index_entry(self.last_name, it, metric, "last.pt")
        previous = self.best
        if previous is None or previous.get("avg_eval_metric") is None or \
                better_eval_metric(metric_name, metric, previous["avg_eval_metric"]):
            ckpt.promote_best(self.run_dir)
            self.best = ckpt.index_entry(self.last_name, it, metric, "best.pt")
            self.log(f"[BestModelSelection] Updating the best checkpoint to \"{self.last_name}\" "
                     f"from \"{previous['name'] if previous else None}\".")
        index["best_checkpoint"] = self.best
        ckpt.write_index(self.run_dir, index)
        self.log(f"Best checkpoint number: {self.best['iteration']}, Last checkpoint number: {it}")
        self.metrics.flush()
        self.tb.add_scalars(it, {"eval/mean_progress": statistics.fmean(progress),
                                 "eval/mean_reward": statistics.fmean(rewards),
                                 "eval/success_rate": success})
        self._state(best={"name": self.best["name"], "iteration": self.best["iteration"],
                          "metric": metric_name, "value": self.best["avg_eval_metric"]},
                    eval_progress=statistics.fmean(progress), eval_success_rate=success)


LAPTIME_INCOMPLETE_MS = 999_999  # simapp's lap time of an evaluation episode without a lap


def eval_metric_values(metric_name: str, results: list) -> list[float]:
    """Each evaluation episode's score on training.best_model_metric, as simapp's
    s3_metrics counts it: progress, total reward, or the lap time in ms (999999 when the
    episode did not complete its lap)."""
    if metric_name == "laptime":
        return [round((e.end_time - e.start_time) * 1000) if e.status == "lap_complete"
                else LAPTIME_INCOMPLETE_MS for e in results]
    return [e.reward if metric_name == "reward" else e.progress for e in results]


def better_eval_metric(metric_name: str, metric: float, best: float) -> bool:
    """Whether `metric` beats the best so far: a shorter mean lap time (simapp keeps the
    later checkpoint on a tie), a higher mean progress or reward."""
    return metric <= best if metric_name == "laptime" else metric > best


def _avg(epochs: list[dict], key: str) -> float | None:
    values = [e[key] for e in epochs if key in e and e[key] is not None]
    return statistics.fmean(values) if values else None




def main(run_dir: str, *, resume: bool = False, trace_all: bool = False,
         worker: bool = False) -> int:
    """The trainer process (under drtui.train.supervise when worker): its log capped
    (DRTUI_LOG_MAX_MB), what the reward function prints capped per step and per run."""
    from drtui.logs.bounded import DEFAULT_LOG_MAX_MB, CappedLog, RewardOutput

    try:
        sys.stdout.reconfigure(line_buffering=True)
    except AttributeError:
        pass
    try:
        max_mb = _whole_number(os.environ, "DRTUI_LOG_MAX_MB") \
            if os.environ.get("DRTUI_LOG_MAX_MB") else DEFAULT_LOG_MAX_MB
    except UserError as err:
        print(f"ERROR: training failed: {err}", flush=True)
        return 2
    out = CappedLog(sys.stdout, max_mb << 20)
    lock_fd = None
    if worker:
        from drtui.train.supervise import LOCK_FD_ENV

        lock_fd = int(os.environ[LOCK_FD_ENV])
    return Trainer(run_dir, resume=resume, trace_all=trace_all, out=out, lock_fd=lock_fd,
                   reward_output=RewardOutput(out)).run()
