"""``inv ci``: the pipeline's steps in order, stopping at the first that fails."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.config.environment import list_environments
from phoenix_compose.config.exportsecrets import export_problems as export_secret_problems
from phoenix_compose.errors import PhoenixError, StepFailed, shown
from phoenix_compose.integrations import kube, kubecheck, quadlet, quadletcheck
from phoenix_compose.integrations.precommit import validate_envs
from phoenix_compose.integrations.quadletkeys import DEFAULT_VERSION
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.lifecycle import ComposeManager

Step = tuple[str, Callable[[], None]]


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float


def validate_all(root: Path) -> None:
    """Every environment, all problems printed; fails when any is invalid."""
    failed = validate_envs(root, list_environments(root), out=lambda _line: None)
    if failed:
        raise StepFailed(f"invalid environment(s): {', '.join(n.split(':')[0] for n in failed)}")


def export_problems(root: Path, envs: Sequence[str], program: str | None = None,
                    convert: bool = True, kube_schema: bool = True) -> list[str]:
    """``deploy.kube --check`` and ``deploy.quadlet --check`` of each env: the committed
    folder (``deploy/kube|quadlet/<env>``) when there is one, else what would be written;
    without ``convert``, the units have the key check and the staleness check only (no
    quadlet -dryrun, no systemd-analyze verify); without ``kube_schema``, the manifests are
    compared, not validated (no kubernetes-validate)."""
    program = program or quadlet.default_program()
    found: list[str] = []
    for env in envs:
        stack = ComposeManager(root, env).stack()
        found += [str(p) for p in export_secret_problems(root, env)]
        manifests = kubecheck.render(kube.manifests(stack, env)[0])
        folder = root / "deploy" / "kube" / env
        given = kubecheck.read_dir(folder) if folder.is_dir() else manifests
        found += [kubecheck.located(folder, line, f"{env}: kube: ")
                  for line in (kubecheck.problems(given) if kube_schema else [])]
        if given != manifests:
            found.append(f"{folder}:1:1: error: {env}: kube: stale: run `inv deploy.kube "
                         f"--env {env}` and commit the result")
        units, _ = quadlet.units(stack, env, quadlet.Target(root, program, DEFAULT_VERSION))
        folder = root / "deploy" / "quadlet" / env
        found += [f"{env}: quadlet: {line}" for line in (
            quadletcheck.check_folder(folder, units, DEFAULT_VERSION, commands.run,
                                      f"inv deploy.quadlet --env {env}", convert)
            if folder.is_dir() else quadletcheck.check(units, DEFAULT_VERSION, commands.run,
                                                       convert))]
    return found


def check_exports(root: Path, program: str | None = None, convert: bool = True,
                  kube_schema: bool = True) -> None:
    """The ``exports`` step of ``inv ci``: every problem printed, then one failure;
    ``program``: what the watcher unit runs (default: ``phoenix`` on PATH); ``convert``:
    False for ``ci --skip quadlet``; ``kube_schema``: False for ``ci --skip kube``."""
    found = export_problems(root, list_environments(root), program, convert, kube_schema)
    for line in found:
        print(shown(line, keep="\n"), file=sys.stderr, flush=True)
    if found:
        raise StepFailed(f"{len(found)} problem(s) in the Kubernetes or Quadlet exports")


def has_tests(root: Path) -> bool:
    """Does the repository hold tests (a ``tests/`` folder, a pytest configuration)?  A
    stack-only repository often has none, and then the ``tests`` step has nothing to run."""
    return any((root / name).exists() for name in ("tests", "test", "pytest.ini",
                                                   "conftest.py"))


def run_pytest(root: Path, args: Sequence[str] = (), out: Callable[[str], None] = print) -> None:
    import importlib.util

    if not has_tests(root) and not args:
        out("ci: tests: none in this repository (no tests/ folder, no pytest.ini): "
            "nothing to run")
        return
    if importlib.util.find_spec("pytest") is None:
        raise StepFailed("pytest is not installed: pip install 'phoenix-compose[test]' "
                         "(or skip the step: ci --skip tests)")
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=root)
    if code == 5:
        raise StepFailed("pytest collected no tests")
    if code:
        raise StepFailed(f"pytest exited with code {code}")


def run_steps(steps: Sequence[Step], out: Callable[[str], None] = print) -> list[StepResult]:
    results: list[StepResult] = []
    for name, step in steps:
        out(f"ci: {name} ...")
        started = time.monotonic()
        try:
            step()
        except PhoenixError as exc:
            out(f"ci: {name} FAILED: {str(exc).splitlines()[0]}")
            results.append(StepResult(name, False, time.monotonic() - started))
            break
        results.append(StepResult(name, True, time.monotonic() - started))
    return results


SKIPPABLE = ("validate", "vscode-tasks", "exports", "quadlet", "kube", "tests")


def skipped(text: str) -> set[str]:
    """``ci --skip a,b``: steps left out (``quadlet``: only the units' conversion by
    quadlet -dryrun and systemd-analyze verify, their key and staleness checks stay;
    ``kube``: only the manifests' validation by kubernetes-validate, the staleness check
    stays)."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(SKIPPABLE))
    if unknown:
        raise ValueError(f"--skip: no step {', '.join(unknown)} (steps: {', '.join(SKIPPABLE)})")
    return names


def summary(results: Sequence[StepResult], planned: Sequence[str]) -> str:
    done = {r.name: r for r in results}
    parts = []
    for name in planned:
        r = done.get(name)
        parts.append(f"{name} skipped" if r is None else
                     f"{name} {'ok' if r.ok else 'FAILED'} ({r.seconds:.1f} s)")
    return "ci: " + " | ".join(parts)
