from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from support import REPO, inv


def ci_stack(phoenix_stack: Path, test_body: str = "assert True", tasks_json: bool = True) -> Path:
    (phoenix_stack / "tests").mkdir()
    (phoenix_stack / "tests" / "test_smoke.py").write_text(f"def test_smoke():\n    {test_body}\n")
    if tasks_json:
        assert inv(phoenix_stack, "vscode.tasks").returncode == 0
    return phoenix_stack


@pytest.mark.slow  # `inv ci` runs pytest itself
def test_ci_runs_every_step_in_order(phoenix_stack: Path) -> None:
    result = inv(ci_stack(phoenix_stack), "ci")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [x for x in lines if x.startswith("ci: ") and x.endswith("...")] == [
        "ci: validate ...", "ci: vscode-tasks ...", "ci: exports ...", "ci: tests ..."]
    assert lines[-1].startswith("ci: validate ok (")
    assert "| vscode-tasks ok (" in lines[-1] and "| tests ok (" in lines[-1]
    assert "| exports ok (" in lines[-1]


def test_ci_stops_at_the_first_failing_step(phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack, tasks_json=False)  # never reached: validate fails first
    (root / "envs" / "staging.lock").write_text("NCA_TOOLKIT_IMAGE=\n")
    result = inv(root, "ci")
    assert result.returncode == 1
    assert "envs/staging.lock:1:1: error: " in result.stderr  # the located problem itself
    assert result.stdout.splitlines()[-1].startswith("ci: validate FAILED (")
    assert result.stdout.splitlines()[-1].endswith(
        "| vscode-tasks skipped | exports skipped | tests skipped")


@pytest.mark.slow  # `inv ci` runs pytest itself
def test_ci_catches_a_stale_tasks_file_and_failing_tests(phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack, "assert 1 == 2")
    (root / ".vscode" / "tasks.json").write_text("{}\n")
    stale = inv(root, "ci")
    assert stale.returncode == 1 and "| vscode-tasks FAILED (" in stale.stdout
    assert inv(root, "vscode.tasks").returncode == 0
    failing = inv(root, "ci")
    assert failing.returncode == 1 and "| tests FAILED (" in failing.stdout


@pytest.mark.slow  # the whole pipeline: deploy.kube, then `inv ci`
def test_ci_fails_on_a_committed_manifest_kubernetes_would_refuse(phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack)
    assert inv(root, "deploy.kube", "--env", "development").returncode == 0
    manifest = root / "deploy" / "kube" / "development" / "phoenix-core.yaml"
    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: one"))
    result = inv(root, "ci")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "| exports FAILED (" in result.stdout and "Traceback" not in result.stderr
    assert f"{manifest}:" in result.stderr and ":1: error: development: kube: " in result.stderr


@pytest.mark.quadlet
@pytest.mark.slow  # the whole CLI four times: deploy.quadlet, deploy.check x3
def test_deploy_check_reads_committed_quadlet_units_and_finds_them_stale(
        phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack)
    assert inv(root, "deploy.quadlet", "--env", "development", timeout=120).returncode == 0
    folder = root / "deploy" / "quadlet" / "development"
    assert inv(root, "deploy.check", "--env", "development", timeout=120).returncode == 0
    unit = folder / "phoenix-development-phoenix-core.container"
    unit.write_text(unit.read_text().replace("\nImage=", "\nImage=x\nImag=", 1))
    bad = inv(root, "deploy.check", "--env", "development", timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    line = next(i for i, text in enumerate(unit.read_text().splitlines(), 1)
                if text.startswith("Imag="))
    assert f"development: quadlet: {unit}:{line}:1: error: [Container] Imag= is not a " \
           "Quadlet key" in bad.stderr, bad.stderr
    unit.write_text(unit.read_text().replace("Image=x\nImag=", "Image="))  # valid, but old
    services = root / "compose" / "10-services.yaml"
    services.write_text(services.read_text().replace("LOG_LEVEL: ${LOG_LEVEL:-info}",
                                                     "LOG_LEVEL: trace"))
    stale = inv(root, "deploy.check", "--env", "development", timeout=120)
    assert stale.returncode == 1
    assert f"development: quadlet: {folder}: error: stale: run `inv deploy.quadlet --env " \
           "development` again" in stale.stderr, stale.stderr


def vendored_schema(name: str) -> dict:
    """A CI schema vendored by check-jsonschema (a test dependency)."""
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "builtin_schemas" / "vendor" / f"{name}.json"
    return json.loads(path.read_text())


def schema_errors(schema: dict, document: dict) -> list[str]:
    from jsonschema.validators import validator_for

    return [e.message for e in validator_for(schema)(schema).iter_errors(document)]


def test_the_github_workflow_is_valid_and_meets_the_pipeline_rules() -> None:
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    workflow = yaml.safe_load(text)
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    assert schema_errors(vendored_schema("github-workflows"), workflow) == []
    assert workflow["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    jobs = workflow["jobs"]
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:  # pinned by commit, the version in a comment
                assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step
                assert re.search(re.escape(step["uses"]) + r"\s+# v\d", text), step
                if "setup-python" in step["uses"]:
                    assert step["with"]["cache"] == "pip"
            # our tools never run as root (only apt does, through sudo)
            assert not re.search(r"sudo\s+(\S*/)?(dev|\.venv|inv|phoenix|python)",
                                 step.get("run", "")), step
    runs = {name: " ".join(s.get("run", "") for s in job["steps"])
            for name, job in jobs.items()}
    for tool in ("ruff check", "mypy", "lint-imports", "pre-commit run --all-files"):
        assert tool in runs["lint"]
    assert jobs["fast"]["strategy"]["matrix"]["python"] == ["3.10", "3.11", "3.12", "3.13"]
    assert 'not podman and not slow' in runs["fast"]
    assert "./dev setup" in runs["podman"] and '-m "podman or slow"' in runs["podman"]
    assert 'test "$(id -u)" != 0' in runs["podman"]  # rootless
    assert set(jobs["ci"]["needs"]) == {"lint", "fast", "podman"}
    assert ".venv/bin/inv ci" in runs["ci"]


def test_the_gitlab_example_is_valid_and_has_the_same_jobs() -> None:
    pipeline = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text())
    assert schema_errors(vendored_schema("gitlab-ci"), pipeline) == []
    assert {"lint", "fast", "podman", "ci"} <= set(pipeline)
    assert pipeline["fast"]["parallel"]["matrix"] == [
        {"PYTHON": ["3.10", "3.11", "3.12", "3.13"]}]
    assert set(pipeline["ci"]["needs"]) == {"lint", "fast", "podman"}
    assert "./dev setup" in pipeline["podman"]["script"]
