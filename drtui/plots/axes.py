"""Axis lines and tick labels drawn as overlay text on a canvas (box-drawing characters are
crisper than braille lines, and labels need whole cells anyway)."""

from __future__ import annotations

from drtui.plots.braille import BrailleCanvas


def fmt_number(v: float) -> str:
    """Short tick text: at most 4 significant digits, no trailing zeros, no '-0'."""
    s = f"{v:.4g}"
    return "0" if s in ("-0", "0") else s


def y_axis(canvas: BrailleCanvas, col: int, top: int, bottom: int, ticks: dict[int, str],
           layer: str = "axis", label_layer: str = "tick") -> None:
    """A vertical axis at `col` for rows top..bottom, labels right-aligned against it."""
    for row in range(top, bottom + 1):
        canvas.text(col, row, "┤" if row in ticks else "│", layer)
    for row, label in ticks.items():
        canvas.text(col - len(label), row, label, label_layer)


def x_axis(canvas: BrailleCanvas, row: int, col0: int, col1: int, ticks: dict[int, str],
           layer: str = "axis", label_layer: str = "tick") -> None:
    """A horizontal axis on `row` from col0 (the corner) to col1, labels centred on the row
    below; a label that would touch the previous one is left out."""
    canvas.text(col0, row, "└" + "─" * (col1 - col0), layer)
    free_from = 0
    for col in sorted(ticks):
        canvas.text(col, row, "┬", layer)
        label = ticks[col]
        start = min(max(col - len(label) // 2, 0), canvas.width - len(label))
        if start >= free_from:
            canvas.text(start, row + 1, label, label_layer)
            free_from = start + len(label) + 1
