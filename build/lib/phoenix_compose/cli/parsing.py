"""Two fixes to invoke's command-line parsing, kept in this one module (invoke's parser is
not a public extension point; tests/cli/test_parsing.py fails loudly if an upgrade breaks
them):

- a usage error (an unknown flag, a missing value, ``--timeout abc``) exits 2 with one
  line, as command-line conventions want, instead of 1 or a ValueError traceback; a flag
  of docker compose's that we do not take names the nearest thing we do (cli/nearest);
- a number option's help shows ``=NUMBER`` (invoke shows nothing for a float);
- a positional argument named in ``OPTIONAL_POSITIONALS`` may be left out (``inv logs``
  means every service, as ``docker compose logs`` does; ``db.restore --from FILE`` names
  no FILE), or given by its flag (``logs --services web``); a word that names a task is
  that task, not a service (``inv stop start``), and more words after it are more
  services (``inv up web db``, before or after the flags: invoke has no variadic
  positionals);
- :class:`Task` takes ``short={"tail": "n"}``: a flag's docker compose letter instead of
  invoke's first free one (``logs -n``), or none (``""``);
- a closed stdout (``phoenix --help | head -1``) ends the program quietly, never with a
  BrokenPipeError traceback (invoke prints help and listings with ``print``), nor with
  one from the flush at exit (a short output is still in the buffer then);
- ``TASK --help`` shows the task's help even when the task takes positional arguments
  (invoke would take ``--help`` as their value: ``exec --help``, ``secrets.set --help``);
- a parse does not deep-copy every task's parser context up front (a third of the time of
  parsing a command line of 60 tasks): invoke's parse machine only reads that table, and
  copies the one context it switches to.
"""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import atexit
import os
import sys
from typing import Any

from invoke import Exit
from invoke import Task as InvokeTask
from invoke.exceptions import ParseError
from invoke.parser import Argument, Parser, ParserContext
from invoke.parser.parser import ParseMachine
from invoke.program import Program
from invoke.util import Lexicon

USAGE_ERROR = 2
OPTIONAL_POSITIONALS = {"services", "db.restore:file"}  # a name, or TASK:NAME
HELP_FLAGS = ("--help", "-h")
_PATCHED = "_phoenix_patched"


def _set_value(original: Any) -> Any:
    def set_value(self: Argument, value: Any, cast: bool = True) -> None:
        try:
            original(self, value, cast)
        except ValueError:
            kind = "a number" if self.kind in (int, float) else f"of type {self.kind.__name__}"
            raise Exit(f"error: --{str(self.name).replace('_', '-')} must be {kind}, not "
                       f"'{value}'", code=USAGE_ERROR) from None
    return set_value


def _usage(original: Any) -> Any:
    def parse(self: Program, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except ParseError as exc:
            from phoenix_compose.cli.nearest import nearest

            raise Exit(f"error: {nearest(str(exc)) or exc}", code=USAGE_ERROR) from None
    return parse


def _help_for(original: Any) -> Any:
    def help_for(self: ParserContext, flag: str) -> tuple[str, str]:
        names, text = original(self, flag)
        arg = self.flags.get(flag)
        if arg is not None and arg.kind is float:
            names = ", ".join(f"{n}=NUMBER" if n.startswith("--") else f"{n} NUMBER"
                              for n in names.split(", "))
        return names, text
    return help_for


def _leave_out(machine: ParseMachine, flag: str = "", every: bool = False) -> None:
    """An optional positional not given: the task's default ("", every service) applies.
    ``flag``: the token being handled, when it is the flag of that very argument (its value
    comes next).  ``every``: all missing positionals (only their help is wanted)."""
    for arg in machine.context.missing_positional_args if machine.context else ():
        optional = OPTIONAL_POSITIONALS & {arg.name, f"{machine.context.name}:{arg.name}"}
        if (every or optional) and flag.lstrip("-") not in arg.names:
            arg.set_value(arg.default if arg.default is not None else "", cast=False)


def _complete(original: Any) -> Any:
    def complete_context(self: ParseMachine) -> None:
        _leave_out(self)
        original(self)
    return complete_context


def _more_services(machine: ParseMachine, token: str) -> bool:
    """``token`` is one more service of the task's optional positional ``services`` (given
    already, or left out by a flag): added to it, comma-separated."""
    context = machine.context
    if context is None or token.startswith("-") or machine.waiting_for_flag_value or \
            token in machine.contexts or context.missing_positional_args:
        return False
    arg = context.args.get("services")
    if arg is None or not arg.positional or arg.kind is not str:
        return False
    arg.set_value(",".join(v for v in (arg.value or "", token) if v), cast=False)
    return True


def _handle(original: Any) -> Any:
    def handle(self: ParseMachine, token: str) -> None:
        if token in HELP_FLAGS and self.context and token not in self.context.flags:
            _leave_out(self, every=True)  # so that invoke sees its own --help
        elif token.startswith("-") and token != "-":  # a flag, never an optional positional
            _leave_out(self, token)
        elif token in self.contexts and not self.waiting_for_flag_value:
            _leave_out(self)  # a task name: the next task, not a service
        elif self.current_state != "unknown" and _more_services(self, token):
            return
        original(self, token)
    return handle


class Task(InvokeTask):
    """A task whose flags may have docker compose's short names: ``short={"tail": "n"}``
    (invoke gives each flag the first letter of its name that is still free); ``""``: no
    short name (one docker compose does not have would mislead: ``-f`` is its file)."""

    def __init__(self, *args: Any, short: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.short = dict(short or {})

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, set(taken_names) | set(self.short.values()))
        if name in self.short:
            opts["names"] = [opts["names"][0], *filter(None, [self.short[name]])]
        return opts


class _Contexts(Lexicon):
    """A parser's table of task contexts, which ``ParseMachine`` reads but never changes
    (it deep-copies the one context it switches to): deep-copied, it is itself."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Contexts:
        return self


def _shared_contexts(original: Any) -> Any:
    def init(self: Parser, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        object.__setattr__(self.contexts, "__class__", _Contexts)  # Lexicon: no setattr
    return init


def _quiet_broken_pipe(original: Any) -> Any:
    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, BrokenPipeError):
            # The reader has gone: point stdout at /dev/null so that the interpreter's own
            # flush at exit cannot raise again, and say nothing.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            return
        original(kind, value, tb)
    return hook


def _flush_at_exit() -> None:
    """A short output waits in stdout's buffer until the interpreter's own flush at exit,
    which, the reader gone, prints "Exception ignored ... BrokenPipeError": flush it here
    first (atexit runs before that flush), pointing stdout at /dev/null when it fails."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no stdout, or already closed: nothing to flush
        pass


def install() -> None:
    """Apply the fixes once (idempotent)."""
    if getattr(Argument, _PATCHED, False):
        return
    Argument.set_value = _set_value(Argument.set_value)  # type: ignore[method-assign]
    Program.parse_core = _usage(Program.parse_core)  # type: ignore[method-assign]
    Program.parse_tasks = _usage(Program.parse_tasks)  # type: ignore[method-assign]
    ParserContext.help_for = _help_for(ParserContext.help_for)  # type: ignore[method-assign]
    ParseMachine.complete_context = _complete(  # type: ignore[method-assign]
        ParseMachine.complete_context)
    ParseMachine.handle = _handle(ParseMachine.handle)  # type: ignore[method-assign]
    Parser.__init__ = _shared_contexts(Parser.__init__)  # type: ignore[method-assign]
    sys.excepthook = _quiet_broken_pipe(sys.excepthook)
    atexit.register(_flush_at_exit)
    setattr(Argument, _PATCHED, True)
