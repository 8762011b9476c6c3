from __future__ import annotations

import pytest

from phoenix_compose.config.environment import list_environments, load_environment
from phoenix_compose.errors import ConfigurationError, Loc, UnknownEnvironmentError


def test_an_environment_exists_iff_its_env_file_exists(make_stack) -> None:
    root = make_stack({"envs/common.env": "A=1\n", "envs/dev.env": "", "envs/prod.env": "",
                       "envs/notes.txt": ""})
    assert list_environments(root) == ["dev", "prod"]


def test_an_unknown_environment_lists_the_valid_names(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "envs/prod.env": ""})
    with pytest.raises(UnknownEnvironmentError) as info:
        load_environment(root, "qa", {})
    assert "unknown environment 'qa'; valid environments: dev, prod" in str(info.value)


def test_common_then_env_file_then_process_environment(make_stack) -> None:
    root = make_stack({
        "envs/common.env": "A=common\nB=common\nC=common\n",
        "envs/dev.env": "B=dev\nC=dev\n",
    })
    variables = load_environment(root, "dev", {"C": "process"}).variables
    assert (variables["A"], variables["B"], variables["C"]) == ("common", "dev", "process")
    assert variables.origin("B") == Loc("envs/dev.env", 1, 1)
    assert variables.origin("C") is None


def test_env_files_interpolate_earlier_values_but_not_single_quotes(make_stack) -> None:
    root = make_stack({"envs/dev.env": "HOST=db\nURL=pg://${HOST}:${PORT:-5432}\nRAW='${HOST}'\n"})
    variables = load_environment(root, "dev", {}).variables
    assert variables["URL"] == "pg://db:5432"
    assert variables["RAW"] == "${HOST}"


def test_a_bad_env_line_names_the_file_and_line(make_stack) -> None:
    root = make_stack({"envs/dev.env": "A=1\n# fine\nthis is not an assignment\n"})
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "dev", {})
    (problem,) = info.value.problems
    assert str(problem).startswith("envs/dev.env:3:1: error: cannot parse 'this is not")


def test_a_required_variable_in_an_env_file_is_located(make_stack) -> None:
    root = make_stack({"envs/common.env": "# first\nX=${NOPE:?needs NOPE}\n", "envs/dev.env": ""})
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "dev", {})
    assert str(info.value.problems[0]).startswith(
        "envs/common.env:2:1: error: required variable NOPE is missing a value: needs NOPE")


@pytest.mark.parametrize(("name", "text", "production"), [
    ("prod", "", True),
    ("staging", "PHOENIX_PRODUCTION=true\n", True),
    ("staging", "PHOENIX_PRODUCTION=false\n", False),
    ("development", "", False),
])
def test_production_is_prod_or_the_flag(make_stack, name, text, production) -> None:
    root = make_stack({f"envs/{name}.env": text})
    assert load_environment(root, name, {}).production is production


def test_project_name_defaults_to_the_folder_and_env(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "envs/qa.env": "COMPOSE_PROJECT_NAME=custom\n"})
    assert load_environment(root, "dev", {}).project_name == "stack-dev"
    assert load_environment(root, "qa", {}).project_name == "custom"


def test_used_variables_are_tracked_for_the_cache(make_stack) -> None:
    root = make_stack({"envs/dev.env": "A=secret-a\nUNUSED=x\n"})
    variables = load_environment(root, "dev", {"B": "secret-b"}).variables
    variables.lookup("A"), variables.lookup("B"), variables.lookup("C")
    snap = variables.snapshot(variables.used)
    assert sorted(snap) == ["A", "B", "C"]
    assert snap["A"][0] == "file" and snap["B"][0] == "process" and snap["C"] == [None, None]
    assert "secret" not in str(snap)


PIN = "127.0.0.1:5000/phoenix/app@sha256:" + "0123456789abcdef" * 4


def test_a_lock_file_pins_images_above_the_env_file(make_stack) -> None:
    root = make_stack({"envs/prod.env": "APP_IMAGE=app:1\n",
                       "envs/prod.lock": f"# Written by `inv images.promote`\n\nAPP_IMAGE={PIN}\n"})
    variables = load_environment(root, "prod", {}).variables
    assert variables["APP_IMAGE"] == PIN
    assert variables.origin("APP_IMAGE") == Loc("envs/prod.lock", 3, 1)


def test_a_lock_file_cannot_turn_production_off_or_set_anything_but_image_pins(
        make_stack) -> None:
    """It is described as image pins only: it could set PHOENIX_PRODUCTION=false."""
    root = make_stack({"envs/staging.env": "PHOENIX_PRODUCTION=true\n",
                       "envs/staging.lock": f"APP_IMAGE={PIN}\nPHOENIX_PRODUCTION=false\n"
                                            "DB_IMAGE=postgres:16\nDB_PASSWORD=hunter2\n"
                                            "X_IMAGE=${APP_IMAGE}\nnot a line\n"})
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "staging", {})
    tail = ("' is not an image pin (NAME_IMAGE=<image>@sha256:<64 hex digits>), the only line "
            "a lock file may hold (hint: variables go in the env file; regenerate the lock "
            "with `inv images.promote`)")
    assert [str(p) for p in info.value.problems] == [
        f"envs/staging.lock:2:1: error: 'PHOENIX_PRODUCTION=false{tail}",
        f"envs/staging.lock:3:1: error: 'DB_IMAGE=postgres:16{tail}",
        f"envs/staging.lock:4:1: error: 'DB_PASSWORD=********{tail}",
        f"envs/staging.lock:5:1: error: 'X_IMAGE=${{APP_IMAGE}}{tail}",
        f"envs/staging.lock:6:1: error: 'not a line{tail}"]
    assert "hunter2" not in str(info.value)


def test_a_line_after_blank_lines_is_located_on_its_own_line(make_stack) -> None:
    """python-dotenv counts the blank lines before a statement as part of it."""
    root = make_stack({"envs/dev.env": "A=1\n\n\nB=${MISSING:?is required}\n"})
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "dev", {})
    assert [p.loc for p in info.value.problems] == [Loc("envs/dev.env", 4, 1)]
