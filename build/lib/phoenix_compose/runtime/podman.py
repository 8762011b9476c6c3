"""Deprecated: the subprocess seam's name before it became :mod:`.commands` (it runs git,
gpg, kubectl and bao as well).  The plugin guide told plugins to import
``phoenix_compose.runtime.podman``; such a plugin keeps working, warned.  This module *is*
``commands`` (one module object), so a test that patches ``commands.run`` reaches a plugin
that calls ``podman.run``."""

from __future__ import annotations

import sys
import warnings

from phoenix_compose.runtime import commands

warnings.warn("phoenix_compose.runtime.podman is phoenix_compose.runtime.commands now "
              "(or phoenix_compose.plugin.podman); the old name will go",
              DeprecationWarning, stacklevel=2)
sys.modules[__name__] = commands
