"""The checks of ``inv deploy.quadlet``, by the real consumers: every key against the
targeted podman's key list (:mod:`.quadletkeys`), the conversion by a real ``quadlet
-dryrun`` (podman >= 5), and ``systemd-analyze verify`` of the services it generates and
of the hand-written watcher unit.  systemd-analyze exits 0 on bad values, so its stderr is
what is read.  Problems are ``FILE:LINE:COL: error: ...`` lines, on the unit we wrote."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from phoenix_compose.integrations.kubecheck import read_generated
from phoenix_compose.integrations.quadletkeys import entries
from phoenix_compose.integrations.quadletkeys import problems as key_problems
from phoenix_compose.runtime import argv_deploy, containers, quadletfetch

_SPLIT = re.compile(r"^---(.+?)---\n", re.M)
_CONVERT = re.compile(r'converting "([^"]+)": (.*)$')
_KEY = re.compile(r"key '(\w+)'")
_VERIFY = re.compile(r"^(?:(/\S+?):(\d+): |([\w@.-]+\.service): )?(.*)$")
SOURCE = re.compile(r"^SourcePath=.*/([^/\s]+)$", re.M)


SYSTEMD = (".service", ".target")  # plain systemd units in the folder, not Quadlet's
DATA = (".cfg",)  # files a unit reads (the edge's haproxy.cfg): neither Quadlet's nor units


def quadlet_binary() -> str | None:
    """The podman >= 5 quadlet to convert with (:func:`.quadletfetch.find`)."""
    return quadletfetch.find()


def no_quadlet() -> str:
    return (f"no quadlet binary to check the units with: `phoenix doctor --fix` fetches "
            f"Debian trixie's into {quadletfetch.cached()} (or set "
            "PHOENIX_QUADLET=/path/to/quadlet; `phoenix ci --skip quadlet` leaves it out)")


def skipped(convert: bool) -> list[str]:
    """What a check without a quadlet binary leaves out, said as a warning."""
    return [] if convert else [f"skipped quadlet -dryrun and systemd-analyze verify: "
                               f"{no_quadlet()}"]


def check(units: Mapping[str, str], version: str, run: containers.Runner,
          convert: bool = True) -> list[str]:
    """Every problem of ``units`` (file name -> text); empty when they are good.  Without
    ``convert``, only the key check (no quadlet -dryrun, no systemd-analyze verify)."""
    found = key_problems(units, version)
    if found or not convert:
        return found  # quadlet would refuse the same keys: say it once, precisely
    binary = quadlet_binary()
    if binary is None:
        return [f"error: {no_quadlet()}"]
    services, found = dryrun(units, binary, run)
    services.update({name: text for name, text in units.items()
                     if name.endswith(SYSTEMD)})
    return found + verify(services, units, run)


def read_units(folder: Path) -> dict[str, str]:
    return read_generated(folder, sorted(p for p in folder.iterdir()
                                         if p.is_file() or p.is_symlink()))


def check_folder(folder: Path, units: Mapping[str, str], version: str,
                 run: containers.Runner, rerun: str, convert: bool = True) -> list[str]:
    """The units written in ``folder`` (committed, or hand-edited) checked, problems
    located in it, and compared with the ``units`` that would be written now (``rerun``:
    the command that writes them again)."""
    written = read_units(folder)
    found = [line if line.startswith(("error", "systemd-analyze")) else f"{folder / line}"
             for line in check(written, version, run, convert)]
    if found == [] and written != dict(units):
        found.append(f"{folder}: error: stale: run `{rerun}` again")
    return found


def dryrun(units: Mapping[str, str], binary: str,
           run: containers.Runner) -> tuple[dict[str, str], list[str]]:
    with tempfile.TemporaryDirectory(prefix="phoenix-quadlet-") as folder:
        for name, text in units.items():
            if not name.endswith(SYSTEMD + DATA):
                (Path(folder) / name).write_text(text, encoding="utf-8")
        result = run(argv_deploy.quadlet_dryrun(binary), env={"QUADLET_UNIT_DIRS": folder},
                     ok_codes=(0, 1), timeout=60)
    parts = _SPLIT.split(result.stdout)
    services = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    found = []
    for line in result.stderr.splitlines():
        match = _CONVERT.search(line)
        if match:
            file, message = match.groups()
            found.append(f"{file}:{_line_of(units.get(file, ''), message)}:1: error: "
                         f"quadlet: {message.split(' in /')[0]}")
    for name in units:
        if not name.endswith(SYSTEMD + DATA) and _service_name(name) not in services and \
                not any(f.startswith(f"{name}:") for f in found):
            found.append(f"{name}:1:1: error: quadlet made no service of it")
    return services, found


def _service_name(unit: str) -> str:
    stem, _, kind = unit.rpartition(".")
    return f"{stem}.service" if kind == "container" else f"{stem}-{kind}.service"


def _line_of(text: str, message: str) -> int:
    key = _KEY.search(message)
    if key:
        for line, _group, name, _value in entries(text):
            if name == key.group(1):
                return line
    return 1


def _origin_line(generated: str, number: int, ours: str) -> int:
    """The line of ``ours`` that made line ``number`` of the generated service (same key
    and value), else 1."""
    lines = generated.splitlines()
    if not 0 < number <= len(lines) or "=" not in lines[number - 1]:
        return 1
    key, _, value = lines[number - 1].partition("=")
    return next((line for line, _group, name, text in entries(ours)
                 if name == key.strip() and text == value.strip()), 1)


def verify(services: Mapping[str, str], units: Mapping[str, str],
           run: containers.Runner) -> list[str]:
    """``systemd-analyze verify`` of every service; its complaints on the unit we wrote
    (the generated service's ``SourcePath``), with its own line in the generated text."""
    with tempfile.TemporaryDirectory(prefix="phoenix-units-") as folder:
        paths = []
        for name, text in services.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
            paths.append(str(Path(folder) / name))
        result = run(argv_deploy.systemd_verify(*paths), ok_codes=range(256), timeout=120)
    found = []
    for line in result.stderr.splitlines():
        if not line.strip():
            continue
        path, number, unit, message = _VERIFY.match(line).groups()  # type: ignore[union-attr]
        service = Path(path).name if path else re.sub(r"@[^.]*\.service$", "@.service",
                                                      unit or "")
        source = SOURCE.search(services.get(service, ""))
        origin = source.group(1) if source and source.group(1) in units else service
        at = _origin_line(services.get(service, ""), int(number or 0), units.get(origin, ""))
        found.append(f"{origin or 'systemd-analyze'}:{at}:1: error: systemd-analyze: "
                     f"{message}")
    return found
