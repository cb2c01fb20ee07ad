"""The Footer, recomposed only when the keys it shows change.

Textual's Footer rebuilds all its keys whenever the screen's bindings are refreshed, which
happens on every focus change; on a form with dozens of fields that made tab visibly slow.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple((key, b.binding.description, b.enabled, b.tooltip)
                      for key, b in screen.active_bindings.items() if b.binding.show)
        if shown == self._shown and self._bindings_ready:
            return
        self._shown = shown
        super().bindings_changed(screen)
