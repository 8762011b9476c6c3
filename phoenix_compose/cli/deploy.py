"""``inv deploy.kube``: Kubernetes manifests from the same validated config ``up`` runs."""

from __future__ import annotations

from pathlib import Path

from invoke import Context, Exit, task

from phoenix_compose.cli.common import ENV_HELP, boundary, env_name, err, say, stack_root


@task(help={"env": ENV_HELP, "out": "output folder (default: deploy/kube/<env>)",
            "check": "write nothing: fail when the folder's manifests are invalid "
                     "(kubernetes-validate --strict, Kubernetes 1.25 and 1.37) or stale"})
def kube(c: Context, env: str | None = None, out: str | None = None,
         check: bool = False) -> None:
    """Kubernetes manifests (+ kustomization.yaml) of an env, validated; --check for CI."""
    from phoenix_compose.fileio import write_files
    from phoenix_compose.integrations import kube as generator
    from phoenix_compose.integrations.kubecheck import VERSIONS, problems, read_dir, render
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root, name = stack_root(c), env_name(c, env)
    folder = Path(out) if out else root / "deploy" / "kube" / name
    with boundary():
        files, warnings = generator.manifests(ComposeManager(root, name).stack(), name)
    texts = render(files)
    found = [_located(folder, line) for line in problems(read_dir(folder) if check else texts)]
    if check and read_dir(folder) != texts:
        found.append(f"{folder}: error: stale: run `inv deploy.kube --env {name}` and commit "
                     "the result")
    for line in found:
        err(line)
    if found:
        raise Exit(f"{len(found)} problem(s); nothing written" if not check else "", code=1)
    for text in warnings:
        err(f"warning: {text}")
    if check:
        say(f"{name}: {folder} is current and valid on Kubernetes {', '.join(VERSIONS)}")
        return
    write_files({folder / file: text for file, text in texts.items()})
    say(f"{name}: wrote {len(texts)} files to {folder} (valid on Kubernetes "
        f"{', '.join(VERSIONS)})")


def _located(folder: Path, line: str) -> str:
    """``FILE:DOC: message`` -> ``FOLDER/FILE:DOC:1: error: message``."""
    file, _, rest = line.partition(":")
    doc, _, message = rest.partition(": ")
    if not doc.isdigit():
        return f"{folder / file}:1:1: error: {rest.strip()}"
    return f"{folder / file}:{doc}:1: error: {message}"
