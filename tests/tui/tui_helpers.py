"""Helpers shared by the TUI tests: start the app, type text, walk the wizard."""

from __future__ import annotations

from pathlib import Path

from drtui.app import DrtuiApp


def make_app(workspace: Path, session: Path | None = None, step: int = 0) -> DrtuiApp:
    app = DrtuiApp(session=session, workspace=workspace, step=step)
    app.animation_level = "none"
    return app


def keys(text: str) -> list[str]:
    """Key names that type `text` (newline is enter)."""
    return ["enter" if c == "\n" else c for c in text]


async def settle(app, pilot) -> None:
    """Let messages, timers and workers run out. A worker that a newer one of its exclusive
    group replaced (the reward check after another edit) is cancelled: that is how it ends."""
    from textual.worker import WorkerCancelled

    await pilot.pause()
    for _ in range(20):
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            await pilot.pause()
    await pilot.pause()


async def new_session(app, pilot, name: str) -> None:
    """Home -> New session dialog -> the wizard's first step."""
    await settle(app, pilot)
    await pilot.press("ctrl+n")
    await settle(app, pilot)
    await pilot.press(*keys(name), "enter")
    await settle(app, pilot)


def screen_name(app) -> str:
    return type(app.screen).__name__


def problem_text(app, path: str) -> str:
    from drtui.widgets.field_problem import FieldProblem

    return "\n".join("\n".join(w.messages) for w in app.screen.query(FieldProblem)
                     if w.path == path)


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def starter_session(workspace: Path, name: str = "snap-model", **kwargs) -> Path:
    """A saved starter session in the workspace (the CLI's `drtui new`)."""
    from drtui.session.starter import starter
    from drtui.session.store import save

    path = workspace / f"{name}.toml"
    save(starter(name, **kwargs), path)
    return path


async def open_at_step(app, pilot, index: int) -> None:
    """The app was started with a session: wait for (or go to) that step."""
    await settle(app, pilot)
    if getattr(app.screen, "INDEX", None) != index:
        app.goto_step(index)
        await settle(app, pilot)
