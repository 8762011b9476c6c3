"""``deploy.quadlet`` and replicas (issue 26 item 5): a replicated service is a template
unit ``<name>@.container`` whose instances a ``<name>.target`` starts, named as docker
compose names replicas; its dependents require every instance; and every key the export
cannot carry is named.  Checked by Debian trixie's quadlet (-dryrun) when it is here."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.errors import ConfigurationError
from phoenix_compose.integrations.quadlet import Target, render, units
from phoenix_compose.integrations.quadletcheck import check
from phoenix_compose.integrations.quadletkeys import entries
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.lifecycle import ComposeManager

REPLICAS = """
services:
  api:
    image: api:1
    ports: ["8080:80"]
    labels: {tier: "50%"}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}
    stop_signal: SIGINT
    deploy: {replicas: 3}
  web:
    image: web:1
    depends_on: [api]
"""


def generated(make_stack, version: str = "5.4") -> tuple[dict[str, str], list[str]]:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=rep\n",
                       "compose/a.yaml": REPLICAS})
    return units(ComposeManager(root, "t").stack(), "t", Target(Path("/srv"), "phoenix",
                                                                 version))


def keys(text: str, group: str, key: str) -> list[str]:
    return [v for _, g, k, v in entries(text) if g == group and k == key]


def test_replicas_are_instances_of_a_template_unit(make_stack) -> None:
    files, warnings = generated(make_stack)
    assert "rep-api.container" not in files
    template = files["rep-api@.container"]
    assert keys(template, "Container", "ContainerName") == ["rep_api_%i"]
    assert keys(template, "Container", "NetworkAlias") == ["api"]  # shared, as compose
    # one host port, 3 replicas: the edge unit owns it, each instance its loopback port
    assert keys(template, "Container", "PublishPort") == ["127.0.0.1:3000%i:80"]
    assert keys(template, "Install", "WantedBy") == []  # the target starts them
    instances = [f"rep-api@{i}.service" for i in (1, 2, 3)]
    target = files["rep-api.target"]
    assert keys(target, "Unit", "Wants") == instances
    assert keys(target, "Install", "WantedBy") == ["default.target"]
    assert keys(files["rep-web.container"], "Unit", "Requires") == instances
    assert not any("api: ports 8080:80 not published" in w for w in warnings)
    assert "rep-edge.service" in files  # tests/integrations/test_quadlet_edge.py
    # the label's % is escaped for the unit format; only the template's %i is a specifier
    assert "tier=50%%" in keys(template, "Container", "Label")


def test_a_podman_without_templates_gets_one_container_and_a_warning(make_stack) -> None:
    files, warnings = generated(make_stack, "4.9")
    assert "rep-api.container" in files and "rep-api@.container" not in files
    assert any("deploy.replicas 3 is not carried: Quadlet templates need podman 5.0" in w
               for w in warnings)


def test_only_the_instance_specifier_is_allowed_in_a_template() -> None:
    assert "Name=x_%i" in render([("Container", [("Name", "x_%i")])], instance=True)
    with pytest.raises(ConfigurationError):
        render([("Container", [("Name", "x_%n")])], instance=True)
    with pytest.raises(ConfigurationError):
        render([("Container", [("Name", "x_%i")])])


def test_every_key_quadlet_cannot_carry_is_named_with_its_line(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=rep\n",
                       "compose/a.yaml": REPLICAS})
    stack = ComposeManager(root, "t").stack()
    files, warnings = units(stack, "t", Target(Path("/srv"), "phoenix", "5.4"))
    (said,) = [w for w in warnings if w.startswith("api: stop_signal is not carried")]
    line = int(said.rsplit(":", 1)[1].rstrip(")"))
    text = stack.compose_file.read_text().splitlines()[line - 1]
    assert text.strip().startswith("stop_signal:")
    assert not any(w.startswith(("api: labels", "api: deploy", "api: image", "api: ulimits"))
                   for w in warnings)
    # ulimits are carried: Ulimit= (4.7+), else --ulimit
    assert keys(files["rep-api@.container"], "Container", "Ulimit") == [
        "nofile=1024:2048", "nproc=64"]
    older, _ = units(stack, "t", Target(Path("/srv"), "phoenix", "4.5"))
    assert "--ulimit=nofile=1024:2048" in keys(older["rep-api.container"], "Container",
                                              "PodmanArgs")


@pytest.mark.quadlet
def test_quadlet_converts_the_template_and_systemd_verifies_the_target(make_stack) -> None:
    files, _ = generated(make_stack)
    assert check(files, "5.4", commands.run) == []


def test_a_service_behind_the_edge_exports_the_ports_its_user_wrote(make_stack) -> None:
    """The final file gives a start-first service's replicas loopback ports (the edge owns
    the published ones): the export publishes what the user wrote, not those."""
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=rep\n", "compose/a.yaml":
                       "services:\n  api:\n    image: api:1\n    ports: ['8080:80', '53:53/udp']\n"
                       "    deploy: {update_config: {order: start-first}}\n"})
    stack = ComposeManager(root, "t").stack()
    assert stack.services["api"].ports != stack.services["api"].published  # the edge's form
    files, _warnings = units(stack, "t", Target(Path("/srv"), "phoenix", "5.4"))
    assert keys(files["rep-api.container"], "Container", "PublishPort") == ["8080:80",
                                                                            "53:53/udp"]
