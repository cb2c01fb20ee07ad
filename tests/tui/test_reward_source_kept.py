"""Opening a session whose reward is code (or a file) on the reward step keeps that reward."""

from __future__ import annotations

from tui_helpers import make_app, open_at_step, settle

from drtui.session.starter import starter
from drtui.session.store import save, to_data
from drtui.session.validate import problems_in

CODE = "def reward_function(params):\n    return 0.5\n"


async def test_code_reward_survives_the_reward_step(workspace):
    data = to_data(starter("coded"))
    data["reward"] = {"code": CODE}
    session, problems = problems_in(data)
    assert not problems
    save(session, workspace / "coded.toml")
    app = make_app(workspace, session=workspace / "coded.toml", step=5)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 5)
        await pilot.pause(0.5)
        await settle(app, pilot)
        # the template list's first Changed (on mount) once replaced the code by centerline
        assert app.draft.get("reward") == {"code": CODE}
        assert not app.draft.dirty
