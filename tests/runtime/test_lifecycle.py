"""The stack lifecycle against real podman, with tiny busybox images built by the tests."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime
from pathlib import Path

import pytest

from phoenix_compose.errors import ComposeRuntimeError, PhoenixError, StartupError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.locks import LockedError, env_lock
from phoenix_compose.statedir import StateDir

from support import free_port

pytestmark = pytest.mark.podman

SLEEPER = '["sh", "-c", "echo booting; sleep %s; touch /tmp/ready; exec sleep 1000"]'
READY_CHECK = '{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 30s, retries: 3}'


def stack(make_stack, project: str, services: str, env: str = "t", extra: str = "") -> Path:
    return make_stack({
        f"envs/{env}.env": f"COMPOSE_PROJECT_NAME={project}\n{extra}",
        "compose/app.yaml": services,
    })


def manager(root: Path, env: str = "t", **kwargs) -> tuple[ComposeManager, list]:
    events: list[tuple[str, str, str]] = []
    return ComposeManager(root, env, report=lambda *e: events.append(e), **kwargs), events


def inspect(name: str) -> dict:
    return json.loads(commands.run(argv.inspect(name)).stdout)[0]


def when(text: str) -> datetime:
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).replace(microsecond=int(frac[:6].ljust(6, "0")))


def test_a_dependent_starts_only_after_its_dependency_passes_a_check(
        make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          db:
            image: {busybox_image}
            command: {SLEEPER % 2}
            healthcheck: {READY_CHECK}
          app:
            image: {busybox_image}
            command: ["sleep", "1000"]
            depends_on: {{db: {{condition: service_healthy}}}}
        """)
    m, events = manager(root)
    done = {p.spec.name: p for p in m.start_services(timeout=60)}
    assert done["db"].state == "healthy" and done["app"].state == "running"
    assert 1.5 < done["db"].seconds_to_ready < 10
    db, app = inspect(f"{podman_project}_db_1"), inspect(f"{podman_project}_app_1")
    first_pass = min(when(e["End"]) for e in db["State"]["Health"]["Log"]
                     if e["ExitCode"] == 0)
    assert when(app["State"]["StartedAt"]) >= first_pass
    assert [e[:2] for e in events] == [("db", "starting"), ("db", "healthy"),
                                       ("app", "running")]


def test_service_completed_successfully_waits_for_exit_0(
        make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          migrate:
            image: {busybox_image}
            command: ["sh", "-c", "sleep 1; echo migrated"]
          app:
            image: {busybox_image}
            command: ["sleep", "1000"]
            depends_on: {{migrate: {{condition: service_completed_successfully}}}}
        """)
    m, _ = manager(root)
    done = {p.spec.name: p for p in m.start_services(timeout=60)}
    assert done["migrate"].state == "completed"
    migrate, app = inspect(f"{podman_project}_migrate_1"), inspect(f"{podman_project}_app_1")
    assert migrate["State"]["ExitCode"] == 0
    assert when(app["State"]["StartedAt"]) >= when(migrate["State"]["FinishedAt"])


def test_a_failed_one_shot_dependency_stops_the_start(make_stack, podman_project,
                                                      busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          migrate:
            image: {busybox_image}
            command: ["sh", "-c", "echo schema broken; exit 3"]
          app:
            image: {busybox_image}
            command: ["sleep", "1000"]
            depends_on: {{migrate: {{condition: service_completed_successfully}}}}
        """)
    m, _ = manager(root)
    with pytest.raises(StartupError) as info:
        m.start_services(timeout=60)
    message = str(info.value)
    assert "service 'migrate' failed: its container exited with code 3" in message
    assert "schema broken" in message
    states = json.loads(commands.run(argv.inspect(f"{podman_project}_app_1"),
                                     ok_codes=(0, 125)).stdout or "[]")
    assert [s["State"]["Status"] for s in states] in ([], ["created"])  # never started


def test_a_service_that_never_gets_healthy_times_out_naming_it(
        make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          stuck:
            image: {busybox_image}
            command: ["sh", "-c", "echo waiting for godot; exec sleep 1000"]
            healthcheck:
              test: ["CMD-SHELL", "echo not ready yet; exit 1"]
              interval: 30s
          after:
            image: {busybox_image}
            command: ["sleep", "1000"]
            depends_on: {{stuck: {{condition: service_healthy}}}}
        """)
    m, _ = manager(root)
    with pytest.raises(StartupError) as info:
        m.start_services(timeout=3)
    message = str(info.value)
    assert "service 'stuck' failed: not ready after 3 s; still waiting for: stuck (started), " \
           "after (pending)" in message
    assert "not ready yet" in message  # the last health check output
    assert "waiting for godot" in message  # the tail of its logs
    assert "left running: stuck" in message


def test_an_unhealthy_dependency_fails_after_its_grace(make_stack, podman_project,
                                                       busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          sick:
            image: {busybox_image}
            command: ["sleep", "1000"]
            healthcheck: {{test: ["CMD", "false"], interval: 1s, retries: 2, start_period: 1s}}
        """)
    m, _ = manager(root)
    with pytest.raises(StartupError, match="unhealthy: its health check kept failing for 3 s"):
        m.start_services(timeout=60)


def test_named_volumes_survive_down_unless_volumes_is_given(
        make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          store:
            image: {busybox_image}
            command: ["sh", "-c", "test -f /data/first || date > /data/first; exec sleep 1000"]
            volumes: [data:/data]
        volumes:
          data: {{}}
        """)
    m, _ = manager(root)
    container = f"{podman_project}_store_1"

    def first_boot() -> str:
        m.start_services(timeout=60)
        return commands.run(("podman", "exec", container, "cat", "/data/first")).stdout

    written = first_boot()
    m.stop_services()
    assert commands.run(("podman", "container", "exists", container), ok_codes=(0, 1)).code == 1
    assert first_boot() == written  # the data survived down/up
    m.stop_services(volumes=True)
    volumes = commands.run(argv.volume_ls(podman_project)).stdout
    assert json.loads(volumes) == []


def test_production_volumes_need_confirmation(make_stack, podman_project,
                                              busybox_image) -> None:
    root = stack(make_stack, podman_project, f"services: {{a: {{image: '{busybox_image}'}}}}\n",
                 env="prod")
    m, _ = manager(root, "prod")
    with pytest.raises(PhoenixError, match="refusing to delete the volumes of production"):
        m.stop_services(volumes=True)
    m.stop_services(volumes=True, confirmed=True)


def test_a_second_up_on_the_same_env_fails_clearly(make_stack, podman_project,
                                                   busybox_image) -> None:
    root = stack(make_stack, podman_project, f"services: {{a: {{image: '{busybox_image}'}}}}\n")
    m, _ = manager(root, lock_wait=0.3)
    with env_lock(StateDir(root, "t").lock_file, "up"):
        with pytest.raises(LockedError, match="environment 't' is busy: `inv up`"):
            m.start_services()
        assert commands.run(argv.ps(podman_project)).stdout.strip() in ("", "[]")


def test_the_lock_serialises_instead_of_interleaving(make_stack, podman_project,
                                                     busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          a: {{image: '{busybox_image}', command: ["sleep", "1000"]}}
        """)
    m, _ = manager(root, lock_wait=60)
    order: list[str] = []
    holder = threading.Event()

    def hold() -> None:
        with env_lock(StateDir(root, "t").lock_file, "down"):
            holder.set()
            order.append("other-start")
            threading.Event().wait(1.0)
            order.append("other-end")

    thread = threading.Thread(target=hold)
    thread.start()
    holder.wait(5)
    m.start_services(timeout=60)
    order.append("up-done")
    thread.join()
    assert order == ["other-start", "other-end", "up-done"]


def test_status_reports_each_service(make_stack, podman_project, busybox_image) -> None:
    port = free_port()
    root = stack(make_stack, podman_project, f"""
        services:
          web:
            image: {busybox_image}
            command: ["sh", "-c", "touch /tmp/ready; exec httpd -f -p 8000 -h /www"]
            healthcheck: {READY_CHECK}
            ports: ["127.0.0.1:{port}:8000"]
          job:
            image: {busybox_image}
            command: ["true"]
          later:
            image: {busybox_image}
            profiles: [extra]
        """)
    m, _ = manager(root)
    m.start_services(["web", "job"], timeout=60)
    rows = {r.service: r for r in m.get_service_status()}
    assert set(rows) == {"web", "job"}
    assert rows["web"].status == "healthy" and rows["web"].restarts == 0
    assert rows["web"].ports == (f"127.0.0.1:{port}->8000/tcp",)
    assert rows["web"].uptime_s is not None and rows["web"].uptime_s >= 0
    assert rows["job"].status in ("exited", "running")


def test_every_administrative_action_is_audited(make_stack, podman_project,
                                                busybox_image) -> None:
    root = stack(make_stack, podman_project,
                 f"services: {{a: {{image: '{busybox_image}', command: [sleep, '1000']}}}}\n")
    m, _ = manager(root)
    m.start_services(timeout=60)
    m.restart_services(["a"], timeout=60)
    m.stop_services()
    lines = [json.loads(line) for line in
             (root / ".phoenix/t/audit.jsonl").read_text().splitlines()]
    assert [(r["action"], r["result"]) for r in lines] == [("up", "ok"), ("restart", "ok"),
                                                           ("down", "ok")]
    for record in lines:
        assert {"time", "user", "host", "action", "args", "result", "duration_s"} <= set(record)
    assert lines[1]["args"]["services"] == ["a"]


def test_a_missing_image_creates_nothing(make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          ok: {{image: '{busybox_image}'}}
          ghost: {{image: 'localhost/phoenix-test/not-built:1'}}
        """)
    m, _ = manager(root)
    with pytest.raises(ComposeRuntimeError) as info:
        m.start_services(timeout=30)
    assert "image not present locally: localhost/phoenix-test/not-built:1 (service ghost)" \
        in str(info.value)
    assert "no container was created" in info.value.hint
    assert json.loads(commands.run(argv.ps(podman_project)).stdout or "[]") == []
    audit = (root / ".phoenix/t/audit.jsonl").read_text()
    assert '"result": "error"' in audit


def test_a_host_port_in_use_starts_nothing(make_stack, podman_project, busybox_image) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        root = stack(make_stack, podman_project, f"""
            services:
              web:
                image: {busybox_image}
                ports: ["127.0.0.1:{port}:80"]
            """)
        m, _ = manager(root)
        with pytest.raises(ComposeRuntimeError,
                           match=rf"host port already in use: 127.0.0.1:{port} \(service web\)"):
            m.start_services(timeout=30)
    assert json.loads(commands.run(argv.ps(podman_project)).stdout or "[]") == []


def test_an_invalid_config_never_starts_a_container(make_stack, podman_project,
                                                    busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          web: {{image: '{busybox_image}', depends_on: [nope]}}
        """)
    m, _ = manager(root)
    with pytest.raises(PhoenixError, match="depends on undefined service 'nope'"):
        m.start_services(timeout=30)
    assert json.loads(commands.run(argv.ps(podman_project)).stdout or "[]") == []


def test_podman_missing_is_a_clear_error(make_stack, podman_project, busybox_image,
                                         monkeypatch) -> None:
    root = stack(make_stack, podman_project, f"services: {{a: {{image: '{busybox_image}'}}}}\n")
    m, _ = manager(root)
    with monkeypatch.context() as patch:  # undone before the project's cleanup runs
        patch.setenv("PATH", "/nonexistent")
        patch.setattr(commands, "executable", lambda name: name)
        with pytest.raises(commands.CommandError, match="podman is not installed or not on PATH"):
            m.start_services(timeout=30)


def test_restart_brings_services_back_healthy(make_stack, podman_project,
                                              busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          db:
            image: {busybox_image}
            command: {SLEEPER % 1}
            healthcheck: {READY_CHECK}
        """)
    m, _ = manager(root)
    m.start_services(timeout=60)
    before = inspect(f"{podman_project}_db_1")["State"]["StartedAt"]
    (done,) = m.restart_services(["db"], timeout=60)
    assert done.state == "healthy"
    assert inspect(f"{podman_project}_db_1")["State"]["StartedAt"] != before


def test_logs_of_a_service(make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          talk:
            image: {busybox_image}
            command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line$$i; done; sleep 1000"]
        """)
    m, _ = manager(root)
    m.start_services(timeout=60)
    from phoenix_compose.runtime import operations

    assert operations.logs(m, ["talk"], tail=2) == ["talk | line4", "talk | line5"]


def test_changing_a_dependency_keeps_its_running_dependents_running(
        make_stack, podman_project, busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          db:
            image: {busybox_image}
            command: {SLEEPER % 0}
            environment: {{VERSION: "1"}}
            healthcheck: {READY_CHECK}
          app:
            image: {busybox_image}
            command: ["sleep", "1000"]
            depends_on: {{db: {{condition: service_healthy}}}}
        """)
    m, _ = manager(root)
    m.start_services(timeout=60)
    compose = root / "compose/app.yaml"
    compose.write_text(compose.read_text().replace('VERSION: "1"', 'VERSION: "2"'))
    m.forget()  # a manager holds the project it prepared: the config changed under it
    m.start_services(["db"], timeout=60)
    db, app = inspect(f"{podman_project}_db_1"), inspect(f"{podman_project}_app_1")
    assert "VERSION=2" in db["Config"]["Env"]
    assert app["State"]["Status"] == "running"


def test_down_works_even_when_the_config_is_broken(make_stack, podman_project,
                                                   busybox_image) -> None:
    root = stack(make_stack, podman_project, f"""
        services:
          store:
            image: {busybox_image}
            command: ["sleep", "1000"]
            volumes: [data:/data]
        volumes:
          data: {{}}
        """)
    m, events = manager(root)
    m.start_services(timeout=60)
    (root / "compose/app.yaml").write_text("services: [broken\n")
    (root / ".phoenix/t/compose.yaml").unlink()
    m.forget()  # the config changed under the manager
    m.stop_services()
    assert json.loads(commands.run(argv.ps(podman_project)).stdout or "[]") == []
    assert ("*", "config invalid") in [e[:2] for e in events]
    assert json.loads(commands.run(argv.volume_ls(podman_project)).stdout) != []  # kept
    m.stop_services(volumes=True)
    assert json.loads(commands.run(argv.volume_ls(podman_project)).stdout) == []


def test_volumes_from_and_network_mode_service_start_their_service_first(
        make_stack, podman_project, busybox_image) -> None:
    """Implicit dependencies, as docker compose has them: by name, ``app`` would start
    before ``zfiles``, whose container its volumes and network come from."""
    root = stack(make_stack, podman_project, f"""
        services:
          zfiles:
            image: {busybox_image}
            command: ["sh", "-c", "echo shared > /data/note; exec sleep 1000"]
            volumes: [/data]
          app:
            image: {busybox_image}
            command: ["sh", "-c", "cat /data/note; exec sleep 1000"]
            volumes_from: [zfiles]
            network_mode: "service:zfiles"
            env_file: [{{path: ../optional.env, required: false}}]
        """)
    m, events = manager(root)
    done = {p.spec.name: p for p in m.start_services(timeout=60)}
    assert done["zfiles"].state == "running" and done["app"].state == "running"
    assert [e[:2] for e in events] == [("zfiles", "running"), ("app", "running")]
    app = inspect(f"{podman_project}_app_1")
    assert app["HostConfig"]["NetworkMode"].startswith("container:")
