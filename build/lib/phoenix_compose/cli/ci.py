"""``inv ci`` and ``inv test``: what a pipeline (or a developer) runs."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import shlex

from invoke import Context, Exit, task

from phoenix_compose.cli.common import boundary, say, stack_root


@task(help={"pytest_args": "extra arguments for pytest, e.g. \"-m 'not slow'\""})
def test(c: Context, pytest_args: str = "") -> None:
    """Run the test suite (pytest) of the stack root."""
    from phoenix_compose.integrations.ci import run_pytest

    with boundary():
        run_pytest(stack_root(c), shlex.split(pytest_args))


@task(help={"pytest_args": "extra arguments for the tests step",
            "skip": "steps to leave out, comma-separated: validate, vscode-tasks, exports, "
                    "tests, quadlet (only the units' conversion by quadlet -dryrun and "
                    "systemd-analyze verify: a host with no quadlet) or kube (only the "
                    "manifests' validation: no phoenix-compose[kube])"})
def ci(c: Context, pytest_args: str = "", skip: str = "") -> None:
    """CI steps in order: validate all envs, VS Code tasks staleness, the Kubernetes and
    Quadlet exports of every env, tests."""
    from phoenix_compose.cli import CURRENT
    from phoenix_compose.integrations import ci as pipeline
    from phoenix_compose.integrations.vscode import render, sync, tasks_document

    root = stack_root(c)
    try:
        left_out = pipeline.skipped(skip)
    except ValueError as exc:
        raise Exit(f"error: {exc}", code=2) from None

    def vscode_check() -> None:
        document = tasks_document(CURRENT["namespace"], root)
        sync(root / ".vscode" / "tasks.json", render(document), check=True)

    steps = [("validate", lambda: pipeline.validate_all(root)), ("vscode-tasks", vscode_check),
             ("exports", lambda: pipeline.check_exports(
                 root, convert="quadlet" not in left_out, kube_schema="kube" not in left_out)),
             ("tests", lambda: pipeline.run_pytest(root, shlex.split(pytest_args)))]
    for name, what in (("quadlet", "the units are not converted"),
                       ("kube", "the manifests are not validated")):
        if name in left_out:
            say(f"ci: {name}: {what} (--skip {name}): staleness checks only")
    planned = [name for name, _ in steps]
    steps = [step for step in steps if step[0] not in left_out]
    with boundary():
        results = pipeline.run_steps(steps)
    say(pipeline.summary(results, planned))
    if not all(r.ok for r in results) or len(results) < len(steps):
        raise Exit(code=1)


@task(name="update")
def schema_update(c: Context) -> None:
    """Refresh the vendored compose-spec schema from check-jsonschema's copy (a dev task)."""
    import datetime
    import importlib.metadata
    import importlib.util
    from pathlib import Path

    from jsonschema.exceptions import SchemaError

    from phoenix_compose.config.schema import ORIGIN_FILE, update_schema

    found = importlib.util.find_spec("check_jsonschema")
    if found is None or found.origin is None:
        raise Exit("error: check-jsonschema is not installed: pip install -e '.[test]' "
                   "(it is a development dependency only)", code=1)
    source = Path(found.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    version = importlib.metadata.version("check-jsonschema")
    with boundary():
        try:
            changed = update_schema(source, version, datetime.date.today().isoformat())
        except (ValueError, SchemaError) as exc:
            raise Exit(f"error: {source}: {str(exc).splitlines()[0]}", code=1) from None
    say(f"compose-spec schema {'updated from' if changed else 'already current with'} "
        f"check-jsonschema {version} ({ORIGIN_FILE})")


ROOT_TASKS = [test, ci]
