"""Optuna studies: where they are stored, how workers share one, and the best session.

By default a study lives in <workspace>/tune/<name>.db (sqlite), so running `drtui tune`
again resumes it; `--storage URL` takes any Optuna RDB URL (sqlite, PostgreSQL, MySQL) so
that workers on several machines add trials to one study. Workers starting together race to
create the schema and the study: on sqlite a lock file beside the database serialises that
step; on other databases creation is retried.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import time
from pathlib import Path
from typing import Any

from drtui.errors import DrtuiError, InvalidInput
from drtui.problem import Problem

PRUNERS = ("median", "halving", "none")
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SQLITE_TIMEOUT_S = 60  # a writer waits this long for another worker's transaction
HEARTBEAT_S, GRACE_S = 30, 120  # a killed worker's RUNNING trial is failed after this


class NoBestTrial(DrtuiError):
    """The study has no completed trial yet."""


def _problem(path: str, message: str):
    return Problem(path, message)


def check_name(name: str) -> str:
    if not STUDY_NAME.fullmatch(name):
        raise InvalidInput([_problem("--study", f"{name!r}: a study name is 1-64 characters "
                                               "of A-Z a-z 0-9 . _ - (it names files)")])
    return name


def default_storage(workspace: Path, name: str) -> str:
    path = (Path(workspace) / "tune" / f"{name}.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):].split("?", 1)[0]
    return None if rest in ("", ":memory:") else Path(rest)


def make_pruner(kind: str):
    import optuna

    if kind == "median":  # the first evaluation is noisy: judge from the second on
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise InvalidInput([_problem("--pruner", f"{kind!r}: choose from {', '.join(PRUNERS)}")])


@contextlib.contextmanager
def _creation_lock(url: str):
    path = _sqlite_path(url)
    if path is None:
        yield
        return
    if not path.parent.is_dir():
        raise InvalidInput([_problem("--storage", f"{path.parent}: no such folder for the "
                                                  "sqlite database")])
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def storage_for(url: str):
    import warnings

    import optuna

    kwargs: dict[str, Any] = {}
    # the heartbeat (a killed worker's RUNNING trial fails) is marked experimental
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if _sqlite_path(url) is not None:
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                      **kwargs)


def open_study(name: str, storage: str, *, pruner: Any = "median", sampler: Any = None,
               attempts: int = 5):
    """Create the study, or load it when it exists (resume, or another worker made it)."""
    import optuna
    import sqlalchemy.exc

    check_name(name)
    if isinstance(pruner, str):
        pruner = make_pruner(pruner)
    # drtui prints each trial itself; optuna's own log would add tracebacks of failed trials
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    error: Exception | None = None
    for attempt in range(attempts):
        try:
            with _creation_lock(storage):
                return optuna.create_study(study_name=name, storage=storage_for(storage),
                                           direction="maximize", sampler=sampler,
                                           pruner=pruner, load_if_exists=True)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError,
                optuna.exceptions.DuplicatedStudyError) as exc:
            # another worker created the schema or the study between our check and write
            error = exc
            time.sleep(0.5 * (attempt + 1))
        except sqlalchemy.exc.ArgumentError as exc:
            raise InvalidInput([_problem("--storage", f"{_redact(storage)}: not a database URL "
                                                      f"({exc})")]) from None
        except ImportError as exc:  # e.g. postgresql:// without psycopg2 installed
            raise DrtuiError(f"storage {_redact(storage)} needs a database driver that is not "
                             f"installed: {exc}") from None
        except ValueError as exc:  # e.g. an existing study that minimises
            raise DrtuiError(f"study {name!r}: {exc}") from None
    raise DrtuiError(f"cannot open study {name!r} in {_redact(storage)}: "
                     f"{str(error).splitlines()[0]}")


def optimize(study, objective, trials: int, *, on_trial=None) -> None:
    """Run `trials` trials in this process. A failed training fails its trial and the study
    goes on; Interrupted (a stop request) fails the running trial and is raised."""
    from drtui.tune.objective import TrialFailed

    def after(study, trial) -> None:
        if on_trial is not None:
            on_trial(trial)
        if objective.stop.is_set():
            study.stop()

    study.optimize(objective, n_trials=trials, catch=(TrialFailed,), callbacks=[after],
                   gc_after_trial=False)


def _redact(url: str) -> str:
    """A storage URL fit to print: no password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def best_session(study):
    """The Session of the study's best completed trial, validated."""
    from drtui.problem import errors
    from drtui.session.validate import problems_in

    try:
        best = study.best_trial
    except ValueError:
        raise NoBestTrial(f"study {study.study_name!r} has no completed trial yet") from None
    data = best.user_attrs.get("session")
    if data is None:
        raise NoBestTrial(f"trial {best.number} of study {study.study_name!r} has no session")
    session, problems = problems_in(data)
    if session is None or errors(problems):
        raise InvalidInput(problems)
    return best, session


def save_best(study, path: Path, *, base_session: Path | None = None) -> tuple[Any, Path]:
    """Write the best trial's session as a new session file (atomic, validated). A reward
    file path is rewritten relative to the new file's folder."""
    from drtui.session import store

    path = Path(path)
    if base_session is not None and path.resolve() == Path(base_session).resolve():
        raise InvalidInput([_problem("--save-best", f"{path} is the session being tuned: "
                                                   "save the best as a new file")])
    best, session = best_session(study)
    from drtui.tune.space import apply

    rounded = {key: rounded_value(value, best.distributions.get(key))
               for key, value in best.params.items()}
    session = apply(session, rounded)  # checked again: a rounded value keeps every rule
    session.model.name = _model_name(study.study_name, session.model.name)
    if session.reward.file is not None and base_session is not None:
        import os

        source = (Path(base_session).parent / session.reward.file).resolve()
        session.reward.file = os.path.relpath(source, path.resolve().parent)
    note = (f"tuned: study {study.study_name}, trial {best.number}, score {best.value:.2f}")
    session.model.description = (session.model.description + " | " + note
                                 if session.model.description else note)[-500:]
    store.save(session, path)
    return best, path


def rounded_value(value: Any, distribution) -> Any:
    """A sampled value as a person would write it: a multiple of the parameter's step, else
    three significant digits (optuna's 0.000312345678 becomes 0.000312)."""
    if not isinstance(value, float):
        return value
    step = getattr(distribution, "step", None)
    if step:
        from decimal import Decimal

        places = max(0, -Decimal(str(step)).as_tuple().exponent)
        return round(round(value / step) * step, places)
    return float(f"{value:.3g}")


def _model_name(study_name: str, fallback: str) -> str:
    """The study's name as a DeepRacer model name (1-64 of A-Z a-z 0-9 -)."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", study_name).strip("-")[:64]
    return name or fallback


def trial_rows(study) -> list[dict[str, Any]]:
    """Every trial as plain data: number, state, value, params, run folder, seconds."""
    return [trial_row(t) for t in study.get_trials(deepcopy=False)]


def trial_row(t) -> dict[str, Any]:
    return {"number": t.number, "state": t.state.name, "value": t.value,
            "params": dict(t.params), "run": t.user_attrs.get("run"),
            "seconds": t.user_attrs.get("seconds"),
            "iterations": len(t.intermediate_values)}


def params_text(params: dict[str, Any]) -> str:
    """'lr=0.0003 batch_size=64 ...': the last part of each key, 3 significant digits."""
    def fmt(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    return " ".join(f"{k.rsplit('.', 1)[-1]}={fmt(v)}" for k, v in params.items())


def value_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
