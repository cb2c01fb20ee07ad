"""Checkbox and radio button whose state shows as a glyph, not only as a colour.

Textual draws the same ▐X▌ / ▐●▌ for on and off and tells them apart by colour, which vanishes
in a monochrome or NO_COLOR terminal; these leave the inside blank when off."""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class Check(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's class attribute, per instance
        return "X" if self.value else " "


class Radio(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802
        return "●" if self.value else " "
