"""Two fixes to invoke's command-line parsing, kept in this one module (invoke's parser is
not a public extension point; tests/cli/test_parsing.py fails loudly if an upgrade breaks
them):

- a usage error (an unknown flag, a missing value, ``--timeout abc``) exits 2 with one
  line, as command-line conventions want, instead of 1 or a ValueError traceback;
- a number option's help shows ``=NUMBER`` (invoke shows nothing for a float);
- a positional argument named in ``OPTIONAL_POSITIONALS`` may be left out (``inv logs``
  means every service, as ``docker compose logs`` does).
"""

from __future__ import annotations

from typing import Any

from invoke import Exit
from invoke.exceptions import ParseError
from invoke.parser import Argument, ParserContext
from invoke.parser.parser import ParseMachine
from invoke.program import Program

USAGE_ERROR = 2
OPTIONAL_POSITIONALS = {"services"}
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
            raise Exit(f"error: {exc}", code=USAGE_ERROR) from None
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


def _leave_out(machine: ParseMachine) -> None:
    """An optional positional not given: the task's default ("", every service) applies."""
    for arg in machine.context.missing_positional_args if machine.context else ():
        if arg.name in OPTIONAL_POSITIONALS:
            arg.set_value(arg.default if arg.default is not None else "", cast=False)


def _complete(original: Any) -> Any:
    def complete_context(self: ParseMachine) -> None:
        _leave_out(self)
        original(self)
    return complete_context


def _handle(original: Any) -> Any:
    def handle(self: ParseMachine, token: str) -> None:
        if token.startswith("-") and token != "-":  # a flag, never an optional positional
            _leave_out(self)
        original(self, token)
    return handle


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
    setattr(Argument, _PATCHED, True)
