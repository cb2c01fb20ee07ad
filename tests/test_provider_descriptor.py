"""A provider is one class plus one descriptor (drtui/session/providers.py): a provider that
exists only in this test, registered at run time, is a session choice that validates, a row of
`drtui list backends`, a choice with its settings in the studio's backend step, a class launch
builds, and a machine owner the orphan sweep asks, with no other file of drtui touched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import Field

from drtui.backends.base import Provider
from drtui.session.base import Section
from drtui.session.providers import ProviderSpec, register, unregister

NAME = "test-cloud"
DESCRIPTION = "A cloud that exists only in drtui's tests."


class FakeCloudSettings(Section):
    zone: str = "zone-a"
    gpus: int = Field(default=1, ge=1, le=8)
    api_key_name: str = ""


SWEPT: list[Path] = []


class FakeCloudProvider(Provider):
    name = NAME

    async def acquire(self, run, *, create: bool = True):
        raise NotImplementedError  # not launched here

    async def release(self, run) -> None:
        return None

    async def sweep(self, workspace: Path) -> list:
        SWEPT.append(workspace)
        return [{"id": "tc-1", "where": "zone-a", "state": "running", "run_id": "",
                 "per_hour": 0.5}]

    async def terminate(self, orphan, workspace: Path | None = None) -> None:
        return None


@pytest.fixture
def test_cloud():
    spec = register(ProviderSpec(
        NAME, DESCRIPTION, ("embedded",), FakeCloudProvider, FakeCloudSettings,
        required={"api_key_name": "the test-cloud provider needs the name of its key"}))
    try:
        yield spec
    finally:
        unregister(NAME)


def _session(**backend) -> dict:
    from drtui.session.starter import starter
    from drtui.session.store import to_data

    data = to_data(starter("m"))
    data["backend"] = backend
    return data


def test_a_session_naming_the_registered_provider_validates(test_cloud):
    from drtui.session.validate import problems_in

    session, problems = problems_in(_session(
        provider=NAME, test_cloud={"zone": "zone-b", "gpus": 2, "api_key_name": "k"}))
    assert problems == []
    assert session.backend.provider == NAME
    assert session.backend.test_cloud.zone == "zone-b"
    assert session.backend.test_cloud.gpus == 2

    # its settings are checked by its own model, its runners and required keys by the descriptor
    _, problems = problems_in(_session(provider=NAME, runner="drfc",
                                       test_cloud={"gpus": 9, "zonez": "x"}))
    said = {p.path: p.message for p in problems}
    assert said["backend.test_cloud.gpus"] == "must be at most 8 (got 9)"
    assert said["backend.test_cloud.zonez"] == "unknown key (not part of the session schema)"
    _, problems = problems_in(_session(provider=NAME, runner="drfc"))
    said = {p.path: p.message for p in problems}
    assert said["backend.runner"] == "provider 'test-cloud' runs embedded, not 'drfc'"
    assert said["backend.test_cloud.api_key_name"] == ("the test-cloud provider needs the "
                                                       "name of its key")


def test_unregistered_the_provider_is_unknown_again(test_cloud):
    from drtui.session.validate import problems_in

    unregister(NAME)
    _, problems = problems_in(_session(provider=NAME))
    said = {p.path: p.message for p in problems}
    assert said["backend.provider"].startswith("must be one of 'local', 'ssh', ")
    assert said["backend.provider"].endswith("(got text 'test-cloud')")
    assert "test_cloud" not in said.get("backend.test_cloud", "")


def test_the_session_file_keeps_its_shape(test_cloud):
    """The built-in providers' tables and their order are as before the descriptors."""
    from drtui.session.model import Session
    from drtui.session.starter import starter
    from drtui.session.store import dumps, to_data

    backend = Session.model_fields["backend"].annotation
    assert list(backend.model_fields) == [
        "provider", "runner", "ssh", "aws_ec2", "nvidia_brev", "thunder_compute",
        "deepracer_on_aws", "test_cloud", "drfc"]
    assert to_data(starter("m"))["backend"] == {"provider": "local", "runner": "embedded"}
    text = dumps(starter("m").model_copy(update={"backend": backend(
        provider=NAME, test_cloud=FakeCloudSettings(zone="z9", api_key_name="k"))}))
    assert '[backend]\nprovider = "test-cloud"' in text
    assert '[backend.test_cloud]\nzone = "z9"' in text


def test_drtui_list_backends_has_a_row_for_it(test_cloud, capsys):
    from drtui import cli

    assert cli.main(["list", "backends", "--json"]) == 0
    rows = {r["provider"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[NAME] == {"provider": NAME, "runners": "embedded", "description": DESCRIPTION}
    assert rows["deepracer-on-aws"]["runners"] == "deepracer-on-aws"


def test_launch_and_the_sweep_find_its_class_and_capabilities(test_cloud, tmp_path):
    import asyncio

    from drtui.backends import registry, sweep
    from drtui.backends.capabilities import Estimates, Sweeps, Terminates
    from drtui.backends.launch import backend_for

    provider, runner = backend_for(NAME, "embedded")
    assert isinstance(provider, FakeCloudProvider)
    assert type(runner).__name__ == "RemoteEmbeddedRunner"
    assert issubclass(FakeCloudProvider, Sweeps) and issubclass(FakeCloudProvider, Terminates)
    assert not issubclass(FakeCloudProvider, Estimates)
    assert NAME in registry.provider_names()

    SWEPT.clear()
    result = asyncio.run(sweep.sweep(tmp_path, [NAME]))
    assert SWEPT == [tmp_path]
    assert [(o.provider, o.id, o.per_hour) for o in result.orphans] == [(NAME, "tc-1", 0.5)]


async def test_the_studio_backend_step_offers_it_with_its_settings(test_cloud, tmp_path,
                                                                     monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "tui"))
    from textual.widgets import RadioSet, Static
    from tui_helpers import make_app, open_at_step, settle

    from drtui.session.starter import starter
    from drtui.session.store import save
    from drtui.widgets.form_field import field_id
    from drtui.widgets.lazy_section import LazySection

    path = tmp_path / "m.toml"
    save(starter("m"), path)
    app = make_app(tmp_path, path, step=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 6)
        radios = app.screen.query_one("#provider", RadioSet)
        button = next(b for b in radios.query("RadioButton") if b.name == NAME)
        section = app.screen.query_one("#settings-test_cloud", LazySection)
        assert not section.display
        button.value = True
        await settle(app, pilot)
        assert app.draft.get("backend.provider") == NAME
        assert section.display
        note = app.screen.query_one("#provider-note", Static)
        assert str(note.render()) == DESCRIPTION
        runner = app.screen.query_one("#runner-note", Static)
        assert str(runner.render()).endswith(f"({NAME} runs: embedded)")
        zone = app.screen.query_one(f"#{field_id('backend.test_cloud.zone')}-editor")
        assert zone.value == "zone-a"  # its model's default
        assert not app.screen.query_one("#cost-estimate", Static).display


def test_the_descriptors_are_the_providers_sys_modules_untouched():
    """Describing the built-in providers imports none of their modules (boto3, asyncssh)."""
    import subprocess

    code = ("import sys; from drtui.session import backend; "
            "print(len(backend.specs()), [m for m in sys.modules if m.startswith("
            "('drtui.backends', 'boto3', 'asyncssh'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "6 []"
