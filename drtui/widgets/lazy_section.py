"""A section whose widgets are built the first time it is shown.

Steps hold settings for choices the user may never make (five providers, two race types);
building them only when chosen keeps switching steps fast."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.containers import Vertical
from textual.widget import Widget


class LazySection(Vertical):
    DEFAULT_CSS = """
    LazySection { height: auto; }
    """

    def __init__(self, build: Callable[[], Iterable[Widget]], **kwargs) -> None:
        super().__init__(**kwargs)
        self._build = build
        self.built = False
        self.display = False

    def show(self, shown: bool) -> None:
        if shown and not self.built:
            self.built = True
            self.mount_all(list(self._build()))
            # the new fields' problems: the screen re-distributes them once they exist
            refresh = getattr(self.screen, "show_problems", None)
            if refresh is not None:
                self.call_after_refresh(refresh)
        self.display = shown
