"""docker compose as the oracle on real compose files: for every project of the corpus
(``resources/corpus/MANIFEST.json``: public repositories, each file with its origin, commit
and licence; ``tools/corpus.py`` rebuilds it), our verdict (``api.load_project`` with
``validate=True``) must be docker compose's (``docker-compose config --format json``), and
where both accept, the services must be equal as compared below.  A project may differ
only as ``DIFFERENCES`` says, and each difference listed there must still be there: a new
disagreement, or one that went away, fails.  ``DELIBERATE`` lists the rules where we
depart from docker compose on purpose, each with a small file that shows it (and fails
when it no longer does).

Both tools get the same variables: the project folder's ``.env`` (docker compose reads it
itself), the project's variables file of the manifest (an ``env.example``), ``PWD`` set to
the project folder, ``HOME`` (where ``~`` leads), and nothing else from the host.

What is compared, per service, after normalising both sides (what docker compose writes in
long forms, we may keep in the short forms podman-compose reads):
- the set of services, and each one's ``image``;
- ``environment``, with the service's ``env_file`` entries read into it as docker compose
  does (a file's values first, ``environment`` over them; ours keeps ``env_file`` for
  podman-compose to read at ``up``, so that no value of those files lands in the final
  file);
- ``ports`` as (host ip, container port, published port, protocol), ranges expanded into
  single ports as docker compose expands them, in any order;
- ``volumes`` as (type, source, target, read-only), targets cleaned as paths;
- ``depends_on`` as {service: (condition, required, restart)};
- the names of its networks (``default`` when it names none and has no ``network_mode``),
  the sources of its secrets and configs; ``devices`` as (host path, container path,
  permissions);
- ``command`` and ``entrypoint``, a string split into shell words as docker compose does;
- as written: ``labels``, ``restart``, ``container_name``, ``user``, ``working_dir``,
  ``cap_add``/``cap_drop``, ``profiles``, ``network_mode``, ``hostname``, ``tmpfs``,
  ``logging``, ``ulimits``, ``expose``, ``init``, ``privileged``, ``sysctls``,
  ``dns``, ``read_only``, ``stdin_open``, ``tty``, ``pid``, ``ipc``, ``security_opt``,
  ``platform`` (an empty or false value counts as absent: docker compose leaves it out).
Not compared: spellings that are ours by design (podman-compose reads the short forms):
long-form ``secrets``/``configs`` targets and modes, ``healthcheck.test`` as a string,
``deploy`` and ``shm_size`` as docker compose's byte counts, durations as Go writes them
(``1m0s``), ``extra_hosts`` as ``host:ip``, and the ``build`` defaults it fills in.
docker compose's ``$$`` (how it writes a ``$``) is read back as ``$``.
"""

from __future__ import annotations

import json
import os
import posixpath
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from compose_oracle import compose_config, needs_oracle

from phoenix_compose import api
from phoenix_compose.config.environment import Var, parse_env_file
from phoenix_compose.config.merge import port_key
from phoenix_compose.errors import ConfigurationError

pytestmark = needs_oracle

CORPUS = Path(__file__).parent / "resources" / "corpus"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))

# Each deliberate difference: project -> (what differs, why).  "verdict": we reject what
# docker compose accepts (or the reverse); "model": both accept, the services differ.
DIFFERENCES: dict[str, tuple[str, str]] = {
    "appwrite/appwrite:tests/resources/docker/docker-compose.yml": (
        "verdict", "stricter: a build context must hold its Dockerfile (or the named one) at "
                   "validate time; docker compose finds out when it builds, and this "
                   "repository has none there"),
    "compose-spec/compose-go:loader/testdata/include/compose.yaml": (
        "verdict", "stricter: the included file's build context holds no Dockerfile "
                   "(a loader test fixture; docker compose finds out when it builds)"),
    "docker/compose:pkg/e2e/fixtures/build-test/ssh/compose.yaml": (
        "verdict", "compose-go: `config --format json` fails on a build.ssh key given as "
                   "id=path (types.SSHKey cannot be written as JSON); the file is valid and "
                   "the YAML output prints it"),
}


# The deliberate differences as rules, each a small file both tools read here: (name,
# files, who accepts: "ours" or "theirs" or "both" when the models differ, why).
DELIBERATE: list[tuple[str, dict[str, str], str, str]] = [
    ("uppercase-image", {"compose.yaml": "services: {a: {image: MyApp}}\n"}, "theirs",
     "stricter: podman (and docker pull) refuse an uppercase repository; we say so at "
     "validate time"),
    ("host-port-twice", {"compose.yaml": "services: {a: {image: x, ports: ['80:80']}, "
                                         "b: {image: x, ports: ['80:80']}}\n"}, "theirs",
     "stricter: the second container could never start; we name both places"),
    ("no-dockerfile", {"compose.yaml": "services: {a: {build: .}}\n"}, "theirs",
     "stricter: the build context must hold its Dockerfile when we validate; docker compose "
     "finds out when it builds"),
    ("trailing-backslash", {"compose.yaml": "services: {a: {image: x, tmpfs: ['/t\\\\']}}\n"},
     "theirs", "stricter: a value that ends in a backslash would join the next line of a "
               "Quadlet unit; control characters outside free text likewise"),
    ("include-two-spellings", {
        "a.yaml": "services: {db: {image: pg, environment: [A=1]}}\n",
        "b.yaml": "services: {db: {image: pg, environment: {A: 1}}}\n",
        "compose.yaml": "include: [a.yaml, b.yaml]\nservices: {}\n"}, "ours",
     "compose-go compares included resources as written; we compare what they mean, so "
     "the same service spelt two ways is one service"),
    ("one-letter-volume", {"compose.yaml": "services: {a: {image: x, volumes: ['v:/data']}}\n"
                                           "volumes: {v: {}}\n"}, "both",
     "compose-go reads `v:/data` as a Windows drive path (an anonymous volume at `v:/data`); "
     "we read the named volume `v` the spec describes"),
    ("env-file-raw", {"compose.yaml": "services: {a: {image: x, env_file: [{path: e.env, "
                                      "format: raw}]}}\n", "e.env": "A='1'\n"}, "theirs",
     "stricter: podman-compose reads every env file as a dotenv file, so `format: raw` "
     "would give the container other values than docker compose does; we say so at its line"),
]


def ident(entry: dict[str, Any]) -> str:
    return f"{entry['repo']}:{'+'.join(entry['files'])}"


@dataclass(frozen=True)
class Outcome:
    ours: bool
    theirs: bool
    equal: bool | None  # None: not both accepted
    detail: str


def _variables(entry: dict[str, Any], folder: Path) -> dict[str, str]:
    """The variables both tools get (docker compose reads the folder's .env itself)."""
    found: dict[str, str] = {"HOME": os.path.expanduser("~"), "PWD": str(folder)}
    if entry["variables"]:
        found.update(_env_file(CORPUS / _slug(entry) / entry["variables"], found))
    return found


def _env_file(path: Path, process: dict[str, str]) -> dict[str, str]:
    defined: dict[str, Var] = {}
    parse_env_file(path.read_text(encoding="utf-8"), str(path), defined, process)
    return {k: v.value for k, v in defined.items()}


def _slug(entry: dict[str, Any]) -> str:
    return entry["repo"].replace("/", "__")


def run(entry: dict[str, Any]) -> Outcome:
    files = [CORPUS / _slug(entry) / f for f in entry["files"]]
    folder = files[0].parent
    variables = _variables(entry, folder)
    verdict = compose_config(files, folder, variables)
    dotenv = folder / ".env"
    ours_vars = {**(_env_file(dotenv, variables) if dotenv.is_file() else {}), **variables}
    try:
        model = api.load_project(files, ours_vars, project_dir=folder, validate=True)
    except ConfigurationError as exc:
        return Outcome(False, verdict.ok, None, f"ours: {exc.problems[0]}; theirs: "
                                                f"{verdict.error[:300]}")
    if not verdict.ok:
        return Outcome(True, False, None, f"theirs: {verdict.error[:300]}")
    mine = view(model, ours_vars, ours=True)
    want = view(_unescaped(verdict.model), ours_vars, ours=False)
    return Outcome(True, True, mine == want, _diff(mine, want))


def _unescaped(value: Any) -> Any:
    """docker compose writes every ``$`` of its model as ``$$``, so that its output reads
    back the same; the model itself holds ``$``."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {_unescaped(k): _unescaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    return value


def _diff(mine: dict[str, Any], want: dict[str, Any]) -> str:
    if set(mine) != set(want):
        return f"services: ours {sorted(mine)}, theirs {sorted(want)}"
    for name in mine:
        for key in mine[name]:
            if mine[name][key] != want[name][key]:
                return f"{name}.{key}: ours {mine[name][key]!r}, theirs {want[name][key]!r}"
    return ""


def view(model: dict[str, Any], variables: dict[str, str], *, ours: bool) -> dict[str, Any]:
    """The compared part of each service (see the module docstring)."""
    out = {}
    for name, svc in (model.get("services") or {}).items():
        env = dict(svc.get("environment") or {})
        if ours:
            env = {**_env_files(svc.get("env_file"), variables), **env}
        out[name] = {
            "image": svc.get("image"),
            "environment": env,
            "ports": sorted(p for port in svc.get("ports") or () for p in _ports(port)),
            "volumes": sorted(_volume(v) for v in svc.get("volumes") or ()),
            "depends_on": {dep: (cfg.get("condition"), bool(cfg.get("required", True)),
                                 bool(cfg.get("restart")))
                           for dep, cfg in (svc.get("depends_on") or {}).items()},
            "networks": sorted(svc.get("networks") or ([] if not ours or {"network_mode",
                                                        "provider"} & set(svc) else ["default"])),
            **{key: sorted(r["source"] if isinstance(r, dict) else r for r in svc.get(key) or ())
               for key in ("secrets", "configs")},
            **{key: _words(svc.get(key)) for key in ("command", "entrypoint")},
            "devices": sorted(_device(d) for d in svc.get("devices") or ()),
            **{key: svc.get(key) or None for key in AS_WRITTEN},  # docker omits empties
        }
    return out


# the attributes both write alike (as strings, lists and mappings of strings)
AS_WRITTEN = ("labels", "restart", "container_name", "user", "working_dir", "cap_add",
              "cap_drop", "profiles", "network_mode", "hostname", "tmpfs",
              "logging", "ulimits", "expose", "init", "privileged", "sysctls", "dns",
              "read_only", "stdin_open", "tty", "pid", "ipc", "security_opt", "platform")


def _device(item: Any) -> tuple[str, str, str]:
    """(host path, container path, permissions) of ``src[:dst[:perms]]`` or the long form."""
    if isinstance(item, dict):
        return (str(item.get("source")), str(item.get("target") or item.get("source")),
                str(item.get("permissions") or "rwm"))
    parts = str(item).split(":")
    return (parts[0], parts[1] if len(parts) > 1 else parts[0],
            parts[2] if len(parts) > 2 else "rwm")


def _words(value: Any) -> Any:
    """A string command is split as docker compose splits it (shell words)."""
    return shlex.split(value) if isinstance(value, str) else value


def _env_files(env_file: Any, variables: dict[str, str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for item in env_file if isinstance(env_file, list) else [env_file] if env_file else []:
        path = Path(item["path"] if isinstance(item, dict) else item)
        if path.is_file():
            found.update(_env_file(path, variables))
    return found


def _ports(port: Any) -> list[tuple[str, str, str, str]]:
    ip, target, published, proto = port_key(port)
    ip = "" if ip == "0.0.0.0" else ip  # every address, written or not
    targets, publics = _span(target), _span(published)
    if len(publics) == 1 and len(targets) > 1:
        publics = publics * len(targets)
    if len(targets) == 1 and len(publics) > 1:  # a host range for one port: a choice
        return [(ip, targets[0], published, proto)]
    return [(ip, t, p, proto) for t, p in zip(targets, publics or [""] * len(targets))]


def _span(text: str) -> list[str]:
    first, dash, last = text.partition("-")
    if dash and first.isdigit() and last.isdigit():
        return [str(n) for n in range(int(first), int(last) + 1)]
    return [text]


def _volume(item: Any) -> tuple[str, str, str, bool]:
    if isinstance(item, dict):
        return (str(item.get("type", "volume")), str(item.get("source") or ""),
                posixpath.normpath(str(item.get("target", ""))), bool(item.get("read_only")))
    parts = str(item).split(":")
    if len(parts) == 1:
        return ("volume", "", posixpath.normpath(parts[0]), False)
    source, target, mode = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return (kind, source, posixpath.normpath(target), "ro" in mode.split(","))


# The fast tier reads a sample (every listed difference and each FAST_EVERY-th project);
# the rest, and the figures over all of them, are in the slow tier (CI's whole run).
FAST_EVERY = 12


def _fast(index: int, name: str) -> bool:
    return name in DIFFERENCES or index % FAST_EVERY == 0


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Every project this run selected (all of them when the figures test runs), docker
    compose run in threads (it is a separate process)."""
    here = [item for item in request.session.items if item.path == request.path]
    every = any(item.name.startswith("test_the_agreement_figures") for item in here)
    wanted = {item.callspec.params["name"] for item in here
              if hasattr(item, "callspec") and "name" in item.callspec.params}
    entries = [e for e in MANIFEST if every or ident(e) in wanted]
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        return dict(zip((ident(e) for e in entries), pool.map(run, entries)))


@pytest.mark.parametrize("name", [
    pytest.param(ident(e), marks=() if _fast(i, ident(e)) else pytest.mark.slow)
    for i, e in enumerate(MANIFEST)], ids=str)
def test_each_corpus_project_is_read_as_docker_compose_reads_it(outcomes, name) -> None:
    outcome = outcomes[name]
    agrees = outcome.ours == outcome.theirs and outcome.equal is not False
    if name in DIFFERENCES:
        kind, why = DIFFERENCES[name]
        assert not agrees, f"{name} now agrees with docker compose: remove it from " \
                           f"DIFFERENCES ({why})"
        assert kind == ("verdict" if outcome.ours != outcome.theirs else "model"), \
            outcome.detail
    else:
        assert agrees, outcome.detail


def test_the_corpus_is_what_the_manifest_names_with_origin_and_licence() -> None:
    names = [ident(e) for e in MANIFEST]
    assert len(names) == len(set(names)) and 40 <= len(names) <= 200
    for entry in MANIFEST:
        assert {"repo", "commit", "licence", "files"} <= set(entry)
        assert len(entry["commit"]) == 40
        assert (CORPUS / _slug(entry) / "LICENSE.origin").is_file()
        for rel in entry["files"] + entry["support"]:
            assert (CORPUS / _slug(entry) / rel).is_file(), rel
    assert set(DIFFERENCES) <= set(names)


def test_the_fast_sample_has_every_difference_and_a_spread_of_the_rest() -> None:
    fast = [ident(e) for i, e in enumerate(MANIFEST) if _fast(i, ident(e))]
    assert set(DIFFERENCES) <= set(fast) and 10 <= len(fast) < len(MANIFEST) // 4


@pytest.mark.slow  # all of the corpus: the fast tier reads a sample
def test_the_agreement_figures(outcomes, capsys) -> None:
    total = len(outcomes)
    verdicts = sum(o.ours == o.theirs for o in outcomes.values())
    both = [o for o in outcomes.values() if o.equal is not None]
    equal = sum(bool(o.equal) for o in both)
    with capsys.disabled():
        print(f"\ncorpus: verdicts agree on {verdicts} of {total}; models equal on {equal} of "
              f"{len(both)} both-accepted ({100 * equal / max(len(both), 1):.0f}%)")
    kinds = [kind for kind, _ in DIFFERENCES.values()]
    assert (verdicts, equal) == (total - kinds.count("verdict"), len(both) - kinds.count("model"))


@pytest.mark.parametrize(("files", "accepts"), [(f, a) for _, f, a, _ in DELIBERATE],
                         ids=[n for n, *_ in DELIBERATE])
def test_each_deliberate_difference_is_still_one(tmp_path, files, accepts) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    verdict = compose_config([tmp_path / "compose.yaml"], tmp_path, {"HOME": str(tmp_path)})
    try:
        model = api.load_project([tmp_path / "compose.yaml"], {}, validate=True)
    except ConfigurationError:
        model = None
    assert (model is not None, verdict.ok) == {"ours": (True, False), "theirs": (False, True),
                                               "both": (True, True)}[accepts]
    if model is not None and verdict.ok:
        assert view(model, {}, ours=True) != view(_unescaped(verdict.model), {}, ours=False)
