"""Storing a podman secret's value safely: podman's size limit checked before anything
changes, and a replacement that keeps the old value until the new one exists."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv, containers

MAX_VALUE = 512_000  # podman refuses a secret of this many bytes or more
SPARE = ".phoenix-new"  # the suffix of the temporary name a new value is stored under first


def check_value(name: str, value: str) -> None:
    """Refuse, before anything changes, a value podman cannot store."""
    if not value:
        raise ComposeRuntimeError(f"refusing an empty value for secret '{name}'",
                                  hint="pipe the value in: printf %s VALUE | inv "
                                       "secrets.set NAME")
    size = len(value.encode("utf-8"))
    if size >= MAX_VALUE:
        raise ComposeRuntimeError(
            f"refusing the value for secret '{name}': it is {size} bytes, and podman stores "
            f"less than {MAX_VALUE} bytes; the current value was kept",
            hint="store a large value as a file the service mounts, not as a secret")


def replace_secret(run: containers.Runner, name: str, value: str, have: Collection[str], *,
                   driver: str, options: Mapping[str, str],
                   labels: Mapping[str, str] | None = None) -> None:
    """Create podman secret ``name``, or replace it so that the old value stays until the
    new one exists (podman 4.3 has no ``secret create --replace``, nor a rename): the new
    value is stored under a temporary name first; only when podman took it is the old
    secret removed and the value stored under its own name; then the temporary goes."""
    def create(secret: str) -> None:
        run(argv.secret_create(secret, driver, options, labels), input=value, timeout=120)

    if name not in have:
        create(name)
        return
    spare = f"{name}{SPARE}"
    if spare in have:  # left by a run that was killed: it holds no value anyone uses
        run(argv.secret_remove(spare), tolerate=((125, "no such secret"),), timeout=60)
    create(spare)  # a failure here (too big, a driver error) leaves the old one as it was
    run(argv.secret_remove(name), timeout=60)
    try:
        create(name)
    except ComposeRuntimeError as exc:  # the value is safe under the spare name
        raise ComposeRuntimeError(
            f"secret {name} was removed but could not be created again: {exc}; its new "
            f"value is stored as podman secret {spare}",
            hint="run the same `inv secrets.set` again") from None
    run(argv.secret_remove(spare), tolerate=((125, "no such secret"),), timeout=60)
