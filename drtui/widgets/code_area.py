"""A TextArea that highlights code with Pygments and follows the app's dark/light theme.

Textual highlights with tree-sitter only when the `textual[syntax]` extra is installed; drtui
does not depend on it. Pygments ships with rich (already a dependency), so the highlight map is
built from its tokens instead, into the same per-line map tree-sitter would fill. One code
path also keeps snapshots identical whether or not tree-sitter happens to be installed.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from rich.style import Style
from textual._text_area_theme import TextAreaTheme
from textual.binding import Binding
from textual.widgets import TextArea

_LEXERS = {"python": "python", "json": "json", "bash": "bash", "env": "bash", "diff": "diff",
           "toml": "toml"}

# Pygments token type -> the tree-sitter highlight name the TextArea themes style.
# The most specific prefix wins (Keyword.Constant before Keyword).
_NAMES = (
    ("Token.Keyword.Constant", "boolean"),
    ("Token.Keyword", "keyword"),
    ("Token.Operator.Word", "keyword.operator"),
    ("Token.Name.Function", "function"),
    ("Token.Name.Class", "class"),
    ("Token.Name.Builtin.Pseudo", "variable.builtin"),
    ("Token.Name.Builtin", "function.call"),
    ("Token.Name.Tag", "json.label"),
    ("Token.Name.Variable", "yaml.field"),
    ("Token.Name.Decorator", "function"),
    ("Token.Literal.String.Doc", "string.documentation"),
    ("Token.Literal.String", "string"),
    ("Token.Literal.Number", "number"),
    ("Token.Comment", "comment"),
    ("Token.Generic.Inserted", "diff.inserted"),
    ("Token.Generic.Deleted", "diff.deleted"),
    ("Token.Generic.Subheading", "diff.hunk"),
    ("Token.Generic.Heading", "diff.header"),
)

_DIFF_DARK = {"diff.inserted": Style(color="#73c991"), "diff.deleted": Style(color="#f48771"),
              "diff.hunk": Style(color="#569cd6", bold=True), "diff.header": Style(bold=True)}
_DIFF_LIGHT = {"diff.inserted": Style(color="#116329"), "diff.deleted": Style(color="#82071e"),
               "diff.hunk": Style(color="#0550ae", bold=True), "diff.header": Style(bold=True)}


@cache
def _themes() -> tuple[TextAreaTheme, TextAreaTheme]:
    """drtui-dark: the app's own colours (the `css` theme) with VS Code syntax colours;
    drtui-light: GitHub light's syntax colours on the app's background."""
    css = TextAreaTheme.get_builtin_theme("css")
    light = TextAreaTheme.get_builtin_theme("github_light")
    dark = replace(css, name="drtui-dark", syntax_styles={**css.syntax_styles, **_DIFF_DARK})
    light = replace(css, name="drtui-light",
                    syntax_styles={**light.syntax_styles, **_DIFF_LIGHT})
    return dark, light


@cache
def _lexer(language: str):
    from pygments.lexers import get_lexer_by_name

    return get_lexer_by_name(_LEXERS[language], stripnl=False, ensurenl=False)


@cache
def _highlight_name(token_type) -> str | None:
    text = str(token_type)
    for prefix, name in _NAMES:
        if text == prefix or text.startswith(prefix + "."):
            return name
    return None


def highlight_map(text: str, language: str) -> dict[int, list[tuple[int, int, str]]]:
    """Line -> [(start byte, end byte, highlight name)], the shape TextArea renders."""
    from pygments import lex

    out: dict[int, list[tuple[int, int, str]]] = {}
    row, col = 0, 0  # codepoints
    lines = text.split("\n")
    for token_type, value in lex(text, _lexer(language)):
        name = _highlight_name(token_type)
        for i, piece in enumerate(value.split("\n")):
            if i:
                row, col = row + 1, 0
            if piece and name and row < len(lines):
                line = lines[row]
                start = len(line[:col].encode("utf-8"))
                end = start + len(piece.encode("utf-8"))
                out.setdefault(row, []).append((start, end, name))
            col += len(piece)
    return out


class CodeArea(TextArea):
    """TextArea.code_editor with Pygments highlighting for python, json, env files and diffs."""

    DEFAULT_CSS = """
    CodeArea { height: 1fr; }
    """
    # f6 opens Runs here too, as everywhere in drtui (TextArea's f6 selected the line, which
    # moves to ctrl+l): the binding has the app's id, so a keymap that moves Runs moves it
    # here as well. Help (f1) lists these while the editor has the focus.
    BINDINGS = [
        # tab indents inside the editor, so keyboard users need another way out
        Binding("escape", "leave", "Leave editor", id="code-leave",
                tooltip="Move the focus out of the editor (tab indents here)."),
        Binding("f6", "app.runs", "Runs", id="runs", show=False,
                tooltip="The workspace's training runs: open, resume or stop one."),
        Binding("ctrl+home", "document_start", "Start of code", id="code-start", show=False,
                tooltip="Go to the first line of the code."),
        Binding("ctrl+end", "document_end", "End of code", id="code-end", show=False,
                tooltip="Go to the end of the code."),
        Binding("ctrl+shift+home", "document_start(True)", "Select to start", show=False,
                id="code-select-start", tooltip="Select from the cursor to the start."),
        Binding("ctrl+shift+end", "document_end(True)", "Select to end", show=False,
                id="code-select-end", tooltip="Select from the cursor to the end."),
        Binding("ctrl+l", "select_line", "Select line", id="code-select-line", show=False,
                tooltip="Select the cursor's line (f6 opens Runs, as everywhere)."),
        Binding("f7", "select_all", "Select all", id="code-select-all", show=False,
                tooltip="Select all the code."),
    ]

    def __init__(self, text: str = "", *, language: str | None = None,
                 read_only: bool = False, **kwargs) -> None:
        # code_editor's settings; the language stays ours so Textual does not look for
        # a tree-sitter grammar
        kwargs.setdefault("soft_wrap", False)
        kwargs.setdefault("tab_behavior", "indent")
        kwargs.setdefault("show_line_numbers", True)
        super().__init__(text, read_only=read_only, **kwargs)
        self.code_language = language
        for theme in _themes():
            self.register_theme(theme)
        self._build_highlight_map()

    def on_mount(self) -> None:
        self._follow_app_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._follow_app_theme())

    def _follow_app_theme(self) -> None:
        self.theme = "drtui-dark" if self.app.current_theme.dark else "drtui-light"

    def action_leave(self) -> None:
        self.screen.focus_next()

    def action_document_start(self, select: bool = False) -> None:
        self.move_cursor((0, 0), select=select)

    def action_document_end(self, select: bool = False) -> None:
        self.move_cursor(self.document.end, select=select)

    def set_code(self, text: str, language: str | None = None) -> None:
        if language is not None:
            self.code_language = language
        self.load_text(text)

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        self._highlights.clear()
        language = getattr(self, "code_language", None)
        if language in _LEXERS:
            self._highlights.update(highlight_map(self.text, language))
