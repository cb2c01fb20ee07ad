"""The monitor: one tab per run being watched, each with its status line, per-iteration charts,
the track with the last episodes' paths, and the live log (drtui.widgets.run_panel).

The app installs one MonitorScreen, so leaving it (esc) keeps every follower running; f5 on
the review step and enter on the runs screen (f6) bring it back with that run's tab.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Header, Static, TabbedContent, TabPane

from drtui.screens.guard import GuardedScreen
from drtui.widgets.key_footer import KeyFooter
from drtui.widgets.run_panel import RunPanel


def pane_id(run_id: str) -> str:
    return "run-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; dismisses with True only on yes."""

    BINDINGS = [Binding("escape,n", "no", "No", id="confirm-no", tooltip="Leave it as it is."),
                Binding("y", "yes", "Yes", id="confirm-yes", tooltip="Go ahead.")]

    def __init__(self, title: str, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.title_text, self.question, self.yes = title, question, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm") as box:
            box.border_title = self.title_text
            yield Static(self.question, markup=False, classes="help-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes}  y", id="yes", variant="error", compact=True)
                yield Button("Cancel  esc", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class MonitorScreen(GuardedScreen):
    HELP = ("Each tab is a run (one run: its name in the header): its state, iteration, "
            "episodes, elapsed time and ETA, which says what it counts to: the episode limit "
            "(term_cond_max_episodes) or the time limit, whichever the pace so far reaches "
            "first, so it can jump while the pace settles; mean progress, the last and best "
            "lap time (simulated seconds, training or evaluation laps), completion rate and "
            "best evaluation progress. Evaluation runs the policy greedily (no exploration), "
            "so it can reach 100% while training episodes, which sample their actions, do "
            "not; a warm-started policy (a teacher's distillation or a transfer) can do so "
            "from the first iterations. Then the last episode's reward at each step of car 0; "
            "per-iteration charts (a chart's second and later series mark their points with "
            "+ and ◆); the track with the paths of the last five episodes; the camera image "
            "car 0's policy saw last, in half-block pixels (drtui's trainer sends one every "
            "2 s); and the log (the newest 5,000 lines, long lines wrapped; SIM_TRACE_LOG "
            "steps are drawn on the map, not listed). Runs keep training when you leave this "
            "screen or quit drtui; f6 lists them and reattaches.")
    BINDINGS = [
        Binding("ctrl+x", "stop_run", "Stop run", id="monitor-stop",
                tooltip="Stop the selected run: it saves a final checkpoint, then ends "
                        "(asks first)."),
        Binding("escape", "back", "Back", id="monitor-back",
                tooltip="Back to the previous screen; runs keep being followed."),
    ]

    def __init__(self, *, clock=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clock = clock  # a fixed clock for reproducible pictures; None: the real one
        self._queued: list[tuple] = []
        self._adding = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("No run watched yet: f5 on the review step trains the session, f6 lists "
                     "the workspace's runs.", id="monitor-empty", markup=False)
        yield TabbedContent(id="monitor-tabs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._empty()
        queued, self._queued = self._queued, []
        for args in queued:
            self.run_worker(self._watch(*args), group="monitor-add")

    def _empty(self) -> None:
        tabs = self.query(TabbedContent)
        if not tabs:
            return
        count = tabs.first().tab_count
        self.query_one("#monitor-empty").display = not count
        self.query_one(TabbedContent).display = count > 0
        # one run: its name in the header instead of a row of one tab (two rows more for it)
        self.query_one("#monitor-tabs > ContentTabs").display = count > 1
        self._title()

    def _title(self) -> None:
        panels = list(self.query(RunPanel))
        panel = self.panel()
        self.sub_title = (f"monitor: {panel.run.id}" if len(panels) == 1 and panel
                          else "monitor")

    # --- runs ----------------------------------------------------------------------------

    def watch_run(self, run, host=None, *, follow: bool = True, recorded=None) -> None:
        """Show a run in its tab (added if new) and follow it if it is not being followed.
        recorded=(model, lines) shows a fixed recording instead of following."""
        if not self.is_mounted:
            self._queued.append((run, host, follow, recorded))
            return
        self.run_worker(self._watch(run, host, follow, recorded), group="monitor-add")

    async def _watch(self, run, host, follow: bool, recorded) -> None:
        async with self._adding:  # in call order: the last run asked for is the one shown
            await self._add(run, host, follow, recorded)

    async def _add(self, run, host, follow: bool, recorded) -> None:
        tabs = self.query_one(TabbedContent)
        pid = pane_id(run.id)
        panels = [p for p in self.query(RunPanel) if p.run.id == run.id]
        if panels:
            panel = panels[0]
        else:
            kwargs = {"clock": self.clock} if self.clock else {}
            panel = RunPanel(run, host=host, **kwargs)
            await tabs.add_pane(TabPane(run.id, panel, id=pid))
            self._empty()
        tabs.active = pid
        self._title()
        if recorded is not None:
            panel.show_recorded(*recorded)
        elif follow and not panel.following:
            panel.follow(host)

    def panel(self, run_id: str | None = None) -> RunPanel | None:
        """The panel of a run, or of the selected tab."""
        found = self.query(TabbedContent) if self.is_mounted else None
        if not found:
            return None
        tabs = found.first()
        want = pane_id(run_id) if run_id else tabs.active
        for panel in self.query(RunPanel):
            if panel.parent is not None and panel.parent.id == want:
                return panel
        return None

    # --- actions --------------------------------------------------------------------------

    def action_stop_run(self) -> None:
        panel = self.panel()
        if panel is None:
            self.notify("No run selected.", severity="warning")
            return
        ask_to_stop(self.app, panel.run, panel.stop)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def ask_to_stop(app, run, stop) -> None:
    """Confirm, then call stop(); refuses for a run that is not training."""
    from drtui.runstore.store import ACTIVE

    run.reload()
    if run.status not in ACTIVE:
        app.notify(f"{run.id} is {run.status}: nothing to stop.", severity="warning")
        return

    def answered(yes: bool | None) -> None:
        if yes:
            stop()

    app.push_screen(ConfirmDialog("Stop run", f"Stop {run.id}? The trainer finishes its step, "
                                  "saves a final checkpoint and ends; ctrl+e on the runs "
                                  "screen (f6) resumes it later.", yes="Stop"), answered)
