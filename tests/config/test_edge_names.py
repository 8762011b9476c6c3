"""The edge's names are checked at validation (issue 26): a service the edge fronts whose
frontend, backend or server name HAProxy's rule (edge/model.py's) refuses is a located
error at the service's key from ``config.validate``, not a failed ``up``."""

from __future__ import annotations

import pytest

from phoenix_compose.config.edgenames import NAME, edge_names
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.edge import model
from phoenix_compose.errors import ConfigurationError

from support.inprocess import inv

LONG = "p" * 56  # + "_web_1": 62 characters, the most the edge takes is 63


def stack(make_stack, project: str, services: str):
    return make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={project}\n",
                       "compose/app.yaml": "services:\n" + services})


def test_the_model_and_validation_share_one_rule() -> None:
    assert model.NAME is NAME


def test_names_of_every_routed_port_and_replica() -> None:
    svc = {"scale": 2, "ports": ["8080:80", "9000:90/udp", "8443:443"]}
    assert edge_names("p", "web", svc) == [
        ("frontend", "in.web.8080"), ("backend", "web.80"), ("frontend", "in.web.8443"),
        ("backend", "web.443"), ("server", "p_web_1"), ("server", "p_web_2")]
    first = {"deploy": {"update_config": {"order": "start-first"}}, "ports": ["8080:80"]}
    assert [n for k, n in edge_names("p", "api", first) if k == "server"] == \
        ["p_api_1", "p_api_2"]  # a roll makes its new replica beside the old one
    assert edge_names("p", "db", {"ports": ["5432:5432"]}) == []  # not behind the edge
    assert edge_names("p", "web", {"scale": 2}) == []  # no port: no edge


def test_a_name_too_long_with_the_project_is_located_at_the_service(make_stack) -> None:
    root = stack(make_stack, LONG + "xx", """\
  web:
    image: i:1
    deploy: {replicas: 2}
    ports: ["8080:80"]
  db:
    image: i:1
    ports: ["5432:5432"]
""")
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "t")
    assert [str(p) for p in info.value.problems] == [
        f"compose/app.yaml:2:3: error: service 'web' is behind the edge, which refuses its "
        f"server name '{LONG}xx_web_1' (and 1 more): {model.NAME_RULE} (hint: shorten the "
        "project or service name (the edge names its servers <project>_<service>_<i>))"]


def test_the_longest_name_the_edge_takes_passes(make_stack) -> None:
    root = stack(make_stack, LONG + "x", """\
  web:
    image: i:1
    deploy: {replicas: 2, update_config: {order: start-first}}
    ports: ["8080:80"]
""")
    assert len(f"{LONG}x_web_4") == 63
    prepare(root, "t")


def test_a_service_name_the_edge_refuses_fails_config_validate(make_stack) -> None:
    root = stack(make_stack, "p", """\
  plain:
    image: i:1
  _web:
    image: i:1
    deploy: {update_config: {order: start-first}}
    ports: ["8080:80"]
""")
    result = inv(root, "config.validate", "--env", "t")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "compose/app.yaml:4:3: error: service '_web' is behind the edge, which refuses its "
        "backend name '_web.80': letters, digits")
    assert "Traceback" not in result.stderr
