"""Build tests/config/resources/corpus/ from public repositories brought here (the mirrors
of the ``fetch`` tool, or any clone): each project's compose files as they are, the files
they need to be read (their ``.env``, env files, Dockerfiles of their build contexts,
included and extended files), its licence, and MANIFEST.json naming each file's origin
(repository, path, commit, licence).

    python tools/corpus.py MIRRORS_DIR [EXTRA_DIR]
    python tools/corpus.py --add MIRRORS_DIR

``--add`` brings in only the projects of ``SWEPT`` (found by sweeping public files against
docker compose), replacing those entries and keeping the rest of the corpus as it is.

Re-running it rewrites the corpus from the same commits.  The projects are listed below;
``EXTRA_DIR`` holds the files of repositories too large to clone (read one by one, named
as ``EXTRA`` says, with ``<owner>__<repo>.LICENSE``); without it, the corpus's own copies
of those files are kept."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent.parent / "tests" / "config" / "resources" / "corpus"
AWESOME = ["angular", "apache-php", "aspnet-mssql", "django", "elasticsearch-logstash-kibana",
           "gitea-postgres", "minecraft", "nextcloud-redis-mariadb", "nginx-aspnet-mysql",
           "nginx-flask-mongo", "nginx-flask-mysql", "nginx-golang-postgres",
           "nginx-nodejs-redis", "nginx-wsgi-flask", "pihole-cloudflared-DoH", "plex",
           "portainer", "postgresql-pgadmin", "prometheus-grafana", "react-express-mongodb",
           "react-java-mysql", "react-rust-postgres", "spring-postgres", "traefik-golang",
           "wireguard", "wordpress-mysql"]
NEXTCLOUD = [f".examples/docker-compose/{a}/{b}/{c}/compose.yaml"
             for a in ("insecure", "with-nginx-proxy") for b in ("mariadb", "postgres")
             for c in ("apache", "fpm") if (a, c) != ("insecure", "fpm")]
TEMPORAL = ["docker-compose.yml", "docker-compose-cass-es.yml", "docker-compose-multirole.yaml",
            "docker-compose-mysql-es.yml", "docker-compose-mysql.yml",
            "docker-compose-postgres-opensearch.yml", "docker-compose-postgres.yml",
            "docker-compose-tls.yml"]
JITSI = ["etherpad.yml", "grafana.yml", "jibri.yml", "jigasi.yml", "log-analyser.yml",
         "prometheus.yml", "rtcstats.yml", "transcriber.yml", "whiteboard.yml"]
MAILCOW_OVERRIDES = ["BUILD_FLAGS", "EXTERNAL_DNS", "EXTERNAL_MYSQL_SOCKET", "HAPROXY",
                     "PROMETHEUS_EXPORTER"]
OTEL = ["compose.yaml", "compose.full.yaml", "compose.observability.yaml",
        "compose.profiling.yaml", "compose.tests.yaml", "compose.agent.yaml"]
E2E = ["build-dependencies/compose.yaml", "build-test/compose.yaml",
       "build-test/multi-args/compose.yaml",
       "build-test/platforms/compose-service-platform-not-in-build-platforms.yaml",
       "build-test/ssh/compose.yaml", "cascade/compose.yaml", "config_hash/compose.yaml",
       "dotenv/development/compose.yaml", "env_file/compose.yaml", "nested/compose.yaml",
       "network-test/compose.yaml", "project-volume-bind-test/docker-compose.yml",
       "publish/oci/compose.yaml", "restart-test/compose-depends-on.yaml",
       "simple-build-test/compose-interpolate.yaml", "ups-deps-stop/compose.yaml",
       "volume-test/compose.yaml", "watch/compose.yaml", "watch/include.yaml",
       "watch/rebuild-deps.yaml", "watch/with-external-network.yaml",
       "wrong-composefile/compose.yaml"]
# (repository, licence (SPDX), projects: [files loaded together], variables file or None)
PROJECTS: list[tuple[str, str, list[list[str]], str | None]] = [
    ("docker/awesome-compose", "CC0-1.0",
     [[f"{n}/compose.yaml"] for n in AWESOME], None),
    ("mailcow/mailcow-dockerized", "GPL-3.0-only",
     [["docker-compose.yml"]] + [
         ["docker-compose.yml",
          f"helper-scripts/docker-compose.override.yml.d/{o}/docker-compose.override.yml"]
         for o in MAILCOW_OVERRIDES], None),
    ("nextcloud/docker", "AGPL-3.0-only", [[f] for f in NEXTCLOUD], None),
    ("getsentry/self-hosted", "FSL-1.1-Apache-2.0", [["docker-compose.yml"]], None),
    ("temporalio/docker-compose", "MIT", [[f] for f in TEMPORAL], None),
    ("jitsi/docker-jitsi-meet", "Apache-2.0",
     [["docker-compose.yml"]] + [["docker-compose.yml", f] for f in JITSI], "env.example"),
    ("deviantony/docker-elk", "MIT", [["docker-compose.yml"]], None),
    ("netbox-community/netbox-docker", "Apache-2.0",
     [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.test.yml",
                               "docker-compose.test.override.yml"]], None),
    ("mattermost/docker", "Apache-2.0",
     [["docker-compose.yml", "docker-compose.nginx.yml"],
      ["docker-compose.yml", "docker-compose.without-nginx.yml"]], "env.example"),
    ("docker-mailserver/docker-mailserver", "MIT",
     [["compose.yaml"], ["test/config/oauth2/compose.yaml"]], None),
    ("open-telemetry/opentelemetry-demo", "Apache-2.0",
     [[f] for f in OTEL] + [["compose.yaml", "compose.extras.yaml"]], None),
    ("appwrite/appwrite", "BSD-3-Clause",
     [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.override.yml"],
      ["docker-compose.separate.yml"], ["tests/resources/docker/docker-compose.yml"]], None),
    ("docker/compose", "Apache-2.0", [[f"pkg/e2e/fixtures/{f}"] for f in E2E], None),
]
GO_TESTDATA = ["cli/testdata/simple/compose.yaml", "cli/testdata/simple/compose-with-paths.yaml",
               "cli/testdata/simple/compose-name.yaml",
               "cli/testdata/simple/compose-with-overrides.yaml",
               "cli/testdata/simple/compose-with-variables.yaml",
               "cli/testdata/env-file/compose-with-env-file.yaml",
               "cli/testdata/env-file/compose-with-env-files.yaml",
               "loader/testdata/compose-include.yaml", "loader/testdata/compose-test-extends.yaml",
               "loader/testdata/extends/withdir/compose.yaml",
               "loader/testdata/compose-depends-on-cycle.yaml",
               "loader/testdata/compose-depends-on-self.yaml",
               "loader/testdata/compose-include-cycle.yaml", "loader/testdata/include/compose.yaml"]
E2E_TESTDATA = ["TestBuildTags", "TestBuildSecrets", "TestProviderStopHook", "TestUpSwitchVolumes",
                "TestDependsOnMultipleProviders", "TestImagesAfterImageRemoved",
                "TestPreStartHookSuccess"]
PAPERLESS = [f"docker/compose/docker-compose.{n}.yml" for n in (
    "mariadb", "mariadb-tika", "postgres", "postgres-tika", "sqlite", "sqlite-tika", "portainer")]
TRAEFIK = [f"docs/content/user-guides/docker-compose/{n}" for n in (
    "acme-dns/docker-compose.yml", "acme-dns/docker-compose_secrets.yml",
    "acme-http/docker-compose.yml", "acme-tls/docker-compose.yml",
    "basic-example/docker-compose.yml")]
N8N = ["docker-caddy/docker-compose.yml", "docker-compose/subfolderWithSSL/docker-compose.yml",
       "docker-compose/withPostgres/docker-compose.yml",
       "docker-compose/withPostgresAndWorker/docker-compose.yml"]
# found by sweeping ~490 public compose files against docker compose (tools/corpus.py --add)
SWEPT: list[tuple[str, str, list[list[str]], str | None]] = [
    ("compose-spec/compose-go", "Apache-2.0", [[f] for f in GO_TESTDATA], None),
    ("docker/compose", "Apache-2.0",
     [[f"pkg/e2e/testdata/{n}/compose.yaml"] for n in E2E_TESTDATA], None),
    ("dockersamples/example-voting-app", "Apache-2.0",
     [["docker-compose.yml"], ["docker-compose.images.yml"]], None),
    ("n8n-io/n8n-hosting", "MIT", [[f] for f in N8N], None),
    ("nginx-proxy/nginx-proxy", "MIT",
     [["docker-compose.yml"], ["docker-compose-separate-containers.yml"],
      ["test/compose.base.yml"]], None),
    ("paperless-ngx/paperless-ngx", "GPL-3.0-only", [[f] for f in PAPERLESS], None),
    ("traefik/traefik", "MIT", [[f] for f in TRAEFIK], None),
    ("vegasbrianc/prometheus", "MIT", [["docker-compose.yml"]], None),
    ("zammad/zammad-docker-compose", "AGPL-3.0-only", [["docker-compose.yml"]], None),
    ("nextcloud/all-in-one", "AGPL-3.0-only", [["compose.yaml"], ["php/tests/compose.yaml"]],
     None),
]
# too large to clone: read file by file (repository, licence, commit, {path: local file})
EXTRA = [
    ("immich-app/immich", "AGPL-3.0-only", "4cff61e035ac68376fc29793a719f87f9f0acd12",
     {"docker/docker-compose.yml": "immich-docker-compose.yml",
      "docker/.env": "immich-example.env"}),  # example.env (8ed3884) as the .env it becomes
    ("goauthentik/authentik", "MIT", "0afd3b121e88c708465be577e4cc5031fb852727",
     {"docker-compose.yml": "authentik-docker-compose.yml"}),
]


def git(repo: Path, *args: str) -> bytes | None:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


def needed(text: str, folder: PurePosixPath,
           variables: dict[str, str]) -> set[PurePosixPath]:
    """The files one compose file needs besides itself (as repository paths); ``${VAR}``
    and ``${VAR:-default}`` are filled in from the project's ``.env``."""
    text = re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}",
                  lambda m: variables.get(m.group(1)) or m.group(2) or m.group(0), text)
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return set()
    out = {folder / ".env"}
    includes = doc.get("include") if isinstance(doc, dict) else None
    for item in includes if isinstance(includes, list) else ():
        paths = item.get("path") if isinstance(item, dict) else item
        for path in paths if isinstance(paths, list) else [paths]:
            if isinstance(path, str) and "$" not in path:
                out.add(folder / path)
    services = doc.get("services") if isinstance(doc, dict) else None
    for svc in (services or {}).values() if isinstance(services, dict) else ():
        if not isinstance(svc, dict):
            continue
        out |= _build_files(svc.get("build"), folder)
        env_files = svc.get("env_file")
        for item in env_files if isinstance(env_files, list) else [env_files]:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str) and "$" not in path:
                out.add(folder / path)
        ext = svc.get("extends")
        if isinstance(ext, dict) and isinstance(ext.get("file"), str):
            out.add(folder / ext["file"])
    return out


def dotenv(src: Path, folder: PurePosixPath) -> dict[str, str]:
    text = (git(src, "show", f"HEAD:{folder / '.env'}") or b"").decode("utf-8", "replace")
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {k.strip(): v.strip().strip("'\"") for k, v in pairs}


def _build_files(build: Any, folder: PurePosixPath) -> set[PurePosixPath]:
    if build is None:
        return set()
    spec = build if isinstance(build, dict) else {"context": build}
    context = spec.get("context", ".")
    if not isinstance(context, str) or "://" in context or "$" in context:
        return set()
    named = [spec["dockerfile"]] if isinstance(spec.get("dockerfile"), str) else []
    return {folder / context / n for n in named + ["Dockerfile", "Containerfile"]}


def clean(path: PurePosixPath) -> PurePosixPath:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def collect(mirrors: Path, extra: Path | None,
            projects_of: list[tuple[str, str, list[list[str]], str | None]] = PROJECTS
            ) -> list[dict[str, Any]]:
    manifest = []
    for repo, licence, projects, variables in projects_of:
        src = mirrors / repo.replace("/", "+") / "repo"
        commit = git(src, "rev-parse", "HEAD").decode().strip()
        slug = repo.replace("/", "__")
        for files in projects:
            copied: set[PurePosixPath] = set()
            base = PurePosixPath(files[0]).parent  # the project directory
            todo = [(PurePosixPath(f), base) for f in files + ([variables] if variables else [])]
            while todo:
                path, folder = todo.pop()
                path = clean(path)
                entry = git(src, "ls-tree", "HEAD", "--", str(path))
                if path in copied or not entry or not entry.startswith(b"100"):
                    continue  # absent, a folder, or a symlink (mailcow's .env)
                data = git(src, "show", f"HEAD:{path}") or b""
                copied.add(path)
                target = OUT / slug / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                if path.suffix in (".yml", ".yaml"):  # its paths are the project's
                    todo += [(n, path.parent) for n in needed(
                        data.decode("utf-8", "replace"), folder, dotenv(src, base))]
            manifest.append({"repo": repo, "commit": commit, "licence": licence,
                             "files": files, "variables": variables,
                             "support": sorted(str(p) for p in copied)})
        licence_file = next(n for n in ("LICENSE", "LICENSE.md", "COPYING")
                            if git(src, "show", f"HEAD:{n}") is not None)
        (OUT / slug / "LICENSE.origin").write_bytes(git(src, "show", f"HEAD:{licence_file}"))
    for repo, licence, commit, files in EXTRA if extra is not None else ():
        assert extra is not None
        slug = repo.replace("/", "__")
        for path, local in files.items():
            target = OUT / slug / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(extra / local, target)
        (OUT / slug / "LICENSE.origin").write_bytes((extra / f"{slug}.LICENSE").read_bytes())
        manifest.append({"repo": repo, "commit": commit, "licence": licence,
                         "files": [next(iter(files))], "variables": None,
                         "support": sorted(files)})
    return manifest


def _kept_extra(folder: Path) -> Path:
    """Without EXTRA_DIR: the corpus's own copies of the EXTRA files, kept aside."""
    for repo, _licence, _commit, files in EXTRA:
        slug = repo.replace("/", "__")
        for path, local in files.items():
            shutil.copy(OUT / slug / path, folder / local)
        shutil.copy(OUT / slug / "LICENSE.origin", folder / f"{slug}.LICENSE")
    return folder


def add(mirrors: Path) -> None:
    """Only the ``SWEPT`` projects: (re)collected, the other entries kept as they are."""
    names = {(repo, tuple(files)) for repo, _l, projects, _v in SWEPT for files in projects}
    kept = [e for e in json.loads((OUT / "MANIFEST.json").read_text(encoding="utf-8"))
            if (e["repo"], tuple(e["files"])) not in names]
    write(kept + collect(mirrors, None, SWEPT))


def write(manifest: list[dict[str, Any]]) -> None:
    for entry in manifest:
        entry["support"] = [f for f in entry["support"] if f not in entry["files"]]
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    import tempfile

    if sys.argv[1] == "--add":
        add(Path(sys.argv[2]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(sys.argv[2]) if len(sys.argv) > 2 else _kept_extra(Path(tmp))
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.mkdir(parents=True)
        manifest = collect(Path(sys.argv[1]), extra)
    write(manifest + collect(Path(sys.argv[1]), None, SWEPT))


if __name__ == "__main__":
    main()
