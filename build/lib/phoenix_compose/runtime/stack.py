"""The typed services moved to :mod:`phoenix_compose.config.services` (the
:class:`~phoenix_compose.config.project.Project` that ``prepare`` returns holds them); this
module re-exports them for the code that imports them from here."""

from phoenix_compose.config.services import (
    Health,
    ServiceSpec,
    Stack,
    container_name,
    load_stack,
    seconds,
)

__all__ = ["Health", "ServiceSpec", "Stack", "container_name", "load_stack", "seconds"]
