"""Small shims for the oldest Python we support (3.10)."""

from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    StrEnum = enum.StrEnum
else:  # pragma: no cover - exercised by the 3.10 job only
    class StrEnum(str, enum.Enum):
        """An enum whose members are their string values (``str(x) == x.value``)."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)
