"""The generated files in tabs, highlighted, each with its diff against the file on disk.

Tab labels carry the disk state as a symbol (+ new, ~ changed, = unchanged) so it reads
without colour; f4 (the review's binding) flips every tab between the file and its diff."""

from __future__ import annotations

import difflib

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane

from drtui.widgets.code_area import CodeArea

MARKS = {"new": "+", "changed": "~", "same": "="}


def language_of(name: str) -> str:
    if name.endswith(".json"):
        return "json"
    if name.endswith(".py"):
        return "python"
    return "env"


def pane_id(name: str) -> str:
    return "file-" + name.replace(".", "-").replace("_", "-")


def disk_state(new: str, old: str | None) -> str:
    return "new" if old is None else "same" if old == new else "changed"


def unified_diff(name: str, new: str, old: str | None, where: str) -> str:
    if old == new:
        return f"# unchanged: {where} already holds exactly this file\n"
    diff = "".join(difflib.unified_diff(
        (old or "").splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{where} (on disk)" if old is not None else "/dev/null",
        tofile=f"{where} (new)"))
    header = f"# new file: {where} does not exist yet\n" if old is None else ""
    return header + diff


class FilePreview(Vertical):
    DEFAULT_CSS = """
    FilePreview { height: 1fr; }
    FilePreview > #preview-legend { height: 1; color: $text-muted; padding: 0 1; }
    FilePreview TabPane { padding: 0; }
    """

    def __init__(self, files: dict[str, str], on_disk: dict[str, str | None],
                 where: dict[str, str], legend: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.files, self.on_disk, self.where, self.legend = files, on_disk, where, legend
        self.show_diff = False

    def compose(self) -> ComposeResult:
        yield Static(self.legend, id="preview-legend", markup=False)
        with TabbedContent(id="preview-tabs"):
            for name, text in self.files.items():
                with TabPane(self._label(name), id=pane_id(name)):
                    yield CodeArea(self._text(name), language=self._language(name),
                                   read_only=True, id=f"{pane_id(name)}-code")

    def _label(self, name: str) -> str:
        return f"{name} {MARKS[disk_state(self.files[name], self.on_disk.get(name))]}"

    def _language(self, name: str) -> str:
        return "diff" if self.show_diff else language_of(name)

    def _text(self, name: str) -> str:
        if self.show_diff:
            return unified_diff(name, self.files[name], self.on_disk.get(name), self.where[name])
        return self.files[name]

    async def update_files(self, files: dict[str, str], on_disk: dict[str, str | None],
                           where: dict[str, str], legend: str) -> None:
        same_set = list(files) == list(self.files)
        self.files, self.on_disk, self.where, self.legend = files, on_disk, where, legend
        if not same_set:
            await self.recompose()
            return
        self.query_one("#preview-legend", Static).update(legend)
        self._refresh_panes()

    def toggle_diff(self) -> None:
        self.show_diff = not self.show_diff
        self._refresh_panes()

    def _refresh_panes(self) -> None:
        tabs = self.query_one(TabbedContent)
        for name in self.files:
            code = self.query_one(f"#{pane_id(name)}-code", CodeArea)
            text = self._text(name)
            if code.text != text or code.code_language != self._language(name):
                code.set_code(text, self._language(name))
            tabs.get_tab(pane_id(name)).label = self._label(name)
