# Over 450 lines: the App class: its bindings, the one draft and the workers that save, write and
# train; screens live in drtui/screens.
"""The drtui Textual app: the home screen, the eight-step model wizard and the review, the
run monitor (f5 on the review trains) and the runs list (f6).

The app holds ONE draft (a dict in session-file shape, screens/draft.py) that every step
edits; saving and writing go through the same core functions as the headless CLI
(store.save, render.render, render.write), so the files are byte-identical to
`drtui generate`. Only Textual is imported at start: pydantic, the catalogues and the
renderers load when a session is first opened, after the first paint.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.worker import get_current_worker

from drtui.problem import Problem
from drtui.screens.messages import FilesWritten, SessionSaved

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.screen import Screen

    from drtui.screens.draft import Draft

DARK_THEME, LIGHT_THEME = "textual-dark", "textual-light"


def display_path(path: Path, base: Path | None = None) -> str:
    """A path as the user thinks of it: relative to the workspace (or the current folder)
    when inside it, else with ~ for the home folder. Also keeps snapshots machine-independent."""
    path = Path(path)
    for root in filter(None, (base, Path.cwd())):
        try:
            rel = path.resolve().relative_to(Path(root).resolve())
        except ValueError:
            continue
        return str(rel) if str(rel) != "." else "."
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


def _wizard_commands():
    from drtui.screens.commands import WizardCommands

    return WizardCommands


class DrtuiApp(App[int]):
    TITLE = "drtui"
    SUB_TITLE = "a terminal studio for AWS DeepRacer"
    CSS_PATH = "assets/app.tcss"
    COMMANDS = App.COMMANDS | {_wizard_commands}
    FATAL_ERRORS = False  # True: an unexpected error ends the app (the tests set it: none hides)
    BINDINGS = [
        Binding("f1", "help", "Help", id="help", tooltip="Keys, and what this screen is for."),
        Binding("f6", "runs", "Runs", id="runs", show=False,
                tooltip="The workspace's training runs: open, resume or stop one."),
        Binding("ctrl+t", "toggle_theme", "Theme", id="toggle-theme", show=False,
                tooltip="Switch between the dark and the light theme."),
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False, priority=True,
                tooltip="Quit drtui; with unsaved changes, press it twice."),
    ]

    def __init__(self, session: str | Path | None = None, workspace: str | Path | None = None,
                 *, step: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.start_step = step  # the wizard step a session given at start opens on
        self.workspace = Path(workspace or ".").expanduser()
        self.start_session = Path(session).expanduser() if session else None
        self.draft: Draft | None = None
        self._pending_calls: dict[str, object] = {}  # name -> the pending call of `soon`
        self._errors_at: list[float] = []
        self.step_index = 0
        self._quit_armed = False
        self.theme = DARK_THEME
        self.monitor_clock = None  # tests: a fixed clock makes the monitor's picture stable
        self.user_config = None  # drtui.user_config.UserConfig, read at mount
        self.keymap_problems: list[str] = []  # the user's keymap entries not applied
        self.applied_keymap: dict[str, str] = {}  # binding id -> the user's keys
        self._clashes_said: set[str] = set()

    # --- start ------------------------------------------------------------------------

    def on_mount(self) -> None:
        from drtui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        self._load_keymap()
        self._startup_sweep()
        if self.start_session is not None:
            self.call_after_refresh(self.open_session, self.start_session, self.start_step)

    def _load_keymap(self) -> None:
        """The user's [keymap] (drtui.user_config): the entries Textual can bind apply at
        once; the binding ids are checked once the first screen is up. A bad entry is said
        in one line naming its key; it never stops the studio."""
        from drtui.screens.keymap import checked_keymap
        from drtui.user_config import load_user_config

        config = self.user_config = load_user_config()
        keymap, problems = checked_keymap(config.keymap)
        self.keymap_problems = config.problems + problems
        self.applied_keymap = keymap
        if keymap:
            self.set_keymap(keymap)
            self._check_keymap_ids(keymap)
        elif self.keymap_problems:
            self._say_keymap_problems()

    @work(thread=True, exclusive=True, group="keymap", exit_on_error=False,
          description="Checking the keymap's binding ids.")
    def _check_keymap_ids(self, keymap: dict[str, str]) -> None:
        from drtui.screens.keymap import binding_ids, unknown_ids

        unknown = unknown_ids(keymap, binding_ids())
        self.call_from_thread(self._keymap_checked, unknown)

    def _keymap_checked(self, unknown: list[str]) -> None:
        self.keymap_problems += unknown
        if self.keymap_problems:
            self._say_keymap_problems()

    def _say_keymap_problems(self) -> None:
        count = len(self.keymap_problems)
        self.notify("\n".join(self.keymap_problems[:4]) + "\nf1 shows every key and its id.",
                    title=f"! {count} keymap entr{'ies' if count != 1 else 'y'} not used "
                    f"({self.show_path(self.user_config.path)})", severity="warning",
                    timeout=12)

    def handle_bindings_clash(self, clashed_bindings, node) -> None:
        """A user's key given to two bindings on one screen: Textual keeps the keymap's;
        said once per binding that lost its key."""
        for binding in clashed_bindings:
            if binding.id in self._clashes_said:
                continue
            self._clashes_said.add(binding.id)
            line = (f"keymap: {binding.key} now does another action here, so "
                    f"{binding.description or binding.action} ({binding.id}) has no key on "
                    "this screen")
            self.keymap_problems.append(line)
            self.notify(line, title="! Keymap clash", severity="warning", timeout=10)

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False,
          description="Looking for cloud machines no active run owns.")
    def _startup_sweep(self) -> None:
        """Warn of machines still billing that no active run owns (drtui runs sweep); only
        the clouds this workspace's runs have used are asked. In a thread: the providers'
        modules and calls never hold up the screen."""
        import asyncio

        from drtui.backends.sweep import running_orphans_text, startup_check

        try:
            result = asyncio.run(startup_check(self.workspace))
        except Exception:  # noqa: BLE001 - the sweep must never stop the studio opening
            return
        running = [o for o in result.orphans if o.running] if result else []
        if running:
            self.call_from_thread(
                self.notify, running_orphans_text(result) + "\n`drtui runs sweep "
                "--terminate` ends them.", title=f"! {len(running)} cloud machine"
                f"{'s' * (len(running) != 1)} still running with no active run",
                severity="warning", timeout=30)

    def show_path(self, path: Path) -> str:
        return display_path(path, self.workspace)

    # --- sessions ---------------------------------------------------------------------

    def open_session(self, path: Path, step: int = 0) -> bool:
        """Load a session file into the draft and show the first step. A file with problems
        still opens (that is what the wizard is for); one that is not TOML does not."""
        from drtui.errors import InvalidInput
        from drtui.screens.draft import Draft
        from drtui.session.starter import starter
        from drtui.session.store import read_data, to_data
        from drtui.session.validate import problems_in

        path = Path(path)
        if not path.exists():  # `drtui tui new.toml`: start a new session there
            name = re.sub(r"[^A-Za-z0-9-]+", "-", path.stem).strip("-")[:64] or "my-first-model"
            draft = Draft.from_session(starter(name), path)
        else:
            try:
                data = read_data(path)
            except InvalidInput as exc:
                self.notify("\n".join(str(p) for p in exc.problems), title="✗ Cannot open",
                            severity="error")
                return False
            session, _ = problems_in(data)
            draft = Draft(to_data(session) if session is not None else data, path)
            draft.mark_saved()
        self.start_draft(draft, step)
        self._offer_kept_draft(draft)
        return True

    # --- the autosave: work survives a crash -------------------------------------------

    def _offer_kept_draft(self, draft: Draft) -> None:
        """Work autosaved beside the session and never saved: offered back."""
        import time

        from drtui.screens.draft import kept_draft
        from drtui.screens.restore_draft import RestoreDraft

        kept = kept_draft(draft.session_path, draft.data)
        if kept is None:
            return
        data, when = kept

        def answer(restore: bool | None) -> None:
            if restore:
                draft.restore(data)
                self.goto_step(self.step_index)
                self.notify("✓ Restored the unsaved work; ctrl+s saves it")
            else:
                draft.autosave_path.unlink(missing_ok=True)

        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
        self.push_screen(RestoreDraft(self.show_path(draft.session_path), stamp), answer)

    def autosave_soon(self, delay: float = 1.0) -> None:
        """Keep the draft beside its session once edits pause (Draft.autosave)."""
        self._soon("autosave", delay, self._autosave)

    def _soon(self, name: str, delay: float, callback) -> None:
        """Call `callback` once `delay` s pass without another call of the same name."""
        if (pending := self._pending_calls.get(name)) is not None:
            pending.stop()
        self._pending_calls[name] = self.set_timer(delay, callback)

    def _autosave(self) -> None:
        if self.draft is not None:
            try:
                self.draft.autosave()
            except OSError as exc:  # a read-only folder: said once per edit pause
                self.notify(f"cannot keep the draft beside the session: {exc}",
                            title="! Not autosaved", severity="warning")

    def report_unexpected(self, error: Exception) -> bool:
        """An unexpected error in a screen's handler (screens.guard): the draft is kept,
        the user told, the app goes on; False (let it end the app) in a burst of errors or
        with FATAL_ERRORS, the tests' setting, so no error hides."""
        import time

        now = time.monotonic()
        self._errors_at = [t for t in self._errors_at if now - t < 10] + [now]
        if self.FATAL_ERRORS or len(self._errors_at) > 3:
            return False
        import logging

        logging.getLogger("drtui").error("unexpected error", exc_info=error)
        if self.draft is not None:
            try:
                self.draft.autosave()
            except OSError:
                pass
        self.notify(f"{type(error).__name__}: {error}\nYour draft is kept beside the session "
                    "file; save with ctrl+s when you can.", title="✗ Unexpected error",
                    severity="error", timeout=15)
        return True

    def start_draft(self, draft: Draft, step: int = 0) -> None:
        from drtui.screens.home import HomeScreen
        from drtui.workspace_paths import confined

        if confined():  # served: every path of the draft must stay in the workspace
            draft.workspace = self.workspace
        self.draft = draft
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        self.goto_step(step)

    def goto_step(self, index: int) -> None:
        from drtui.screens.step import WizardStep
        from drtui.screens.steps import STEPS, step_screen

        if self.draft is None:
            self.notify("Open or create a session first.", severity="warning")
            return
        index = max(0, min(index, len(STEPS) - 1))
        self.step_index = index  # next/back count from here, even before the switch lands
        screen = step_screen(index)
        if isinstance(self.screen, WizardStep):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    # --- actions ------------------------------------------------------------------------

    def action_help(self) -> None:
        from drtui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def action_quit(self) -> None:
        """Quit; with unsaved changes the first ctrl+q only warns."""
        if self.draft is not None and self.draft.dirty and not self._quit_armed:
            self._quit_armed = True
            self.set_timer(5, lambda: setattr(self, "_quit_armed", False))
            self.notify("ctrl+s saves them; ctrl+q again quits without saving.",
                        title="! Unsaved changes", severity="warning")
            return
        self.exit()

    def action_runs(self) -> None:
        from drtui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def show_monitor(self, run, host=None):
        """Bring up the monitor (one, installed, so its followers outlive leaving it) with the
        run's tab, following the run unless it already is."""
        from drtui.screens.monitor import MonitorScreen

        if not self.is_screen_installed("monitor"):
            self.install_screen(MonitorScreen(clock=self.monitor_clock), "monitor")
        monitor = self.get_screen("monitor")
        if monitor in self.screen_stack:
            while self.screen is not monitor:
                self.pop_screen()
        else:
            self.push_screen(monitor)
        monitor.watch_run(run, host)
        return monitor

    def action_train(self) -> None:
        """Start training the saved session (f5 on the review): refused while the draft has
        problems or unsaved changes, so a run always trains exactly the file on disk."""
        session = self.checked_session("Not started")
        if session is None:
            return
        draft = self.draft
        if draft.dirty:
            self.notify("A run trains the session file as saved: ctrl+s saves your changes, "
                        "then f5 starts training.", title="! Unsaved changes: not started",
                        severity="warning", timeout=8)
            return
        self._create_run(draft.session_path)

    @work(thread=True, exclusive=True, group="train", exit_on_error=False,
          description="Creating the run folder: session, rendered files.")
    def _create_run(self, session_path: Path) -> None:
        from drtui.backends import launch
        from drtui.errors import DrtuiError, InvalidInput

        try:
            run = launch.create_run(self.workspace, session_path)
        except InvalidInput as exc:
            self.call_from_thread(self._refuse, "Not started", exc.problems)
        except (DrtuiError, OSError) as exc:
            self.call_from_thread(self.notify, str(exc), title="✗ Not started",
                                  severity="error")
        except Exception as exc:  # noqa: BLE001 - the user sees why, the app keeps running
            self.call_from_thread(self.notify, f"{type(exc).__name__}: {exc}",
                                  title="✗ Not started", severity="error")
        else:
            self.call_from_thread(self._launch, run)

    @work(exclusive=True, group="train-start", exit_on_error=False,
          description="Starting the trainer.")
    async def _launch(self, run) -> None:
        from drtui.backends import launch

        try:
            host = await launch.start(run)
        except Exception as exc:  # noqa: BLE001 - launch.start marked the run failed: say why
            self.notify(f"{type(exc).__name__}: {exc}", title=f"✗ {run.id} did not start",
                        severity="error")
            return
        self.notify(f"▶ training {run.id}")
        self.show_monitor(run, host)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME

    def action_goto_step(self, index: int) -> None:
        self.goto_step(index)

    def action_save(self, confirmed: bool = False) -> None:
        """Save the session file atomically; refused while the draft has problems. Served, a
        file that exists and is not this draft's own is replaced only once confirmed."""
        session = self.checked_session("Not saved")
        if session is None:
            return
        draft = self.draft
        target = draft.session_path
        if (draft.workspace is not None and not confirmed and draft.saved_version is None
                and target.exists() and target not in draft.replace_ok):
            from drtui.screens.confirm_replace import ConfirmReplace

            self.push_screen(ConfirmReplace("Replace the session file?", [self.show_path(target)]),
                             lambda yes: yes and self.action_save(confirmed=True))
            return
        draft.replace_ok.add(target)
        from drtui.session.store import save

        try:
            save(session, draft.session_path)
        except OSError as exc:
            self.notify(str(exc), title="✗ Not saved", severity="error")
            return
        draft.mark_saved()
        draft.autosave_path.unlink(missing_ok=True)  # nothing unsaved to keep
        self.notify(f"✓ Saved {self.show_path(draft.session_path)}")
        self.screen.refresh_bindings()
        self.screen.post_message(SessionSaved())

    def action_write_files(self) -> None:
        """Render and write the DRfC files to the output folder; refused with problems."""
        session = self.checked_session("Nothing written")
        if session is None:
            return
        draft = self.draft
        if draft.workspace is not None and draft.out_dir not in draft.replace_ok:
            self._confirm_write(session, draft)
            return
        self._write_files(session, draft.session_path.parent, draft.out_dir)

    def _confirm_write(self, session, draft) -> None:
        """Served: ask before the first write replaces files of another origin."""
        from drtui.files.render import relative_path, render
        from drtui.screens.confirm_replace import ConfirmReplace, files_to_replace

        out_dir = draft.out_dir

        def go(yes: bool | None = True) -> None:
            if yes:
                draft.replace_ok.add(out_dir)
                self._write_files(session, draft.session_path.parent, out_dir)

        try:
            names = files_to_replace(render(session, base_dir=draft.session_path.parent),
                                     out_dir, relative_path)
        except Exception:  # noqa: BLE001 - _write_files renders again and says why
            names = []
        if not names:
            go()
            return
        self.push_screen(ConfirmReplace(f"Replace files in {self.show_path(out_dir)}/?",
                                        names), go)

    @work(thread=True, exclusive=True, group="write", exit_on_error=False,
          description="Checking the reward and writing the DRfC files.")
    def _write_files(self, session, base_dir: Path, out_dir: Path) -> None:
        from drtui.errors import InvalidInput
        from drtui.files import render

        try:
            # the one check, the reward run on the track's sample params included
            files = render.render(session, base_dir=base_dir)
            if get_current_worker().is_cancelled:
                return
            paths = render.write(files, out_dir)
        except InvalidInput as exc:
            self.call_from_thread(self._refuse, "Nothing written", exc.problems)
        except Exception as exc:  # noqa: BLE001 - the user sees why, the app keeps running
            self.call_from_thread(self.notify, f"{type(exc).__name__}: {exc}",
                                  title="✗ Not written", severity="error")
        else:
            self.call_from_thread(self._written, out_dir, paths)

    def _written(self, out_dir: Path, paths: list[Path]) -> None:
        self.notify(f"✓ Wrote {len(paths)} files to {self.show_path(out_dir)}/")
        self.screen.post_message(FilesWritten(out_dir, paths))

    def checked_session(self, what: str):
        """The open draft as a valid Session; None (and the user told why, `what` as the
        title) when no session is open or it has problems."""
        if self.draft is None:
            self.notify("Open or create a session first.", title=f"! {what}",
                        severity="warning")
            return None
        session, problems = self.draft.check()
        if session is None or self.draft.errors():
            self._refuse(what, self.draft.errors() or problems)
            return None
        return session

    # --- the reward run on sample params (session.check, off the UI thread) -------------

    def check_reward_soon(self, delay: float = 0.3) -> None:
        """Run the draft's reward on sample params of its track once edits pause."""
        self._soon("reward-check", delay, self._start_reward_check)

    def _start_reward_check(self) -> None:
        if self.draft is not None and (pending := self.draft.pending_reward_check()):
            self._reward_check(self.draft, *pending)

    @work(thread=True, exclusive=True, group="reward-check", exit_on_error=False,
          description="Running the reward function on sample params.")
    def _reward_check(self, draft, key, session, base_dir: Path) -> None:
        from drtui.session.check import RewardReport, reward_report

        try:
            report = reward_report(session, base_dir)
        except Exception as exc:  # noqa: BLE001 - shown as the reward's problem, not a crash
            report = RewardReport([Problem("reward", f"cannot run the check: {exc}")])
        self.call_from_thread(self._reward_checked, draft, key, report)

    def _reward_checked(self, draft, key, report) -> None:
        if draft is not self.draft or draft.reward_key() != key:
            return  # a newer edit: its own run follows
        draft.reward_result = (key, report)
        for hook in ("reward_checked", "show_problems"):
            if callable(method := getattr(self.screen, hook, None)):
                method()

    def _refuse(self, what: str, problems: list) -> None:
        # A refusal describes the draft as it is now: earlier toasts describe an older state,
        # and stacked tall toasts can push the newest one below the screen's edge.
        self.clear_notifications()
        shown = [str(p) for p in problems[:4]]
        if len(problems) > 4:
            shown.append(f"… and {len(problems) - 4} more (see the review step)")
        self.notify("\n".join(shown) or "the session is incomplete",
                    title=f"✗ {what}: {len(problems)} problem{'s' * (len(problems) != 1)}",
                    severity="error", timeout=8)

    # --- command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Toggle dark / light theme", "Switch between textual-dark and "
                            "textual-light (ctrl+t)", self.action_toggle_theme)
        yield SystemCommand("Help", "Keys and what this screen is for (f1)", self.action_help)
        yield SystemCommand("Runs", "The workspace's training runs: open, resume, stop (f6)",
                            self.action_runs)
        if self.draft is not None:
            where = self.show_path(self.draft.session_path)
            yield SystemCommand("Save session", f"Save to {where} (ctrl+s)", self.action_save)
            yield SystemCommand("Write files", "Write the DRfC files to "
                                f"{self.show_path(self.draft.out_dir)}/ (ctrl+g)",
                                self.action_write_files)
            yield SystemCommand("Train", f"Train {where} as saved and watch it (review: f5)",
                                self.action_train)
            yield SystemCommand("Tune hyperparameters", f"An Optuna study over {where}: each "
                                "trial a short training, the best saved as a new session",
                                self.action_tune)

    def action_tune(self) -> None:
        from drtui.screens.tune import open_tune

        open_tune(self)


def run_app(session: str | Path | None = None, workspace: str | Path | None = None) -> int:
    """Entry point for `drtui` and `drtui tui [SESSION]`."""
    app = DrtuiApp(session=session, workspace=workspace)
    app.run()
    return app.return_code or 0
