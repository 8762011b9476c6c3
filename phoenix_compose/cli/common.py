"""What every task shares: the stack root, the default env, and the error boundary."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke import Context, Exit

from phoenix_compose.cli.output import say as say  # re-exported: every task prints with it
from phoenix_compose.cli.output import write
from phoenix_compose.cli.quick import LOG_ROTATION, STACK_ENV
from phoenix_compose.errors import ConfigurationError, Interrupted, PhoenixError, shown

DEFAULTS = {"root": ".", "env": STACK_ENV, "lock_wait": 10.0, "hooks": {},
            "hook_timeout": 10.0, "log_max_bytes": LOG_ROTATION[0],
            "log_keep": LOG_ROTATION[1],
            "extra_roots": "", "passthrough": "", "template_timeout": ""}
ENV_HELP = ("environment: the name of a file envs/<name>.env (default: development, or "
            "default in a compose project; invoke config phoenix.env / INVOKE_PHOENIX_ENV)")


def project_defaults(root: Path) -> dict[str, str]:
    """A compose project's environment is ``default`` (a stack root's, ``development``)."""
    from phoenix_compose.config.stackfiles import PROJECT_ENV, is_compose_project

    return {"env": PROJECT_ENV} if is_compose_project(root) else {}


def stack_root(c: Context) -> Path:
    """The stack root; also applies the config's log rotation (every task asks for it)."""
    from phoenix_compose.fileio import set_rotation

    phoenix = c.config.phoenix
    set_rotation(phoenix.get("log_max_bytes", LOG_ROTATION[0]),
                 phoenix.get("log_keep", LOG_ROTATION[1]))
    export_operator_settings(phoenix)
    return Path(phoenix.root).resolve()


def export_operator_settings(phoenix: Any) -> None:
    """The operator's invoke settings (``phoenix.extra_roots``, ``.passthrough``,
    ``.template_timeout``) reach the engine as the process variables it reads them from; a
    variable the operator set in the process itself wins.  Never from the stack's files."""
    from phoenix_compose.config.operator import SETTINGS

    for variable, key in SETTINGS.items():
        value = phoenix.get(key)
        if isinstance(value, (list, tuple)):
            value = (os.pathsep if key == "extra_roots" else ",").join(map(str, value))
        if value not in (None, "") and variable not in os.environ:
            os.environ[variable] = str(value)


def env_name(c: Context, env: str | None) -> str:
    """``--env`` (or the configured default), refused unless it is an env name: it becomes a
    folder under ``.phoenix/`` and ``deploy/``, so ``..`` or ``a/b`` must never reach one."""
    from phoenix_compose.statedir import ENV_NAME_RULE, valid_env_name

    name = env or c.config.phoenix.env
    if not valid_env_name(str(name)):
        raise Exit(f"error: --env: {shown(repr(name))} is not an environment name "
                   f"({ENV_NAME_RULE})", code=2)
    return str(name)


def write_outputs(root: Path, files: dict[Path, str], prune: dict[Path, str] | None = None,
                  anchor: Path | None = None) -> list[Path]:
    """Write generated files of the repository (``deploy/``, ``.vscode/``): every folder
    below ``anchor`` (default: the stack root; an operator's ``--out`` folder's parent) is a
    real directory, else a located error before anything is written or pruned."""
    from phoenix_compose.errors import Loc, Problem
    from phoenix_compose.fileio import write_files

    try:
        return write_files(files, prune, inside=anchor or root)
    except OSError as exc:
        where = Path(exc.filename or root)
        try:
            shown_at = str(where.relative_to(root))
        except ValueError:
            shown_at = str(where)
        message = f"cannot write the generated files: {exc.strerror or exc}"
        raise ConfigurationError([Problem(Loc(shown_at, 1, 1), message)],
                                 hint="nothing was written") from None


def out_anchor(out: str | None) -> Path | None:
    """An operator's ``--out`` folder may be anywhere, but is itself no link (it is pruned)."""
    return Path(out).absolute().parent if out else None


def warn_bad_env_files(root: Path) -> None:
    """Each ``envs/*.env`` whose name is no env name, located: it is never an env."""
    from phoenix_compose.config.stackfiles import ENV_NAME_RULE, bad_env_files

    for path in bad_env_files(root):
        err(f"{path.relative_to(root)}:1:1: warning: {path.name[:-4]!r} is not an "
            f"environment name ({ENV_NAME_RULE}); this file is ignored")


def err(text: str) -> None:
    """A message on stderr: its control characters escaped (line breaks and tabs kept)."""
    write(sys.stderr, for_program(shown(text, keep="\n\t")), "\n")


def for_program(text: str) -> str:
    """Hints name tasks as `inv TASK`; run as the ``phoenix`` program (a repository with
    no tasks.py), the same task is `phoenix TASK`."""
    return text.replace("`inv ", "`phoenix ") if Path(sys.argv[0]).name == "phoenix" \
        else text


@contextmanager
def stop_signals(left_running: Callable[[], list[str]] = list) -> Iterator[None]:
    """An administrative action (up, down, restart, stop): SIGINT and SIGTERM are noted by
    a thread (runtime.stopping: no handler raises at an arbitrary point), which kills the
    podman children; the action stops at its next podman call or pause, audited as
    interrupted, the env lock released.  Then what is left running is printed and the exit
    code is 130 (SIGINT) or 143 (SIGTERM); more signals meanwhile change nothing."""
    from phoenix_compose.runtime import commands, stopping

    restore = stopping.noted(commands.terminate_all)
    try:
        yield
    except KeyboardInterrupt as exc:
        commands.terminate_all()
        code = 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)
        stopping.clear()  # asking what is left running is a podman call too
        err(f"interrupted; left running: {_bounded(left_running)}")
        raise Exit(code=code) from None
    finally:
        restore()


@contextmanager
def boundary() -> Iterator[None]:
    """Turn the engine's typed errors into a clean message and exit code, never a traceback."""
    try:
        yield
    except ConfigurationError as exc:
        err(str(exc))
        if exc.hint:
            err(f"hint: {exc.hint}")
        raise Exit(code=exc.exit_code) from None
    except PhoenixError as exc:
        err(f"error: {exc}")
        raise Exit(code=exc.exit_code) from None


def _bounded(left_running: Callable[[], list[str]], seconds: float = 1.0) -> str:
    """What is left running, asked of podman for at most ``seconds`` (it may hang)."""
    from phoenix_compose.runtime import commands

    answer: list[str] = []
    done = threading.Event()

    def ask() -> None:
        try:
            answer.extend(left_running())
        except (PhoenixError, KeyboardInterrupt):
            pass
        finally:
            done.set()

    threading.Thread(target=ask, name="phoenix-left", daemon=True).start()
    if not done.wait(seconds):
        commands.terminate_all()
        return "unknown (podman did not answer; see `inv status`)"
    return ", ".join(answer) or "nothing"


def refuse_invoke_flags(c: Context, task_name: str) -> None:
    """invoke's core ``--dry``/``-R`` only affect ``c.run`` (which phoenix never uses), and
    ``-d`` after a task without that flag silently becomes invoke's ``--debug``: refuse both
    on an action that changes the stack, saying what to use."""
    if c.config.run.dry:
        err(f"error: --dry/-R is invoke's own flag and would change nothing here; use "
            f"`inv {task_name} --dry-run` to see the podman commands")
        raise Exit(code=2)
    args = sys.argv[1:]
    after = args[args.index(task_name) + 1:] if task_name in args else []
    if task_name != "up" and any(a in ("-d", "--debug") for a in after):
        err(f"error: `{task_name}` has no -d flag (invoke would read it as its own --debug); "
            "for docker compose's `up -d` use `inv up -d`")
        raise Exit(code=2)


def number(value: object, name: str) -> float:
    """A numeric flag (invoke passes what was typed as text): a clear usage error, exit 2."""
    try:
        return float(str(value))
    except ValueError:
        err(f"error: --{name.replace('_', '-')} must be a number, not '{value}'")
        raise Exit(code=2) from None
