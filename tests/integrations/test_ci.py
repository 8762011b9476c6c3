from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

from support import REPO, inv


def ci_stack(phoenix_stack: Path, test_body: str = "assert True") -> Path:
    (phoenix_stack / "tests").mkdir()
    (phoenix_stack / "tests" / "test_smoke.py").write_text(f"def test_smoke():\n    {test_body}\n")
    assert inv(phoenix_stack, "vscode.tasks").returncode == 0
    return phoenix_stack


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
    root = ci_stack(phoenix_stack)
    (root / "envs" / "staging.lock").write_text("NCA_TOOLKIT_IMAGE=\n")
    result = inv(root, "ci")
    assert result.returncode == 1
    assert "compose/10-services.yaml:" in result.stderr  # the located problem itself
    assert result.stdout.splitlines()[-1].startswith("ci: validate FAILED (")
    assert result.stdout.splitlines()[-1].endswith(
        "| vscode-tasks skipped | exports skipped | tests skipped")


def test_ci_catches_a_stale_tasks_file_and_failing_tests(phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack, "assert 1 == 2")
    (root / ".vscode" / "tasks.json").write_text("{}\n")
    stale = inv(root, "ci")
    assert stale.returncode == 1 and "| vscode-tasks FAILED (" in stale.stdout
    assert inv(root, "vscode.tasks").returncode == 0
    failing = inv(root, "ci")
    assert failing.returncode == 1 and "| tests FAILED (" in failing.stdout


def test_ci_fails_on_a_committed_manifest_kubernetes_would_refuse(phoenix_stack: Path) -> None:
    root = ci_stack(phoenix_stack)
    assert inv(root, "deploy.kube", "--env", "development").returncode == 0
    manifest = root / "deploy" / "kube" / "development" / "phoenix-core.yaml"
    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: one"))
    result = inv(root, "ci")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "| exports FAILED (" in result.stdout and "Traceback" not in result.stderr
    assert "development: kube: phoenix-core.yaml:" in result.stderr


def test_the_example_workflow_is_a_valid_github_workflow() -> None:
    spec = importlib.util.find_spec("check_jsonschema")
    schema_path = Path(spec.origin).parent / "builtin_schemas" / "vendor" / \
        "github-workflows.json"
    schema = json.loads(schema_path.read_text())
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the key `on` as true
    assert [e.message for e in Draft7Validator(schema).iter_errors(workflow)] == []
    steps = [s.get("run", "") for s in workflow["jobs"]["ci"]["steps"]]
    assert any("config.validate --all" in s for s in steps)
    assert any("vscode.tasks --check" in s for s in steps)
