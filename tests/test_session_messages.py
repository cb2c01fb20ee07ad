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
       "value error", "are both", "field required", "extra inputs", "unable to parse",
       "validation error", "assertion failed", "type=", "pydantic")


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


def _model_paths(model, path=()):
    """Every field of the session's models, sections the starter leaves out included (every
    backend, research method, worker override, lidar, object position): a path of keys, with
    0 where a list of sections holds one."""
    import types
    import typing

    from pydantic import BaseModel

    for name, info in model.model_fields.items():
        here = (*path, name)
        ann = info.annotation
        union = typing.get_origin(ann) in (typing.Union, types.UnionType)
        options = typing.get_args(ann) if union else (ann,)

        def model_of(t):
            return t if isinstance(t, type) and issubclass(t, BaseModel) else None

        nested = [o for o in options if typing.get_origin(o) is not list and model_of(o)]
        listed = [typing.get_args(o)[0] for o in options if typing.get_origin(o) is list
                  and typing.get_args(o) and model_of(typing.get_args(o)[0])]
        if nested:
            yield from _model_paths(nested[0], here)
        elif listed:
            yield from _model_paths(listed[0], (*here, 0))
        else:
            yield here


def _put(data, path, value):
    node = data
    for key, after in zip(path, path[1:]):
        empty = [] if isinstance(after, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(empty)
            if not isinstance(node[key], type(empty)):
                node[key] = empty
        elif not isinstance(node.get(key), type(empty)) or (isinstance(empty, list)
                                                            and not node[key]):
            node[key] = node.get(key) if isinstance(node.get(key), type(empty)) else empty
        node = node[key]
    if isinstance(path[-1], int):
        node.append(value)
    else:
        node[path[-1]] = value


def test_no_raw_validator_wording_for_any_field_of_any_section():
    """Every field of every section, wrong in every way, the section created where the
    starter has none (so a missing required key is tried too), and the session rules that
    span sections (validate.session_problems) seen with it."""
    from drtui.session.model import Session

    base = to_data(starter("m"))
    paths = [p for p in _model_paths(Session) if p[0] != "schema_version"]
    assert len(paths) > 150 and ("workers", 0, "track", "world") in paths
    assert ("backend", "aws_ec2", "instance_type") in paths
    seen = set()
    for path in paths:
        for value in WRONG_VALUES:
            data = copy.deepcopy(base)
            _put(data, path, value)
            _, problems = problems_in(data)
            for problem in problems:
                seen.add(problem.path)
                text = problem.message.lower()
                assert problem.message, (path, value)
                assert not any(raw in text for raw in RAW), (path, value, problem.path,
                                                             problem.message)
    assert len(seen) > 100  # the walk really broke rules, all over the session
