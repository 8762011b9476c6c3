"""Native probes of a rootless container: the helper, run as the user that runs podman,
enters the container's user namespace, then its network namespace; it agrees with
``podman healthcheck run`` (as that user) on a pass, HTTP 404 and 500, a timeout and a
refused port, both as a process of its own and served (the watcher's helper, whose child
kept for the container enters once and answers twice)."""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
import sysconfig
import uuid
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands

from support import REPO, inv
from support.probeimage import ensure_probe_image, skip_or_fail

pytestmark = [pytest.mark.podman, pytest.mark.root]  # root makes the user

URL = "http://127.0.0.1:8080/cgi-bin/probe"
FORMS = {"wget": f"wget -q -O- {URL}", "curl": f"curl -fsS {URL}",
         "nc": "/usr/local/bin/nc -z 127.0.0.1 8080"}
EXPECTED = {"ok": ("pass", "pass"), "404": ("fail", "pass"), "500": ("fail", "pass"),
            "slow": ("timeout", "pass"), "down": ("fail", "fail")}
SCRIPT = """
import json, sys
from phoenix_compose.config.probes import recognise
from phoenix_compose.runtime import checks, containers, commands
from phoenix_compose.runtime.probeserver import ProbeServer
container, test, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
probe = recognise(["CMD-SHELL", test])
exec_ = containers.run_check(commands.run, container, timeout).code
native, probed = checks.run_check(commands.run, container, timeout, probe)
server = ProbeServer(str(checks.HELPER))  # the watcher's: a child kept in the namespaces
served = [checks.run_check(commands.run, container, timeout, probe, probed, server)[0].code
          for _ in range(2)]
server.close()
print(json.dumps([exec_, native.code, probed is not None, served]))
"""


@pytest.fixture
def user(phoenix_stack: Path):
    """A throwaway user whose blockers (``/dev/net/tun``, its runtime folder, storage) are
    fixed as an operator would: ``inv doctor --fix --user``."""
    name = f"phx{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "-m", "--", name], check=True)
    entry = pwd.getpwnam(name)
    fixed = inv(phoenix_stack, "doctor", "--fix", "--user", name, timeout=300)
    assert f"nothing blocks rootless podman for {name}" in fixed.stdout, \
        fixed.stdout + fixed.stderr
    run_dir = Path(f"/run/user/{entry.pw_uid}")
    yield entry
    as_user(entry, ("podman", "rm", "-f", "-a", "-t", "0"), check=False)
    subprocess.run(["pkill", "-u", name], check=False)
    subprocess.run(["userdel", "-r", "--", name], check=False, capture_output=True)
    shutil.rmtree(run_dir, ignore_errors=True)


def as_user(entry: pwd.struct_passwd, command, check: bool = True, cwd: str | None = None):
    env = {"HOME": entry.pw_dir, "USER": entry.pw_name, "PATH": "/usr/bin:/bin",
           "XDG_RUNTIME_DIR": f"/run/user/{entry.pw_uid}",
           "PYTHONPATH": f"{REPO}:{sysconfig.get_paths()['purelib']}"}
    return subprocess.run(["runuser", "-u", entry.pw_name, "--", "env", "-i",
                           *[f"{k}={v}" for k, v in env.items()], *command],
                          capture_output=True, text=True, check=check, timeout=300,
                          cwd=cwd or entry.pw_dir)


def outcome(code: int) -> str:
    return "pass" if code == 0 else "timeout" if code == 124 else "fail"


def test_native_and_exec_agree_in_a_rootless_container(user, busybox_image) -> None:
    skip_or_fail()
    image = ensure_probe_image(busybox_image)
    tarball, script = Path(user.pw_dir) / "probes.tar", Path(user.pw_dir) / "check.py"
    commands.run(argv.save(image, str(tarball)), timeout=300)
    script.write_text(SCRIPT)
    for path in (tarball, script):
        shutil.chown(path, user.pw_uid, user.pw_gid)
    as_user(user, ("podman", "load", "-i", str(tarball)))
    for form, test in FORMS.items():
        as_user(user, ("podman", "run", "-d", "--name", form, "--health-cmd", test,
                       "--health-interval", "disable", "--", image))
    for mode, (http, tcp) in EXPECTED.items():
        line = "killall httpd" if mode == "down" else f"echo {mode} > /tmp/mode"
        for form in FORMS:
            as_user(user, ("podman", "exec", "--", form, "sh", "-c", line))
        timeout = "2" if mode == "slow" else "10"
        for form, test in FORMS.items():
            out = as_user(user, ("python3", str(script), form, test, timeout)).stdout
            exec_, native, probed, served = json.loads(out)
            want = tcp if form == "nc" else http
            assert (outcome(exec_), outcome(native), probed, [outcome(c) for c in served]) \
                == (want, want, True, [want, want]), (mode, form)
