"""``restart``, ``secrets.rotate`` and ``certs.init --force`` of a start-first service behind
the running edge (issue 26): its replicas are replaced start-first, as ``up`` replaces
them (:mod:`.startfirst`: new ones made beside the old, added once healthy, the old
drained and removed, ``parallelism`` at a time), so no request fails and the service is
never without a ready replica.  A restart replaces the containers rather than restarting
them in place: a replica restarted in place is out of the edge while it restarts, and a
service of one replica would be down.  The other services go as before (stop-first)."""

from __future__ import annotations

from collections.abc import Sequence

from phoenix_compose.runtime import containers
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.plan import Change, Plan, Step, profiles_of
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startfirst import rolling
from phoenix_compose.runtime.startup import StartOptions


def recreating(deployer: Deployer, stack: Stack, names: Sequence[str], why: str) -> Plan:
    """A plan that recreates ``names``, with the state of every replica (the roll counts
    the old ones from it)."""
    steps = tuple(Step(n, Change.RECREATE, stack.services[n].container, (why,),
                       replicas=stack.services[n].containers[1:]) for n in names)
    return Plan(stack.project, steps, containers.inspect(
        deployer.run, [c for n in names for c in stack.services[n].containers]))


def replace_start_first(deployer: Deployer, stack: Stack, names: Sequence[str],
                        timeout: float, why: str) -> list[str]:
    """Replace the start-first services of ``names`` behind the running edge; the others
    (for the caller to restart as before)."""
    plan = recreating(deployer, stack, names, why)
    rolled = rolling(stack, plan.steps, Edge(deployer.state).pid() is not None)
    if rolled:
        deployer.apply(stack, Plan(stack.project, tuple(rolled), plan.existing),
                       StartOptions(timeout, True, profiles_of(stack, [s.service
                                                                        for s in rolled])))
    return [n for n in names if n not in {s.service for s in rolled}]
