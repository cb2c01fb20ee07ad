"""The user's keymap (drtui.user_config's [keymap]) checked against Textual's key names and
drtui's binding ids, then applied with App.set_keymap.

Key names are checked at start (cheap); binding ids need every screen and widget class, so
they are gathered once the first screen is up (binding_ids imports the screens' modules).
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import unicodedata
from functools import cache

from textual.binding import Binding

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


@cache
def _named_keys() -> frozenset[str]:
    from textual.keys import KEY_NAME_REPLACEMENTS, KEY_TO_UNICODE_NAME, Keys

    return frozenset({k.value for k in Keys if "+" not in k.value and "<" not in k.value}
                     | set(KEY_TO_UNICODE_NAME) | set(KEY_NAME_REPLACEMENTS.values()))


def _base_key_ok(base: str) -> bool:
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    if base in _named_keys():
        return True
    try:  # a character by its name, as Textual names them: "full_stop", "left_square_bracket"
        unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return False
    return base == base.lower()


def key_problem(keys: str) -> str | None:
    """Why a keymap value is not one Textual can bind, or None. `keys` is one key or several,
    comma-separated: "f9", "ctrl+s", "ctrl+shift+a,f2"."""
    for key in (k.strip() for k in keys.split(",")):
        if not key:
            return f"{keys!r} has an empty key between commas"
        *mods, base = key.split("+") if key != "+" else ["+"]
        if bad := [m for m in mods if m not in MODIFIERS]:
            return (f"{key!r}: {bad[0]!r} is not a modifier (use "
                    f"{', '.join(MODIFIERS[:3])})")
        if not base:
            return f"{key!r} names no key after {'+'.join(mods)}+"
        if mods and len(base) == 1 and base.isupper():
            return f"{key!r}: write {'+'.join(mods)}+shift+{base.lower()} for a capital letter"
        if not _base_key_ok(base):
            return (f"{key!r} is not a key name (examples: f9, ctrl+s, escape, enter, "
                    f"pageup, a)")
    return None


def _classes(root: type) -> list[type]:
    out, todo = [], [root]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def binding_ids() -> dict[str, Binding]:
    """Every binding id drtui declares (app, screens, widgets) -> its default Binding."""
    from textual.dom import DOMNode

    import drtui.screens
    import drtui.widgets

    for package in (drtui.screens, drtui.widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    ids: dict[str, Binding] = {}
    for cls in _classes(DOMNode):
        if not cls.__module__.startswith("drtui."):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                ids.setdefault(binding.id, binding)
    return ids


def unknown_ids(keymap: dict[str, str], known: dict[str, Binding]) -> list[str]:
    """One line per keymap entry naming a binding drtui does not have."""
    out = []
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            near = difflib.get_close_matches(binding_id, list(known), n=3, cutoff=0.6)
            out.append(f"keymap.{binding_id} = {keys!r}: drtui has no binding {binding_id!r}"
                       + (f" (did you mean {', '.join(near)}?)" if near else
                          " (f1 lists each key's id)") + ": ignored")
    return out


def checked_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The entries whose keys Textual can bind, and a line for each one it cannot."""
    good, problems = {}, []
    for binding_id, keys in keymap.items():
        if problem := key_problem(keys):
            problems.append(f"keymap.{binding_id}: {problem}: ignored")
        else:
            good[binding_id] = keys
    return good, problems
