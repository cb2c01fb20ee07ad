"""The user's keymap ([keymap] in $XDG_CONFIG_HOME/drtui/config.toml): applied at start by
binding id, a bad entry a one-line message naming its key (never a crash), and the help
screen showing each binding's current key and id; snapshots of that help screen."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, open_at_step, screen_name, settle, starter_session

from drtui.screens.keymap import binding_ids, checked_keymap, key_problem, unknown_ids
from drtui.user_config import load_user_config

KEYMAP = """\
[keymap]
runs = "f9"            # the runs list moves from f6 to f9
step-next = "ctrl+n,f3"
help = "ctrl+"         # no key after the modifier
nosuch-binding = "f4"  # no such id
save = 5               # not a key in quotes
"""


def test_key_names_are_checked_as_textual_reads_them():
    for good in ("f9", "ctrl+s", "ctrl+shift+a", "escape", "enter", "pageup", "a", "A",
                 "left_square_bracket", "question_mark", "ctrl+n,f3", "alt+full_stop"):
        assert key_problem(good) is None, good
    assert "'f99' is not a key name" in key_problem("f99")
    assert "names no key after ctrl+" in key_problem("ctrl+")
    assert "'cmd' is not a modifier" in key_problem("cmd+s")
    assert "ctrl+shift+a for a capital" in key_problem("ctrl+A")
    assert "empty key" in key_problem("f1,,f2")


def test_a_bad_config_file_is_one_line_per_entry_never_an_exception(tmp_path):
    path = tmp_path / "config.toml"
    assert load_user_config(path).keymap == {}  # no file: nothing to say
    path.write_text("[keymap\nruns = 'f9'\n")
    [problem] = load_user_config(path).problems
    assert "is not valid TOML" in problem and "drtui's own keys apply" in problem
    path.write_text("keymap = 3\n[colours]\nx = 1\n")
    problems = load_user_config(path).problems
    assert problems == ["[colours] is not a drtui setting (the config file has [keymap]): "
                        "ignored", "keymap must be a table of binding id = \"key\" lines "
                        "([keymap]): ignored"]
    path.write_text(KEYMAP)
    config = load_user_config(path)
    assert config.keymap == {"runs": "f9", "step-next": "ctrl+n,f3", "help": "ctrl+",
                             "nosuch-binding": "f4"}
    assert config.problems == ["keymap.save must be a key in quotes, such as \"f9\" or "
                               "\"ctrl+s,f2\" (got 5): ignored"]
    keymap, problems = checked_keymap(config.keymap)
    assert keymap == {"runs": "f9", "step-next": "ctrl+n,f3", "nosuch-binding": "f4"}
    assert problems == ["keymap.help: 'ctrl+' names no key after ctrl+: ignored"]
    assert all("\n" not in p for p in config.problems + problems)


def test_every_binding_id_is_known_and_unknown_ones_are_named():
    ids = binding_ids()
    # the app's, a wizard step's, a screen's, a widget's
    assert {"help", "runs", "quit", "step-next", "save", "monitor-stop", "actions-add",
            "code-leave", "help-close"} <= set(ids)
    assert ids["runs"].key == "f6"
    [line] = unknown_ids({"runs": "f9", "nosuch-binding": "f4"}, ids)
    assert line.startswith("keymap.nosuch-binding = 'f4': drtui has no binding "
                           "'nosuch-binding'") and line.endswith(": ignored")


async def test_the_keymap_applies_at_start_and_bad_entries_are_said(workspace,
                                                                     _no_user_config):
    _no_user_config.parent.mkdir(parents=True)
    _no_user_config.write_text(KEYMAP)
    app = make_app(workspace, starter_session(workspace, "keys"))
    notes: list[tuple[str, str]] = []
    app.notify = lambda message, **kw: notes.append((kw.get("title", ""), str(message)))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 0)
        title, message = notes[-1]
        assert title.startswith("! 3 keymap entries not used")
        assert "keymap.save must be a key in quotes" in message
        assert "keymap.help: 'ctrl+' names no key" in message
        assert "drtui has no binding 'nosuch-binding'" in message

        await pilot.press("f3")  # step-next, remapped (ctrl+n still works: both listed)
        await settle(app, pilot)
        assert app.screen.INDEX == 1
        await pilot.press("f6")  # no longer the runs list
        await settle(app, pilot)
        assert screen_name(app) == "SensorsStep"
        await pilot.press("f9")
        await settle(app, pilot)
        assert screen_name(app) == "RunsScreen"
        await pilot.press("escape")
        await settle(app, pilot)

        await pilot.press("f1")  # help: the keys as they are now, with their ids
        await pilot.pause()
        assert screen_name(app) == "HelpScreen"
        table = app.screen.query_one("#help-keys").content
        rows = dict(zip((str(c) for c in table.columns[3].cells),
                        (str(c) for c in table.columns[0].cells)))
        assert rows["step-next"] == "^n f3 *" or rows["step-next"].endswith("*")
        assert rows["runs"] == "f9 *" and rows["save"] == "^s"
        keymap = str(app.screen.query_one("#help-keymap").content)
        assert "your keymap (" in keymap and "runs = f9" in keymap
        assert "! keymap.save must be a key in quotes" in keymap


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_help_with_a_user_keymap_snapshot(snap_compare, workspace, monkeypatch, size):
    # in the workspace, so the help shows the same relative path on every run
    config = workspace / "drtui-config.toml"
    config.write_text('[keymap]\nruns = "f9"\nsave = "ctrl+s,f2"\nnope = "f4"\n')
    monkeypatch.setenv("DRTUI_CONFIG", str(config))
    app = make_app(workspace, starter_session(workspace, "snap-model"), step=0)

    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("f1")
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
