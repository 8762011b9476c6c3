"""``pipeline.prepare`` returns the typed Project every step of an action receives (issue
24): its services as typed specs, the env's values, its paths, its flags, its name."""

from __future__ import annotations

from phoenix_compose.config import pipeline
from phoenix_compose.config.project import Project
from phoenix_compose.runtime import stack as runtime_stack

STACK = {"envs/t.env": "COMPOSE_PROJECT_NAME=mine\nCOMPOSE_PROFILES=debug, tools\nTAG=1\n",
         "compose/a.yaml": """
             services:
               db:
                 image: 'd:${TAG}'
                 restart: always
                 healthcheck: {test: ['CMD', 'true'], interval: 2s}
               web: {image: 'w:1', depends_on: [db], profiles: [debug]}
             volumes: {data: {}}
             """}


def test_prepare_returns_the_typed_project(make_stack) -> None:
    root = make_stack(STACK)
    project = pipeline.prepare(root, "t")
    assert isinstance(project, Project) and not project.cached
    assert (project.name, project.env, project.production) == ("mine", "t", False)
    assert project.root == root and project.state_dir == root / ".phoenix" / "t"
    assert project.compose_file == root / ".phoenix" / "t" / "compose.yaml"
    assert project.variables["TAG"] == "1" and project.profiles == ("debug", "tools")
    db, web = project.services["db"], project.services["web"]
    assert (db.container, db.image, db.restart, db.health_test) == (
        "mine_db_1", "d:1", "always", ["CMD", "true"])
    assert db.health is not None and db.health.interval == 2.0
    assert (web.restart, web.health_test, web.profiles) == ("", None, ("debug",))
    assert set(project.model) >= {"name", "volumes", "services"}
    assert project.model["services"]["db"]["image"] == "d:1"


def test_a_cached_prepare_gives_the_same_project(make_stack) -> None:
    root = make_stack(STACK)
    first = pipeline.prepare(root, "t")
    again = pipeline.prepare(root, "t")
    assert again.cached and not first.cached
    assert (again.compose_file, again.name, again.production, again.warnings) == (
        first.compose_file, first.name, first.production, first.warnings)
    assert again.stack == first.stack  # typed specs compare by value
    assert again.stack is not first.stack  # and were read from the file again


def test_runtime_stack_re_exports_the_typed_services() -> None:
    """Code (and branches) that import them from runtime.stack keep working."""
    from phoenix_compose.config import services

    assert runtime_stack.ServiceSpec is services.ServiceSpec
    assert runtime_stack.Stack is services.Stack and runtime_stack.load_stack is \
        services.load_stack
