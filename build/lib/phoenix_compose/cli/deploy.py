"""``inv deploy.kube``: Kubernetes manifests from the same validated config ``up`` runs."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
from pathlib import Path

from invoke import Context, Exit, task

from phoenix_compose.cli.common import (
    ENV_HELP,
    boundary,
    env_name,
    err,
    out_anchor,
    say,
    stack_root,
    warn_bad_env_files,
    write_outputs,
)


@task(help={"env": ENV_HELP, "out": "output folder (default: deploy/kube/<env>)",
            "check": "write nothing: fail when the folder's manifests (or, without the "
                     "folder, the generated ones) are invalid (kubernetes-validate --strict, "
                     "Kubernetes 1.25 and 1.37) or stale"})
def kube(c: Context, env: str | None = None, out: str | None = None,
         check: bool = False) -> None:
    """Kubernetes manifests (+ kustomization.yaml) of an env, validated; --check for CI."""
    from phoenix_compose.config.exportsecrets import refuse_secret_values
    from phoenix_compose.integrations import kube as generator
    from phoenix_compose.integrations.kubecheck import VERSIONS, render
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root, name = stack_root(c), env_name(c, env)
    folder = Path(out) if out else root / "deploy" / "kube" / name
    with boundary():
        project = ComposeManager(root, name).validate_compose_files()
        refuse_secret_values(root, name, project.cfg)
        files, warnings = generator.manifests(project.stack, name)
    texts = render(files)
    written = check and folder.is_dir()  # --check without the folder: the generated ones
    found = _kube_problems(folder, texts, written, name)
    for line in found:
        err(line)
    if found:
        raise Exit(f"{len(found)} problem(s); nothing written" if not check else "", code=1)
    for text in warnings:
        err(f"warning: {text}")
    if check:
        what = f"{folder} is current and" if written else "the generated manifests are"
        say(f"{name}: {what} valid on Kubernetes {', '.join(VERSIONS)}")
        return
    with boundary():
        write_outputs(root, {folder / file: text for file, text in texts.items()},
                      anchor=out_anchor(out))
    say(f"{name}: wrote {len(texts)} files to {folder} (valid on Kubernetes "
        f"{', '.join(VERSIONS)})")


def _kube_problems(folder: Path, texts: dict[str, str], written: bool, name: str) -> list[str]:
    """The folder's manifests (``written``; never read through a link), else the generated
    ones, checked, located."""
    from phoenix_compose.integrations.kubecheck import located, problems, read_dir

    with boundary():
        given = read_dir(folder) if written else texts
    found = [located(folder, line) for line in problems(given)]
    if written and given != texts:
        found.append(f"{folder}:1:1: error: stale: run `inv deploy.kube --env {name}` and "
                     "commit the result")
    return found


@task(name="kube-secrets",
      help={"env": ENV_HELP,
            "to": "kubectl (default: `kubectl apply -f -`, the documents on stdin) or podman "
                  "(JSON-shaped podman secrets, what `podman kube play` reads)",
            "context": "kubectl --context", "namespace": "kubectl --namespace"})
def kube_secrets(c: Context, env: str | None = None, to: str = "kubectl",
                 context: str | None = None, namespace: str | None = None) -> None:
    """The Secrets the manifests reference, from the env's secret store (never printed)."""
    from phoenix_compose.integrations import kube as generator
    from phoenix_compose.integrations import kubesecrets
    from phoenix_compose.runtime import argv_kubectl, commands
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.secrets import driver_for

    root, name = stack_root(c), env_name(c, env)
    if to not in ("kubectl", "podman"):
        raise Exit(f"error: --to must be kubectl or podman, not {to!r}", code=2)
    with boundary():
        project = ComposeManager(root, name).validate_compose_files()
        stack = project.stack
        files, _ = generator.manifests(stack, name)
        found = kubesecrets.values(stack, root, kubesecrets.referenced(files), commands.run)
        if to == "podman":
            driver = driver_for(root, name, commands.run, project.production)
            kubesecrets.to_podman(found, "", driver, commands.run, say)
            return
        commands.run(argv_kubectl.apply(context, namespace), timeout=120,
                     input=kubesecrets.secret_docs(found, generator.MANAGED))
    for secret, keys in sorted(found.items()):
        say(f"Secret {secret}: {', '.join(sorted(keys))} (applied with kubectl)")


@task(name="kube-play",
      help={"env": ENV_HELP, "down": "take down what the last play made",
            "volumes": "with --down: also remove the claims' volumes (their data)",
            "port_offset": "add this to every published host port (to run beside `up`)",
            "timeout": "seconds each service may take to become healthy (default 300)"})
def kube_play(c: Context, env: str | None = None, down: bool = False, volumes: bool = False,
              port_offset: int = 0, timeout: float = 300) -> None:
    """Run an env's manifests on this host with `podman kube play`, healthy, in order."""
    import os

    from phoenix_compose.config.exportsecrets import refuse_secret_values
    from phoenix_compose.integrations import kube as generator
    from phoenix_compose.integrations import kubesecrets
    from phoenix_compose.integrations.kubeplay import Player
    from phoenix_compose.runtime import commands
    from phoenix_compose.runtime.doctor import cgroups_v1
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.secrets import driver_for
    from phoenix_compose.statedir import StateDir

    root, name = stack_root(c), env_name(c, env)
    with boundary():
        project = ComposeManager(root, name).validate_compose_files()
        stack = project.stack
        if not down:  # what it plays reaches podman as the export's manifests
            refuse_secret_values(root, name, project.cfg)
        player = Player(stack, StateDir(root, name).kube_play, commands.run, say)
        kept = player.down(volumes=volumes and down)
        if down:
            say(f"{name}: kube play taken down" + (
                f"; kept the volume(s) {', '.join(kept)} (add --volumes to remove them)"
                if kept else ""))
            return
        files, warnings = generator.manifests(stack, name)
        found = kubesecrets.values(stack, root, kubesecrets.referenced(files), commands.run)
        driver = driver_for(root, name, commands.run, project.production)
        made = kubesecrets.to_podman(found, player.prefix, driver, commands.run, say)
        limits = os.geteuid() == 0 or not cgroups_v1()  # rootless v1: no container cgroup
        if not limits:
            err("warning: rootless on cgroups v1: podman cannot set resource limits; "
                "played without them")
        played = player.play(files, made, offset=port_offset, timeout=timeout, limits=limits)
    say(f"{name}: {len(played)} service(s) healthy under podman kube play; "
        f"take them down with: inv deploy.kube-play --env {name} --down [--volumes]")


@task(help={"env": ENV_HELP, "out": "output folder (default: deploy/quadlet/<env>)",
            "podman_version": "the podman the units are for (default 5.4; at least 4.5): "
                              "keys it lacks fall back to PodmanArgs= or are refused",
            "check": "write nothing: fail when the folder's units (or, without the folder, "
                     "the generated ones) fail the key check, quadlet -dryrun or "
                     "systemd-analyze verify, or are stale (without a quadlet binary the "
                     "last two are skipped, and said so)",
            "program": "the `phoenix` the watcher unit runs (default: `phoenix` on the "
                       "service's PATH; its settings file may set PHOENIX instead)"})
def quadlet(c: Context, env: str | None = None, out: str | None = None,
            podman_version: str | None = None, check: bool = False,
            program: str | None = None) -> None:
    """Quadlet units (+ phoenix-health-watch@.service) of an env, checked; --check for CI."""
    from phoenix_compose.config.exportsecrets import refuse_secret_values
    from phoenix_compose.integrations.quadlet import INSTALL, Target, default_program, units
    from phoenix_compose.integrations.quadletcheck import quadlet_binary, skipped
    from phoenix_compose.integrations.quadletkeys import DEFAULT_VERSION
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root, name, version = stack_root(c), env_name(c, env), podman_version or DEFAULT_VERSION
    folder = Path(out) if out else root / "deploy" / "quadlet" / name
    target = Target(root, program or default_program(), version)
    convert = quadlet_binary() is not None  # without one: written, and said so
    with boundary():
        project = ComposeManager(root, name).validate_compose_files()
        refuse_secret_values(root, name, project.cfg)
        try:
            texts, warnings = units(project.stack, name, target)
        except ValueError as exc:
            raise Exit(f"error: --podman-version: {exc}", code=2) from None
        written = check and folder.is_dir()
        found = _unit_problems(folder, texts, version, written, name, convert)
    for line in found:
        err(line)
    if found:
        raise Exit("" if check else f"{len(found)} problem(s); nothing written", code=1)
    for text in warnings + skipped(convert):
        err(f"warning: {text}")
    passed = f"pass the podman {version} key check" + (
        ", quadlet -dryrun and systemd-analyze" if convert else " (not converted)")
    if check:
        say(f"{name}: {'the units in ' + str(folder) if written else 'the generated units'} "
            f"{passed}")
        return
    with boundary():  # the folder is all generated: a unit of a removed service goes too
        write_outputs(root, {folder / file: text for file, text in texts.items()},
                      prune={folder: "*.*"}, anchor=out_anchor(out))
    say(f"{name}: wrote {len(texts)} units to {folder} ({passed}); install them: "
        + INSTALL.replace("FOLDER", str(folder)).replace("ENV", name))


@task(name="quadlet-secrets", help={"env": ENV_HELP})
def quadlet_secrets(c: Context, env: str | None = None) -> None:
    """The podman secrets the units read for variables that look secret (never printed)."""
    from phoenix_compose.integrations.kubesecrets import put_secrets
    from phoenix_compose.integrations.quadletctr import secret_values
    from phoenix_compose.runtime import commands
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.secrets import driver_for

    root, name = stack_root(c), env_name(c, env)
    with boundary():
        project = ComposeManager(root, name).validate_compose_files()
        found = secret_values(project.stack)
        made = put_secrets(found, driver_for(root, name, commands.run, project.production),
                           commands.run)
    for secret in made:
        say(f"podman secret {secret}")
    if not made:
        say(f"{name}: no variable looks secret: the units read no podman secret")


def _unit_problems(folder: Path, texts: dict[str, str], version: str, written: bool,
                   env: str, convert: bool) -> list[str]:
    """The units written in the folder (``written``), or else the generated ones."""
    from phoenix_compose.integrations.quadletcheck import check, check_folder
    from phoenix_compose.runtime import commands

    if written:
        return check_folder(folder, texts, version, commands.run,
                            f"inv deploy.quadlet --env {env}", convert)
    return check(texts, version, commands.run, convert)


@task(name="check", help={"env": "one environment (default: every one, as CI does)"})
def check_all(c: Context, env: str | None = None) -> None:
    """CI and pre-commit: deploy.kube --check and deploy.quadlet --check of every env."""

    from phoenix_compose.config.environment import list_environments
    from phoenix_compose.integrations.ci import export_problems
    from phoenix_compose.integrations.quadletcheck import quadlet_binary, skipped

    root = stack_root(c)
    names = [env_name(c, env)] if env else list_environments(root)
    if not env:
        warn_bad_env_files(root)
    convert = quadlet_binary() is not None
    with boundary():
        found = export_problems(root, names, convert=convert)
    for line in skipped(convert):
        err(f"warning: {line}")
    for line in found:
        err(line)
    if found:
        raise Exit(code=1)
    say(f"{', '.join(names)}: the Kubernetes manifests and Quadlet units are valid")
