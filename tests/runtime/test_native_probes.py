"""Native probes against exec checks, on real podman: for every recognised form, phoenix's
own probe (from the container's network namespace) and ``podman healthcheck run`` agree
on a pass, a failure (HTTP 404, HTTP 500), a timeout and a refused port; ``up`` gates on
them, and ``status`` and the watcher show the health phoenix keeps."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from phoenix_compose.config.probes import recognise
from phoenix_compose.runtime import argv, checks, commands, containers
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.probeserver import ProbeServer
from phoenix_compose.watch.monitor import HealthMonitor

from support.probeimage import ensure_probe_image, skip_or_fail

pytestmark = pytest.mark.podman

URL = "http://{host}:8080/cgi-bin/probe"
FORMS = {
    "wget": ["CMD-SHELL", "wget -q -O- " + URL.format(host="127.0.0.1")],
    "spider": ["CMD-SHELL", "wget --spider -q " + URL.format(host="localhost") + " || exit 1"],
    "wgetcmd": ["CMD", "wget", "-qO-", URL.format(host="127.0.0.1")],
    "curl": ["CMD-SHELL", "curl -fsS " + URL.format(host="127.0.0.1")],
    "curlcmd": ["CMD", "curl", "-f", "-o", "/dev/null", URL.format(host="localhost")],
    # busybox's sh runs its own nc applet (no -z) for a bare ``nc``: the path picks OpenBSD's
    "nc": ["CMD-SHELL", "/usr/local/bin/nc -z 127.0.0.1 8080"],
    "nccmd": ["CMD", "nc", "-z", "localhost", "8080"],
}
# mode of the server -> what an HTTP check and a TCP check must both say
EXPECTED = {"ok": ("pass", "pass"), "404": ("fail", "pass"), "500": ("fail", "pass"),
            "slow": ("timeout", "pass"), "down": ("fail", "fail")}


def outcome(code: int) -> str:
    return "pass" if code == 0 else "timeout" if code == containers.CHECK_TIMED_OUT else "fail"


@pytest.fixture
def probe_image(busybox_image: str) -> str:
    skip_or_fail()
    return ensure_probe_image(busybox_image)


def compose(image: str) -> str:
    services = {name: {"image": image, "stop_grace_period": "1s",
                       "healthcheck": {"test": test, "interval": "1h", "timeout": "10s",
                                       "retries": 1}}
                for name, test in FORMS.items()}
    return json.dumps({"services": services})


def set_mode(container: str, mode: str) -> None:
    line = "killall httpd" if mode == "down" else f"echo {mode} > /tmp/mode"
    commands.run(argv.exec_(container, ["sh", "-c", line]), timeout=30)


def every_way(container: str, form: str, timeout: float,
              server: ProbeServer) -> tuple[str, str, str]:
    """Exec, a native probe by a helper process of its own (``up``, ``health.check``) and
    one served by the watcher's long-lived helper (its child kept for the container)."""
    exec_ = containers.run_check(commands.run, container, timeout)
    native, _ = checks.run_check(commands.run, container, timeout, recognise(FORMS[form]))
    served, _ = checks.run_check(commands.run, container, timeout, recognise(FORMS[form]),
                                 server=server)
    return outcome(exec_.code), outcome(native.code), outcome(served.code)


def test_native_and_exec_agree_on_every_recognised_form(make_stack, podman_project,
                                                        probe_image) -> None:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": compose(probe_image)})
    manager = ComposeManager(root, "t")
    manager.start_services(timeout=120)  # the health gate: native checks, all must pass
    assert {r.service: r.status for r in manager.get_service_status()} == \
        dict.fromkeys(FORMS, "healthy")  # podman's own says starting: we ran no exec check
    names = {f: manager.stack().services[f].container for f in FORMS}
    server = ProbeServer(str(checks.HELPER))
    try:
        with ThreadPoolExecutor(len(FORMS) * 2) as pool:
            for mode, (http, tcp) in EXPECTED.items():
                list(pool.map(set_mode, names.values(), [mode] * len(names)))
                timeout = 2.0 if mode == "slow" else 10.0
                seen = dict(zip(FORMS, pool.map(every_way, names.values(), FORMS,
                                                [timeout] * 7, [server] * 7)))
                wanted = {f: (tcp,) * 3 if f.startswith("nc") else (http,) * 3 for f in FORMS}
                assert seen == wanted, mode
    finally:
        server.close()


def test_a_served_probe_follows_a_restarted_container(make_stack, podman_project,
                                                      probe_image) -> None:
    """The watcher's helper keeps a child in the container's network namespace; after a
    restart (a new process, a new namespace) the old one says stale and a new child
    probes the new namespace."""
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": json.dumps({"services": {"web": {
                           "image": probe_image, "stop_grace_period": "1s",
                           "healthcheck": {"test": FORMS["curl"], "interval": "1h",
                                           "timeout": "5s", "retries": 1}}}})})
    manager = ComposeManager(root, "t")
    manager.start_services(timeout=120)
    web = manager.stack().services["web"].container
    probe = recognise(FORMS["curl"])
    server = ProbeServer(str(checks.HELPER))
    try:
        first, old = checks.run_check(commands.run, web, 5.0, probe, server=server)
        set_mode(web, "down")
        down, _ = checks.run_check(commands.run, web, 5.0, probe, old, server=server)
        commands.run(argv.restart(web, timeout=1), timeout=60)
        stale = server.check(old, probe, 5.0) if old else None
        again, new = checks.run_check(commands.run, web, 5.0, probe, old, server=server)
    finally:
        server.close()
    assert (outcome(first.code), outcome(down.code), outcome(again.code)) == \
        ("pass", "fail", "pass")
    assert stale is not None and stale.code == checks.STALE
    assert new is not None and old is not None and new[0] != old[0] and new[1] == old[1]


def test_the_watcher_and_status_show_the_health_we_keep(make_stack, podman_project,
                                                        probe_image) -> None:
    forms = {"web": FORMS["curl"], "port": FORMS["nc"]}
    services = {name: {"image": probe_image, "stop_grace_period": "1s",
                       "healthcheck": {"test": test, "interval": "1h", "timeout": "5s",
                                       "retries": 2}} for name, test in forms.items()}
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": json.dumps({"services": services})})
    manager = ComposeManager(root, "t")
    manager.start_services(timeout=120)
    web = manager.stack().services["web"].container
    set_mode(web, "500")
    monitor = HealthMonitor(manager.stack(), manager.state, heal=False)
    try:
        first = monitor.observe()
        assert (first["web"].status, first["port"].status) == ("healthy", "healthy")
        second = monitor.observe()  # retries: 2 failures in a row
    finally:
        monitor.pool.shutdown(wait=False)
    assert (second["web"].status, second["port"].status) == ("unhealthy", "healthy")
    assert second["web"].error == "HTTP 500 Internal Server Error"
    assert {r.service: r.status for r in manager.get_service_status()} == \
        {"web": "unhealthy", "port": "healthy"}
    podman_health = containers.inspect(commands.run, [web])[web].health
    assert podman_health == "starting"  # podman's own: what podman ps shows
