from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from phoenix_compose.errors import IntegrationError
from phoenix_compose.integrations.vscode import (
    ArgSpec,
    TaskSpec,
    build_tasks,
    check_inputs,
    phoenix_command,
    render,
    sync,
)

from support import REPO, inv, mock_context

SCHEMA = json.loads((Path(__file__).parent / "resources" / "vscode-tasks.schema.json")
                    .read_text())
SPECS = [
    TaskSpec("up", "Start the stack.", (
        ArgSpec("env", "str", None, "environment"),
        ArgSpec("services", "str", None, "services"),
        ArgSpec("no-wait", "bool", False),
        ArgSpec("timeout", "float", 300.0, "seconds"),
        ArgSpec("profile", "str", None, "profiles"),
    )),
    TaskSpec("logs", "Show logs.", (ArgSpec("service", "str", None, "the service", True),
                                    ArgSpec("lines", "int", 100, "how many"))),
    TaskSpec("health.watch", "Watch.", (ArgSpec("interval", "float", 5.0, "seconds"),)),
    TaskSpec("config.validate", "Validate.", (ArgSpec("env", "str", None),)),
    TaskSpec("db.seed", "A plugin task.", ()),
]


def document() -> dict:
    return build_tasks(SPECS, ["development", "prod"], ["web", "db", "web"])


def test_generation_matches_the_golden_file() -> None:
    golden = Path(__file__).parent / "resources" / "tasks.golden.json"
    assert render(document()) == golden.read_text()


def test_the_document_is_valid_against_the_tasks_schema_and_our_input_checks() -> None:
    errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(document())]
    assert errors == []
    assert check_inputs(document()) == []


def test_every_task_gets_a_readable_unique_label_and_its_docstring() -> None:
    tasks = {t["label"]: t for t in document()["tasks"]}
    assert list(tasks) == ["phoenix: config.validate", "phoenix: db.seed",
                           "phoenix: health.watch", "phoenix: logs", "phoenix: up"]
    assert tasks["phoenix: db.seed"]["detail"] == "A plugin task."


def test_arguments_become_inputs() -> None:
    doc = document()
    tasks = {t["label"]: t for t in doc["tasks"]}
    inputs = {i["id"]: i for i in doc["inputs"]}
    assert tasks["phoenix: up"]["args"] == ["up", "--env", "${input:env}", "--services",
                                            "${input:services}", "--timeout",
                                            "${input:up-timeout}"]
    assert inputs["env"] == {"id": "env", "type": "pickString", "description": "Environment",
                             "options": ["development", "prod"], "default": "development"}
    assert inputs["services"]["options"][1:] == ["db", "web"]
    assert inputs["up-timeout"] == {"id": "up-timeout", "type": "promptString",
                                    "description": "seconds", "default": "300.0"}
    assert tasks["phoenix: logs"]["args"][:2] == ["logs", "${input:service}"]
    assert inputs["service"]["type"] == "pickString"


def test_problem_matchers_groups_panels_and_the_background_watch() -> None:
    tasks = {t["label"]: t for t in document()["tasks"]}
    matcher = tasks["phoenix: config.validate"]["problemMatcher"][0]
    line = "compose/a.yaml:12:7: error: unknown key 'imgae' in services.web"
    m = re.match(matcher["pattern"]["regexp"], line)
    assert m and m.groups() == ("compose/a.yaml", "12", "7", "error",
                                "unknown key 'imgae' in services.web")
    assert tasks["phoenix: up"]["group"] == {"kind": "build", "isDefault": True}
    assert tasks["phoenix: logs"]["presentation"]["panel"] == "dedicated"
    watch = tasks["phoenix: health.watch"]
    assert watch["isBackground"] is True
    background = watch["problemMatcher"][0]["background"]  # VS Code learns it has started
    assert re.match(background["beginsPattern"], "phoenix-watch: watching phoenix-dev (env dev)")
    assert re.match(background["endsPattern"], "phoenix-watch: checked 3 services (3 ok); "
                                               "Ctrl-C to stop")
    assert tasks["phoenix: up"]["windows"] == {
        "command": "${workspaceFolder}\\.venv\\Scripts\\inv.exe"}


def test_config_watch_frames_every_cycle_so_fixed_problems_clear() -> None:
    spec = TaskSpec("config.watch", "Watch the config.", ())
    task = build_tasks([spec], ["dev"], [])["tasks"][0]
    background = task["problemMatcher"][0]["background"]
    assert re.match(background["beginsPattern"], "phoenix-watch: watching compose/a.yaml "
                                                  "changed (env dev)")
    assert re.match(background["endsPattern"], "phoenix-watch: checked config valid")


def test_a_stack_only_repository_calls_phoenix_and_defaults_to_a_running_service() -> None:
    doc = build_tasks(SPECS, ["development"], ["a-profiled", "web"], default_service="web",
                      stack_only=("phoenix", "phoenix"))
    assert {t["command"] for t in doc["tasks"]} == {"phoenix"}
    service = next(i for i in doc["inputs"] if i["id"] == "service")
    assert service["default"] == "web"


def _console_script(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_the_tasks_call_phoenix_bare_when_path_finds_the_one_generating_them(tmp_path) -> None:
    here = _console_script(tmp_path / "venv" / "bin" / "phoenix")
    assert phoenix_command(tmp_path / "repo", here, lambda _: str(here)) == ("phoenix",
                                                                             "phoenix")
    # run as `python -m` (no console script beside Python): the installed one, by name
    assert phoenix_command(tmp_path, tmp_path / "none" / "phoenix", lambda _: None) == \
        ("phoenix", "phoenix")


def test_the_tasks_call_the_generating_phoenix_by_path_when_path_misses_it(tmp_path) -> None:
    """Not on PATH (the README's venv install): its path, resolved at generation; under
    ${workspaceFolder} when the venv is in the repository, so every clone writes the same."""
    repo = tmp_path / "repo"
    inside = _console_script(repo / ".venv" / "bin" / "phoenix")
    assert phoenix_command(repo, inside, lambda _: None) == (
        "${workspaceFolder}/.venv/bin/phoenix", "${workspaceFolder}\\.venv\\Scripts\\phoenix.exe")
    elsewhere = _console_script(tmp_path / "venv" / "bin" / "phoenix")
    other = _console_script(tmp_path / "other" / "bin" / "phoenix")
    assert phoenix_command(repo, elsewhere, lambda _: str(other)) == (str(elsewhere),
                                                                      str(elsewhere))


def test_our_input_checks_catch_what_the_schema_cannot() -> None:
    doc = document()
    doc["inputs"] = [i for i in doc["inputs"] if i["id"] != "env"]
    doc["inputs"].append({"id": "x", "type": "pickString", "description": "x",
                          "options": ["a"], "default": "b"})
    doc["tasks"].append(dict(doc["tasks"][0]))
    assert check_inputs(doc) == [
        "input 'x': default 'b' is not among its options",
        "task label 'phoenix: config.validate' is not unique",
        "input 'env' is used but not defined",
    ]


def test_check_writes_nothing_and_shows_a_diff(tmp_path: Path) -> None:
    path = tmp_path / ".vscode" / "tasks.json"
    text = render(document())
    with pytest.raises(IntegrationError) as info:
        sync(path, text, check=True)
    assert not path.exists()
    assert "+++ tasks.json (generated)" in str(info.value)
    assert sync(path, text, check=False) is not None
    assert sync(path, text, check=True) is None


def test_the_committed_tasks_json_is_current_and_valid() -> None:
    result = inv(REPO, "vscode.tasks", "--check")
    assert result.returncode == 0, result.stderr
    committed = json.loads((REPO / ".vscode" / "tasks.json").read_text())
    assert [e.message for e in Draft202012Validator(SCHEMA).iter_errors(committed)] == []
    assert check_inputs(committed) == []
    labels = {t["label"] for t in committed["tasks"]}
    assert {"phoenix: up", "phoenix: config.validate", "phoenix: health.watch",
            "phoenix: ci", "phoenix: test", "phoenix: vscode.tasks"} <= labels


def vscode_tasks(root: Path, capsys, check: bool = False) -> tuple[int, str]:
    """``inv vscode.tasks`` in-process, its plugins loaded anew: (exit code, stderr)."""
    from invoke import Exit

    from phoenix_compose.cli import build_namespace, vscode

    build_namespace(root)
    try:
        vscode.tasks(mock_context(root), check=check)
        code = 0
    except Exit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def test_a_plugin_task_makes_the_file_stale_until_regenerated(phoenix_stack: Path,
                                                              capsys) -> None:
    assert vscode_tasks(phoenix_stack, capsys)[0] == 0
    assert vscode_tasks(phoenix_stack, capsys, check=True)[0] == 0
    (phoenix_stack / "tasks").mkdir(exist_ok=True)
    (phoenix_stack / "tasks" / "snap.py").write_text(
        "from invoke import task\n\n@task(help={'name': 'backup name'})\n"
        "def backup(c, name='nightly'):\n    '''Back up revenue-db.'''\n")
    code, err = vscode_tasks(phoenix_stack, capsys, check=True)
    assert code == 1
    assert '+      "label": "phoenix: snap.backup",' in err
    assert vscode_tasks(phoenix_stack, capsys)[0] == 0
    doc = json.loads((phoenix_stack / ".vscode/tasks.json").read_text())
    inputs = {i["id"]: i for i in doc["inputs"]}
    assert inputs["snap-backup-name"] == {"id": "snap-backup-name", "type": "promptString",
                                        "description": "backup name", "default": "nightly"}
    shutil.rmtree(phoenix_stack / "tasks")


def test_a_check_keeps_the_committed_phoenix_when_it_works_here(tmp_path) -> None:
    """Which ``phoenix`` generated the file (on PATH or not) is no staleness; a path that
    does not exist here is (the pre-commit hook's phoenix is on PATH, a test's is not)."""
    import json

    from phoenix_compose.integrations.vscodecmd import committed_command

    path = tmp_path / "tasks.json"
    program = tmp_path / "bin" / "phoenix"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")

    def committed(command: str) -> tuple[str, str] | None:
        path.write_text(json.dumps({"tasks": [{"command": command,
                                               "windows": {"command": command}}]}))
        return committed_command(path)

    assert committed("phoenix") == ("phoenix", "phoenix")
    assert committed("${workspaceFolder}/.venv/bin/phoenix") is not None
    assert committed(str(program)) is None  # not executable
    program.chmod(0o755)
    assert committed(str(program)) == (str(program), str(program))
    assert committed(str(tmp_path / "gone" / "phoenix")) is None  # another machine's
    assert committed("/usr/bin/sh") is None  # not a phoenix
    path.write_text("{broken")
    assert committed_command(path) is None
