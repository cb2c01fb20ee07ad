"""FormFields for pydantic section fields: type, choices and valid range read from the core's
model, so the form never restates a rule the core already owns."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt

from drtui.widgets.form_field import FormField


def _kind(annotation: Any) -> tuple[type, tuple | None, bool]:
    """(python type, Literal choices or None, optional?) of a field annotation."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        return type(choices[0]), choices, optional
    if origin is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return (annotation if annotation in (int, float, bool) else str), None, optional


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e9 else f"{x:g}"


def describe(model: type, name: str) -> tuple[type, tuple | None, bool, str]:
    """(kind, choices, optional, range hint) of `model.name`."""
    info = model.model_fields[name]
    kind, choices, optional = _kind(info.annotation)
    low = high = None
    low_open = high_open = False
    for meta in info.metadata:
        if isinstance(meta, Ge):
            low = meta.ge
        elif isinstance(meta, Gt):
            low, low_open = meta.gt, True
        elif isinstance(meta, Le):
            high = meta.le
        elif isinstance(meta, Lt):
            high, high_open = meta.lt, True
    hint = ""
    if low is not None and high is not None:
        hint = f"{'>' if low_open else ''}{_num(low)} .. {'<' if high_open else ''}{_num(high)}"
    elif low is not None:
        hint = f"{'>' if low_open else '≥'} {_num(low)}"
    if optional:
        hint = (hint + ", " if hint else "") + "empty: default"
    return kind, choices, optional, hint


def model_field(model: type, section_path: str, name: str, value: Any, label: str | None = None,
                help: str | None = None) -> FormField:
    kind, choices, optional, hint = describe(model, name)
    info = model.model_fields[name]
    return FormField(f"{section_path}.{name}", label or name.replace("_", " "), value,
                     kind=kind, choices=choices, hint=hint, optional=optional,
                     help=help if help is not None else (info.description or ""))
