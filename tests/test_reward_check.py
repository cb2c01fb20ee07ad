import math
import textwrap
import time

import pytest

from drtui.reward.check import FILENAME, RewardCheck, check_reward_code, load_reward_function
from drtui.reward.params import sample_params

SAMPLES = sample_params("reinvent_base", n=6, seed=0)


def code(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


GOOD = code("""
    import math

    def reward_function(params):
        return float(1.0 - params["distance_from_center"] / params["track_width"])
""")


def test_good_function_passes_and_reports_rewards():
    check = check_reward_code(GOOD, SAMPLES)
    assert check.ok and check.error is None and check.line is None
    assert check.calls == len(SAMPLES)
    expected = [1 - p["distance_from_center"] / p["track_width"] for p in SAMPLES]
    assert check.rewards == pytest.approx(expected)


def test_default_samples_come_from_a_track():
    check = check_reward_code(GOOD, world="2022_reinvent_champ_cw")
    assert check.ok and check.calls == 32 and len(set(check.rewards)) > 1
    assert check_reward_code(GOOD).calls == 32


def test_syntax_error_reports_its_line():
    check = check_reward_code(code("""
        def reward_function(params):
            x = (1 +
            return x
    """), SAMPLES)
    assert not check.ok and check.calls == 0
    assert check.error.startswith("SyntaxError")
    assert check.line in (2, 3)  # the unclosed bracket; CPython versions differ on which line
    indent = check_reward_code("def reward_function(params):\nreturn 1.0\n", SAMPLES)
    assert indent.error.startswith("IndentationError") and indent.line == 2


def test_runtime_error_reports_the_line_inside_user_code():
    check = check_reward_code(code("""
        def helper(params):
            return params["no_such_key"]

        def reward_function(params):
            if params["steps"] > 0:
                return helper(params)
            return 1.0
    """), SAMPLES)
    assert not check.ok and check.calls == 1 and check.rewards == []
    assert check.error == "KeyError: 'no_such_key' at sample 0"
    assert check.line == 2  # the innermost frame of the user's code, inside helper


def test_runtime_error_at_a_later_sample_keeps_earlier_rewards():
    check = check_reward_code(code("""
        calls = []
        def reward_function(params):
            calls.append(1)
            if len(calls) == 3:
                return 1 / 0
            return 0.5
    """), SAMPLES)
    assert check.rewards == [0.5, 0.5] and check.calls == 3
    assert check.error == "ZeroDivisionError: division by zero at sample 2" and check.line == 5


def test_error_while_loading_the_module():
    check = check_reward_code("import math\nLIMIT = math.sqrt(-1)\n", SAMPLES)
    assert not check.ok and check.line == 2 and "ValueError" in check.error


NOT_A_NUMBER = "it must return a number (bool is not a number)"


@pytest.mark.parametrize("value,expected", [
    ("float('nan')", "reward nan at sample 0 is not finite"),
    ("float('inf')", "reward inf at sample 0 is not finite"),
    ("1e6", "reward 1e+06 at sample 0 is outside ±1e5"),
    ("-100001", "reward -100001 at sample 0 is outside ±1e5"),
    ("'1.0'", f"reward_function returned str at sample 0; {NOT_A_NUMBER}"),
    ("None", f"reward_function returned NoneType at sample 0; {NOT_A_NUMBER}"),
    ("True", f"reward_function returned bool at sample 0; {NOT_A_NUMBER}"),
    ("10**400", "reward at sample 0 is an integer too large for a float, outside ±1e5"),
])
def test_bad_return_values_name_the_rule(value, expected):
    check = check_reward_code(f"def reward_function(params):\n    return {value}\n", SAMPLES)
    assert not check.ok and check.error == expected and check.rewards == []


def test_bad_value_at_a_later_sample_names_that_sample():
    check = check_reward_code(code(f"""
        def reward_function(params):
            return 1e6 if params["steps"] == {SAMPLES[3]["steps"]} else 1
    """), SAMPLES)
    assert check.error == "reward 1e+06 at sample 3 is outside ±1e5"
    assert check.rewards == [1.0, 1.0, 1.0] and all(type(r) is float for r in check.rewards)


def test_limits_are_inclusive_and_ints_are_numbers():
    check = check_reward_code("def reward_function(params):\n    return 100000\n", SAMPLES)
    assert check.ok and check.rewards == [1e5] * len(SAMPLES)


def test_missing_or_non_callable_reward_function():
    missing = check_reward_code("def reward(params):\n    return 1.0\n", SAMPLES)
    assert not missing.ok and missing.error == "the code does not define reward_function(params)"
    not_callable = check_reward_code("reward_function = 3\n", SAMPLES)
    assert not_callable.error == "reward_function must be a function, not int"


def test_each_call_gets_its_own_copy_of_params():
    samples = sample_params("reinvent_base", n=3, seed=1)
    before = [dict(p, waypoints=list(p["waypoints"])) for p in samples]
    check = check_reward_code(code("""
        seen = []
        def reward_function(params):
            seen.append(params)
            params["waypoints"].clear()
            params["speed"] = -1
            return float(len(seen) + sum(len(p["waypoints"]) for p in seen))
    """), samples)
    assert check.ok and check.rewards == [1.0, 2.0, 3.0]  # earlier copies were emptied, not shared
    assert samples == before


def test_code_runs_in_a_fresh_namespace_each_time():
    source = code("""
        try:
            COUNT += 1
        except NameError:
            COUNT = 1
        def reward_function(params):
            return float(COUNT)
    """)
    assert check_reward_code(source, SAMPLES[:1]).rewards == [1.0]
    assert check_reward_code(source, SAMPLES[:1]).rewards == [1.0]


def test_print_is_captured_not_written(capsys):
    source = 'def reward_function(params):\n    print("step", params["steps"])\n    return 1.0\n'
    check = check_reward_code(source, SAMPLES[:2])
    assert check.ok and check.output == [f"step {p['steps']}" for p in SAMPLES[:2]]
    assert capsys.readouterr().out == ""


def test_slow_call_times_out(monkeypatch):
    monkeypatch.setattr("drtui.reward.check.CALL_TIMEOUT_S", 0.2)
    started = time.monotonic()
    check = check_reward_code(code(f"""
        import time
        def reward_function(params):
            time.sleep(1.0 if params["steps"] == {SAMPLES[1]["steps"]} else 0)
            return 1.0
    """), SAMPLES)
    assert time.monotonic() - started < 0.9  # did not wait for the sleeping call
    assert check.error == "reward_function took longer than 0.2 s at sample 1"
    assert not check.ok and check.rewards == [1.0]


def test_slow_module_load_times_out(monkeypatch):
    monkeypatch.setattr("drtui.reward.check.CALL_TIMEOUT_S", 0.2)
    source = "import time\ntime.sleep(1.0)\ndef reward_function(params):\n    return 1.0\n"
    check = check_reward_code(source, SAMPLES)
    assert check.error == "the module took longer than 0.2 s to load" and check.calls == 0


def test_default_timeout_is_two_seconds():
    from drtui.reward import check as module
    assert module.CALL_TIMEOUT_S == 2.0 and module.REWARD_LIMIT == 1e5


def test_load_reward_function_from_source_and_path(tmp_path):
    fn = load_reward_function(GOOD)
    p = SAMPLES[0]
    assert fn(dict(p)) == pytest.approx(1 - p["distance_from_center"] / p["track_width"])
    path = tmp_path / "reward_function.py"
    path.write_text(GOOD)
    assert load_reward_function(path)(dict(p)) == fn(dict(p))
    assert load_reward_function(str(path))(dict(p)) == fn(dict(p))
    with pytest.raises(ValueError, match="no callable reward_function"):
        load_reward_function("x = 1\n")
    with pytest.raises(ZeroDivisionError) as err:
        load_reward_function("def reward_function(params):\n    return 1 / 0\n")({})
    assert err.value.__traceback__.tb_next.tb_frame.f_code.co_filename == FILENAME


def test_result_type():
    check = check_reward_code(GOOD, SAMPLES[:1])
    assert isinstance(check, RewardCheck) and math.isfinite(check.rewards[0])


# --- the worker process: user code cannot freeze, end or read the caller ---------------------

def test_endless_loop_ends_at_the_time_limit(monkeypatch):
    monkeypatch.setattr("drtui.reward.check.CALL_TIMEOUT_S", 0.5)
    started = time.monotonic()
    check = check_reward_code("def reward_function(params):\n    while True:\n        pass\n",
                              SAMPLES)
    assert time.monotonic() - started < 5  # start-up, 0.5 s, the kill
    assert check.error == "reward_function took longer than 0.5 s at sample 0"
    assert not check.ok and check.calls == 0
    module_loop = check_reward_code("while True:\n    pass\n", SAMPLES)
    assert module_loop.error == "the module took longer than 0.5 s to load"


@pytest.mark.parametrize("body,why", [
    ("os._exit(1)", "ended the check process (exit status 1) at sample 0: a reward function "
                    "must return a number, not exit"),
    ("os.kill(os.getpid(), 9)", "was killed by SIGKILL at sample 0"),
])
def test_code_that_ends_its_process_is_a_problem_not_a_crash(body, why):
    check = check_reward_code(f"import os\ndef reward_function(params):\n    {body}\n", SAMPLES)
    assert not check.ok and check.calls == 0 and check.error == f"the reward code {why}"
    at_load = check_reward_code("import os\nos._exit(3)\n", SAMPLES)
    assert at_load.error.startswith("the reward code ended the check process (exit status 3) "
                                    "while loading the module")


def test_system_exit_is_reported_not_obeyed():
    check = check_reward_code("import sys\ndef reward_function(params):\n    sys.exit(4)\n",
                              SAMPLES)
    assert check.error == "SystemExit: 4 at sample 0" and check.line == 3


def test_memory_is_limited():
    check = check_reward_code("def reward_function(params):\n    x = bytearray(4 << 30)\n"
                              "    return 1.0\n", SAMPLES)
    assert check.error.startswith("MemoryError at sample 0") and "1024 MiB" in check.error
    assert check.line == 2


def test_no_environment_and_no_working_folder_of_the_caller(monkeypatch, tmp_path):
    monkeypatch.setenv("DRTUI_TEST_SECRET", "hunter2")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.txt").write_text("x")
    check = check_reward_code(code("""
        import os
        def reward_function(params):
            print(sorted(k for k in os.environ if "SECRET" in k or k.startswith("AWS")))
            print(os.path.exists("here.txt"))
            return 1.0
    """), SAMPLES[:1])
    assert check.ok and check.output == ["[]", "False"]


def test_garbage_on_the_report_pipe_and_print_floods_are_bounded():
    flood = check_reward_code(code("""
        def reward_function(params):
            for i in range(100000):
                print("x" * 10000)
            return 1.0
    """), SAMPLES[:2])
    assert flood.ok and len(flood.output) == 200 and all(len(o) == 500 for o in flood.output)
    garbage = check_reward_code(code("""
        import os
        def reward_function(params):
            for fd in map(int, os.listdir("/proc/self/fd")):  # the pipe keeps the parent's
                if fd < 3:                                     # number, whatever it is
                    continue
                try:
                    os.write(fd, b"not json\\n")
                except OSError:
                    pass
            return 1.0
    """), SAMPLES[:1])
    assert not garbage.ok and garbage.error.startswith("the reward check sent an unreadable "
                                                       "reply at sample 0")


def test_forked_children_are_ended_with_the_check(tmp_path):
    marker = tmp_path / "alive"
    check = check_reward_code(code(f"""
        import os, time
        def reward_function(params):
            if os.fork() == 0:
                time.sleep(1.5)
                open({str(marker)!r}, "w").close()
                os._exit(0)
            return 1.0
    """), SAMPLES[:1])
    assert check.ok
    time.sleep(2.0)
    assert not marker.exists()  # the group was killed with the worker
