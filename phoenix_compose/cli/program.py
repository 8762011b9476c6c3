"""The ``phoenix`` console script: invoke's Program over the same collections, with the
stack root = the current directory (for repositories that hold only a stack, e.g. in a
pre-commit hook)."""

from __future__ import annotations

from pathlib import Path


def main() -> None:
    from invoke import Program

    from phoenix_compose import __version__
    from phoenix_compose.cli import build_namespace

    Program(namespace=build_namespace(Path.cwd()), version=__version__, name="phoenix-compose",
            binary="phoenix").run()


if __name__ == "__main__":  # pragma: no cover
    main()
