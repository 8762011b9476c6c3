"""x-phoenix-restart is checked at validation time, with located errors."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError


def problems(make_stack, block: str, env_text: str = "") -> list[str]:
    root = make_stack({"envs/dev.env": env_text, "compose/a.yaml":
                       f"services:\n  web:\n    image: 'w:1'\n    x-phoenix-restart: {block}\n"})
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_a_good_policy_passes_also_from_variables(make_stack) -> None:
    assert problems(make_stack, "{enabled: false, max_restarts: 3, window_s: 60.5}") == []
    assert problems(make_stack, "{max_restarts: '${N}', enabled: '${ON}'}",
                    "N=4\nON=yes\n") == []
    assert problems(make_stack, "{unhealthy_for_s: 30, no_restart_exit_codes: [0, '${C}'], "
                                "restart_mode: recreate}", "C=42\n") == []


@pytest.mark.parametrize(("block", "expected"), [
    ("{max_restart: 3}", "compose/a.yaml:4:25: error: unknown key 'max_restart' in "
                         "x-phoenix-restart of service 'web' (hint: did you mean "
                         "'max_restarts'?)"),
    ("{max_restarts: lots}", "compose/a.yaml:4:39: error: x-phoenix-restart.max_restarts of "
                             "service 'web' must be a whole number >= 0, not 'lots'"),
    ("{window_s: -5}", "compose/a.yaml:4:35: error: x-phoenix-restart.window_s of service "
                       "'web' must be a number of seconds >= 0, not -5"),
    ("{enabled: 1}", "compose/a.yaml:4:34: error: x-phoenix-restart.enabled of service 'web' "
                     "must be true or false, not 1"),
    ("5", "compose/a.yaml:4:24: error: x-phoenix-restart of service 'web' must be a mapping "
          "(hint: keys: enabled, max_restarts, window_s, backoff_initial_s, backoff_max_s, "
          "unhealthy_for_s, no_restart_exit_codes, restart_mode)"),
    ("{restart_mode: reboot}", "compose/a.yaml:4:39: error: x-phoenix-restart.restart_mode of "
                               "service 'web' must be one of: restart, recreate, not 'reboot'"),
    ("{no_restart_exit_codes: [0, 300]}", "compose/a.yaml:4:52: error: x-phoenix-restart."
                                          "no_restart_exit_codes of service 'web' must be a "
                                          "list of distinct exit codes (0-255), not [0, 300]"),
    ("{unhealthy_for_s: soon}", "compose/a.yaml:4:42: error: x-phoenix-restart.unhealthy_for_s "
                                "of service 'web' must be a number of seconds >= 0, not 'soon'"),
])
def test_a_bad_policy_is_a_located_error(make_stack, block, expected) -> None:
    assert problems(make_stack, block) == [expected]


@pytest.mark.parametrize(("hook", "expected"), [
    ("{service: nope, command: [sh]}",
     "a.yaml:5:50: error: x-phoenix-rotate.service of secret 'pw' must name one of the "
     "services (db)"),
    ("{service: db, command: []}",
     "a.yaml:5:63: error: x-phoenix-rotate.command of secret 'pw' must be a non-empty list "
     "of strings"),
    ("{service: db, command: [sh], when: always}",
     "a.yaml:5:69: error: unknown key 'when' in x-phoenix-rotate of secret 'pw'"),
    ("[sh]", "a.yaml:5:40: error: x-phoenix-rotate of secret 'pw' must be a mapping with "
             "service and command"),
])
def test_a_bad_rotation_hook_is_a_located_error(make_stack, hook, expected) -> None:
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": "services:\n  db: {image: 'd:1', secrets: [pw]}\n"
                                         "secrets:\n  pw:\n"
                                         f"    {{external: true, x-phoenix-rotate: {hook}}}\n"})
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    assert [str(p).split(" (hint")[0].split("\n")[0] for p in info.value.problems] == [
        "compose/" + expected]


def test_the_drift_interval_is_a_number_of_seconds(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml":
                       "x-phoenix-drift-interval: soon\nservices:\n  web: {image: 'w:1'}\n"})
    with pytest.raises(ConfigurationError) as caught:
        build(load_environment(root, "dev", {}))
    assert [str(p) for p in caught.value.problems] == [
        "compose/a.yaml:1:27: error: x-phoenix-drift-interval must be a number of seconds "
        ">= 0 (0 turns drift checks off), not 'soon'"]


@pytest.mark.parametrize(("block", "expected"), [
    ("{every: 6h, keep: 28, verify: true}", None),
    ("{every: 90, keep: '${K}'}", None),
    ("{every: often}", "compose/a.yaml:4:31: error: x-phoenix-backup.every of service 'web' "
                       "must be a duration such as 30s, 6h or 1d (or seconds >= 1), not "
                       "'often'"),
    ("{every: 6h, kept: 3}", "compose/a.yaml:4:35: error: unknown key 'kept' in "
                             "x-phoenix-backup of service 'web' (hint: did you mean 'keep'?)"),
    ("{verify: sometimes}", "compose/a.yaml:4:32: error: x-phoenix-backup.verify of service "
                            "'web' must be true or false, not 'sometimes'"),
])
def test_the_backup_policy_is_checked_too(make_stack, block, expected) -> None:
    root = make_stack({"envs/dev.env": "K=3\n", "compose/a.yaml":
                       f"services:\n  web:\n    image: 'w:1'\n    x-phoenix-backup: {block}\n"})
    try:
        build(load_environment(root, "dev", {}))
        found = []
    except ConfigurationError as exc:
        found = [str(p) for p in exc.problems]
    assert found == ([] if expected is None else [expected])
