"""Every field rule reaches the user in plain words: no raw pydantic wording, whatever wrong
value a key is given."""

from __future__ import annotations

import copy

import pytest

from drtui.session.starter import SCENARIOS, starter
from drtui.session.store import to_data
from drtui.session.validate import problems_in

WRONG_VALUES = ["", "nope", -1, -1e12, 1e12, 1.5, True, [], ["x"], {}, {"x": 1}]
# what pydantic says when a message is passed through untranslated
RAW = ("input should", "should have", "after validation", "valid dictionary", "instance of",
       "value error", "are both", "field required", "extra inputs", "unable to parse")


def _leaves(node, path=()):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_raw_validator_wording_for_any_key(scenario):
    base = to_data(starter("m", scenario))
    seen = 0
    for path in _leaves(base):
        if not path or path[0] == "schema_version":
            continue
        for value in WRONG_VALUES:
            data = copy.deepcopy(base)
            node = data
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            _, problems = problems_in(data)
            for problem in problems:
                seen += 1
                text = problem.message.lower()
                assert problem.message, (path, value)
                assert not any(raw in text for raw in RAW), (path, value, problem.message)
    assert seen > 100  # the walk really broke rules


def test_the_messages_name_the_rule_and_the_value():
    data = to_data(starter("m"))
    data["training"]["workers"] = 99
    data["hyperparameters"]["lr"] = ""
    data["car"]["sensors"] = ["FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS"]
    data["race"]["type"] = "RACE"
    _, problems = problems_in(data)
    said = {p.path: p.message for p in problems}
    assert said["training.workers"] == "must be at most 16 (got 99)"
    assert said["hyperparameters.lr"] == "must be a number (got text '')"
    assert said["race.type"] == ("must be one of 'TIME_TRIAL', 'OBJECT_AVOIDANCE' or "
                                 "'HEAD_TO_BOT' (got text 'RACE')")
    assert said["car.sensors"] == ("exactly one camera is allowed; FRONT_FACING_CAMERA, "
                                   "LEFT_CAMERA and STEREO_CAMERAS are 3 cameras")
