"""Health-gated start: services start as soon as their dependencies meet their conditions.

- :mod:`.preflight`: images and host ports, checked before anything is created (which
  containers are stale is the plan's decision: :mod:`..plan`);
- :mod:`.waves`: the loop that creates containers level by level in the background and
  starts each service when its ``depends_on`` conditions hold;
- :mod:`.diagnosis`: a failure names the service, its last check output, its log tail and
  what it left running.
"""

from __future__ import annotations

from phoenix_compose.runtime.startup.creation import levels
from phoenix_compose.runtime.startup.diagnosis import Report
from phoenix_compose.runtime.startup.state import Progress, StartState
from phoenix_compose.runtime.startup.waves import Clock, StartOptions, Startup

__all__ = ["Clock", "Progress", "Report", "StartOptions", "StartState", "Startup", "levels"]
