"""Command-palette entries that depend on state: the wizard's steps and the workspace's
session files. App-wide actions (save, write, theme, help) are system commands (app.py)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class WizardCommands(Provider):
    def _commands(self) -> list[tuple[str, str, object]]:
        from drtui.screens.steps import STEPS

        app = self.app
        out = []
        if app.draft is not None:
            for index, info in enumerate(STEPS):
                what = ", ".join(info.sections) or "the model name, then save and write"
                out.append((f"Go to step {index + 1}: {info.title}", f"Edit {what}",
                            partial(app.goto_step, index)))
        out.append(("New session", "Create a session from a starter (home: ctrl+n)",
                    self._home_action("new")))
        out.append(("Import DRfC folder", "Build a session from deepracer-for-cloud files",
                    self._home_action("import")))
        for path in sorted(app.workspace.glob("*.toml")):
            out.append((f"Open session {path.name}", "Load it into the wizard",
                        partial(app.open_session, path)))
        return out

    def _home_action(self, name: str):
        def run() -> None:
            from drtui.screens.home import HomeScreen

            while not isinstance(self.app.screen, HomeScreen) and len(self.app.screen_stack) > 1:
                self.app.pop_screen()
            getattr(self.app.screen, f"action_{name}")()
        return run

    async def discover(self) -> Hits:
        for title, help, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help)
