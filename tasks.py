"""Invoke entry point: the built-in collections plus every tasks/*.py as a plugin collection."""

from pathlib import Path

from phoenix_compose.cli import build_namespace

ns = build_namespace(Path(__file__).resolve().parent)
