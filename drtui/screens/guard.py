"""Screens that survive their own bugs: an exception in one of the screen's message handlers
is reported by the app (DrtuiApp.report_unexpected: the draft autosaved, a notification)
instead of ending the app and losing the wizard's unsaved work."""

from __future__ import annotations

from textual.screen import Screen


class GuardedScreen(Screen):
    async def _dispatch_message(self, message) -> None:
        try:
            return await super()._dispatch_message(message)
        except Exception as error:  # noqa: BLE001 - shown to the user, the screen goes on
            report = getattr(self.app, "report_unexpected", None)
            if report is None or not report(error):
                raise
