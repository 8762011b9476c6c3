"""The image check before a deploy removes anything: ids this deploy observed already (its
plan's) are not asked of podman again; the others are, and a missing one is an error."""

from __future__ import annotations

import pytest

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.stack import ServiceSpec
from phoenix_compose.runtime.startup.preflight import image_ids

SPECS = [ServiceSpec("web", "p_web_1", "w:1", False), ServiceSpec("db", "p_db_1", "d:1", False)]


class Podman:
    def __init__(self, here: dict[str, str]) -> None:
        self.here, self.asked = here, []

    def __call__(self, argv, *_args, **_kwargs) -> Result:
        image = argv[-1]
        self.asked.append(image)
        if image in self.here:
            return Result(tuple(argv), 0, self.here[image] + "\n", "")
        return Result(tuple(argv), 125, "", f"Error: {image}: image not known")


def test_ids_the_plan_observed_are_not_asked_again() -> None:
    podman = Podman({"w:1": "sha256:w", "d:1": "sha256:d"})
    known = {"w:1": "sha256:w", "d:1": "sha256:d"}
    assert image_ids(podman, SPECS, known) == known and podman.asked == []
    assert image_ids(podman, SPECS, {"w:1": "sha256:w"}) == known
    assert podman.asked == ["d:1"]  # only what the plan did not see
    assert image_ids(podman, SPECS) == known and podman.asked[1:] == ["d:1", "w:1"]


def test_an_image_neither_observed_nor_here_is_an_error() -> None:
    with pytest.raises(ComposeRuntimeError, match=r"image not present locally: d:1 \(service db\)"):
        image_ids(Podman({"w:1": "sha256:w"}), SPECS, {"w:1": "sha256:w"})
