"""The ✗ line under a field: the core's messages for one session-file key path."""

from __future__ import annotations

from textual.widgets import Static


class FieldProblem(Static):
    """Hidden while the field is valid. The ✗ carries the state without colour (NO_COLOR)."""

    DEFAULT_CSS = """
    FieldProblem { height: auto; display: none; color: $text-error; padding: 0 0 0 1; }
    FieldProblem.-shown { display: block; }
    """

    def __init__(self, path: str, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.path = path
        self.messages: list[str] = []

    def show(self, messages: list[str]) -> None:
        if messages == self.messages:
            return
        self.messages = list(messages)
        self.update("\n".join(f"✗ {m}" for m in messages))
        self.set_class(bool(messages), "-shown")


def field_id(path: str) -> str:
    """A widget id for a key path: hyperparameters.lr -> f-hyperparameters-lr."""
    return "f-" + path.replace(".", "-").replace("_", "-")
