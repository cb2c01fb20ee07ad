"""The user's own drtui settings: a TOML file in the user's config folder.

    $DRTUI_CONFIG, else $XDG_CONFIG_HOME/drtui/config.toml, else ~/.config/drtui/config.toml

Today it holds one section, a keymap (as darrenburns/posting has): binding id -> keys.

    [keymap]
    runs = "f9"             # the runs list on f9 instead of f6
    save = "ctrl+s,f2"      # several keys: comma-separated

Reading never fails: a missing file is an empty config, and every entry that cannot be used
is a one-line problem naming its key, the rest still applies. Plain Python (no Textual): the
key names are checked by drtui.screens.keymap, which knows Textual's.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_ENV = "DRTUI_CONFIG"
SECTIONS = ("keymap",)


def config_path() -> Path:
    if explicit := os.environ.get(CONFIG_ENV):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "drtui" / "config.toml"


@dataclass
class UserConfig:
    path: Path
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> "key,key"
    problems: list[str] = field(default_factory=list)  # one line each, naming the key


def load_user_config(path: Path | None = None) -> UserConfig:
    path = config_path() if path is None else Path(path)
    config = UserConfig(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return config
    except (OSError, UnicodeDecodeError) as exc:
        config.problems.append(f"cannot read {path}: {exc}; drtui's own keys apply")
        return config
    except tomllib.TOMLDecodeError as exc:
        config.problems.append(f"{path} is not valid TOML ({exc}); drtui's own keys apply")
        return config
    for name in data:
        if name not in SECTIONS:
            config.problems.append(f"[{name}] is not a drtui setting (the config file has "
                                   f"{', '.join(f'[{s}]' for s in SECTIONS)}): ignored")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        config.problems.append("keymap must be a table of binding id = \"key\" lines "
                               "([keymap]): ignored")
        return config
    for binding_id, keys in keymap.items():
        if isinstance(keys, str) and keys.strip():
            config.keymap[binding_id] = keys.strip()
        else:
            config.problems.append(f"keymap.{binding_id} must be a key in quotes, such as "
                                   f"\"f9\" or \"ctrl+s,f2\" (got {keys!r}): ignored")
    return config
