from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from phoenix_compose.config.environment import list_environments, load_environment
from phoenix_compose.config.identity import OWNER_LABEL, owner_id
from phoenix_compose.config.masking import MASK
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.config.show import show
from phoenix_compose.errors import ConfigurationError

STACK = {
    "envs/common.env": "TAG=1.0\nDB_PASSWORD=s3cr3t-value\n",
    "envs/dev.env": "",
    "compose/00-base.yaml": """
        services:
          web:
            image: registry.example/web:${TAG}
            environment:
              PRICE: "5$$"
              DB_PASSWORD: ${DB_PASSWORD}
            volumes: ['./static:/static:ro']
        """,
    "templates/10-env.yaml.j2": """
        services:
          web:
            labels:
              env: {{ env }}
        """,
}


def outputs(root: Path, env: str = "dev") -> dict[str, bytes]:
    out = root / ".phoenix" / env
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_prepare_writes_the_overlays_and_one_final_compose_file(make_stack) -> None:
    root = make_stack(STACK)
    outcome = prepare(root, "dev", process={})
    assert outcome.compose_file == root / ".phoenix/dev/compose.yaml"
    assert not outcome.cached and outcome.project_name == "stack-dev"
    assert (root / ".phoenix/dev/overlays/10-env.yaml").read_text() == \
        "services:\n  web:\n    labels:\n      env: dev\n"
    model = yaml.safe_load(outcome.compose_file.read_text())
    assert model["name"] == "stack-dev"
    web = model["services"]["web"]
    assert web["image"] == "registry.example/web:1.0"
    assert web["labels"] == {"env": "dev", OWNER_LABEL: owner_id(root, "dev")}
    assert web["volumes"] == [f"{root / 'compose' / 'static'}:/static:ro"]


def test_literal_dollars_are_re_escaped_for_podman_compose(make_stack) -> None:
    root = make_stack(STACK)
    text = prepare(root, "dev", process={}).compose_file.read_text()
    assert "PRICE: 5$$" in text


def test_the_output_is_deterministic(make_stack) -> None:
    root = make_stack(STACK)
    first = outputs(root) if prepare(root, "dev", process={}) else None
    prepare(root, "dev", use_cache=False, process={})
    assert outputs(root) == first


def test_a_failed_run_leaves_the_previous_output_byte_for_byte(make_stack) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    before = {k: v for k, v in outputs(root).items() if k != "cache.json"}
    (root / "templates/10-env.yaml.j2").write_text("services:\n  web:\n    labels: {{ oops }\n")
    (root / "compose/00-base.yaml").write_text(
        (root / "compose/00-base.yaml").read_text().replace("${TAG}", "${TAG:?}x") + "  bad: [\n")
    with pytest.raises(ConfigurationError):
        prepare(root, "dev", process={})
    after = outputs(root)
    assert {k: v for k, v in after.items() if k != "cache.json"} == before
    assert "cache.json" not in after  # the next run re-validates


def test_the_cache_skips_work_when_nothing_changed(make_stack) -> None:
    root = make_stack(STACK)
    assert prepare(root, "dev", process={}).cached is False
    assert prepare(root, "dev", process={}).cached is True


def test_a_fresh_cache_answers_the_project_name_without_reading_the_compose_files(
        make_stack, monkeypatch) -> None:
    from phoenix_compose.config import identity

    root = make_stack({**STACK, "compose/01-name.yaml": "name: shop\n"})
    assert prepare(root, "dev", process={}).project_name == "shop"

    def parsed(*_: object) -> None:
        raise AssertionError("the compose files were read for the name")
    monkeypatch.setattr(identity, "top_level_name", parsed)
    again = prepare(root, "dev", process={})
    assert again.cached and again.project_name == "shop"
    assert again.cfg is not None and again.cfg.name == "dev"  # show masks with it


def test_a_build_parses_each_compose_file_once(make_stack, monkeypatch) -> None:
    """The project's ``name:`` is looked for in the compose files before the build; the
    build takes those parsed documents instead of parsing the same text again."""
    from phoenix_compose.config import yamlsrc

    root = make_stack({**STACK, "compose/01-name.yaml": "name: shop-${TAG}\n"})
    parsed: list[str] = []
    real = yamlsrc.load_all

    def counting(text: str, locate: yamlsrc.Locator) -> list[yamlsrc.N]:
        parsed.append(text)
        return real(text, locate)
    monkeypatch.setattr(yamlsrc, "load_all", counting)
    project = prepare(root, "dev", process={})
    assert project.project_name == "shop-10" and not project.cached
    compose = sorted((root / "compose").glob("*.yaml"))
    rendered = (root / ".phoenix/dev/overlays/10-env.yaml").read_text()
    assert sorted(parsed) == sorted([p.read_text() for p in compose] + [rendered])


@pytest.mark.parametrize("change", ["compose", "template", "env_file", "process", "output"])
def test_the_cache_misses_when_an_input_changes(make_stack, change: str) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    process = {}
    if change == "compose":
        path = root / "compose/00-base.yaml"
        path.write_text(path.read_text().replace("PRICE", "COST"))
    elif change == "template":
        path = root / "templates/10-env.yaml.j2"
        path.write_text(path.read_text().replace("env:", "stage:"))
    elif change == "env_file":
        (root / "envs/dev.env").write_text("TAG=2.0\n")
    elif change == "process":
        process = {"TAG": "3.0"}
    else:
        (root / ".phoenix/dev/compose.yaml").write_text("tampered\n")
    outcome = prepare(root, "dev", process=process)
    assert outcome.cached is False
    assert "tampered" not in outcome.compose_file.read_text()


def test_an_unrelated_process_variable_keeps_the_cache(make_stack) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    assert prepare(root, "dev", process={"UNRELATED": "x"}).cached is True


def test_the_cache_never_stores_secret_values(make_stack) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    assert "s3cr3t" not in (root / ".phoenix/dev/cache.json").read_text()


def test_a_removed_template_removes_its_overlay(make_stack) -> None:
    root = make_stack(STACK)
    prepare(root, "dev", process={})
    (root / "templates/10-env.yaml.j2").unlink()
    prepare(root, "dev", process={})
    assert not (root / ".phoenix/dev/overlays/10-env.yaml").exists()


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_show_masks_secret_values(make_stack, fmt: str) -> None:
    root = make_stack(STACK)
    text = show(root, "dev", fmt)
    assert "s3cr3t" not in text and MASK in text
    model = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert model["services"]["web"]["environment"]["DB_PASSWORD"] == MASK


def test_show_rejects_an_unknown_format(make_stack) -> None:
    with pytest.raises(ConfigurationError, match="unknown format"):
        show(make_stack(STACK), "dev", "toml")


def test_every_phoenix_environment_validates(phoenix_stack: Path) -> None:
    envs = list_environments(phoenix_stack)
    assert envs == ["development", "prod", "staging"]
    for env in envs:
        outcome = prepare(phoenix_stack, env, process={})
        assert outcome.warnings == ()
        model = yaml.safe_load(outcome.compose_file.read_text())
        assert set(model["services"]) == {"revenue-db", "phoenix-core", "nca-toolkit",
                                          "n8n-phoenix", "windmill-phoenix"}
        assert model["networks"]["backend"]["internal"] is True
        assert model["services"]["revenue-db"]["networks"] == {"backend": None}


def test_phoenix_prod_is_hardened_and_uses_secrets(phoenix_stack: Path) -> None:
    outcome = prepare(phoenix_stack, "prod", process={})
    assert outcome.production
    model = yaml.safe_load(outcome.compose_file.read_text())
    for name, svc in model["services"].items():
        assert svc["restart"] == "unless-stopped", name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert svc["cap_drop"] == ["ALL"], name
        assert svc["security_opt"] == ["no-new-privileges:true"], name
        assert "PASSWORD" not in " ".join(k for k in svc.get("environment", {})
                                          if not k.endswith("_FILE")), name
    assert {k: v["external"] for k, v in model["secrets"].items()} == dict.fromkeys((
        "prod_revenue_db_password", "prod_windmill_database_url", "prod_tls_ca_crt",
        "prod_phoenix_core_tls_crt", "prod_phoenix_core_tls_key", "prod_nca_toolkit_tls_crt",
        "prod_nca_toolkit_tls_key"), True)
    toolkit = model["services"]["nca-toolkit"]
    assert toolkit["environment"]["HEALTH_DEPENDS"] == "https://phoenix-core:8080/health"
    assert toolkit["healthcheck"]["test"][-1] == "https://127.0.0.1:8081/health"
    hook = model["secrets"]["prod_revenue_db_password"]["x-phoenix-rotate"]
    assert hook["service"] == "revenue-db" and "ALTER ROLE phoenix" in hook["command"][2]
    for name in ("revenue-db", "phoenix-core", "nca-toolkit"):
        svc = model["services"][name]
        assert svc["read_only"] is True and svc["tmpfs"] == ["/tmp", "/run/secrets"], name
    db_secret = model["services"]["revenue-db"]["secrets"][0]
    assert db_secret == {"source": "prod_revenue_db_password", "target": "revenue_db_password",
                         "uid": "999", "gid": "999", "mode": "0400"}  # octal, as podman reads


def test_production_refuses_plaintext_secret_files(make_stack) -> None:
    from phoenix_compose.errors import ConfigurationError

    root = make_stack({"envs/prod.env": "",
                       "compose/a.yaml": "services:\n  web: {image: 'w@sha256:" + "a" * 64
                                         + "', secrets: [pw]}\n"
                                         "secrets:\n  pw: {file: ./pw.txt}\n"})
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "prod", process={})
    assert [str(p).split(" (hint")[0] for p in info.value.problems] == [
        "compose/a.yaml:4:14: error: production policy: secret 'pw' is a plaintext file"]


def test_phoenix_development_builds_its_images_and_keeps_full_services_behind_a_profile(
        phoenix_stack: Path) -> None:
    model = yaml.safe_load(prepare(phoenix_stack, "development", process={})
                           .compose_file.read_text())
    services = model["services"]
    for name, context in (("revenue-db", "revenue-db"), ("phoenix-core", "python-service"),
                          ("nca-toolkit", "python-service")):
        assert services[name]["build"]["context"] == str(phoenix_stack / "images" / context)
        assert services[name]["image"].startswith("localhost/")
    assert services["n8n-phoenix"]["profiles"] == ["full"]
    assert services["windmill-phoenix"]["profiles"] == ["full"]


def test_passwords_inside_urls_are_masked() -> None:
    from phoenix_compose.config.masking import mask_secrets

    assert mask_secrets({"URL": "postgres://u:pw@db:5432/x", "OTHER": "http://host/a:b@c"}) == {
        "URL": f"postgres://u:{MASK}@db:5432/x", "OTHER": "http://host/a:b@c"}
    assert mask_secrets(["API_TOKEN=abc", "PLAIN=abc"]) == [f"API_TOKEN={MASK}", "PLAIN=abc"]


def test_environment_and_labels_reach_podman_compose_as_the_strings_docker_compose_writes(
        make_stack) -> None:
    from podman_compose import norm_as_list

    root = make_stack({
        "envs/dev.env": "",
        "compose/a.yaml": """
            services:
              kc:
                image: quay.io/keycloak/keycloak:26.0
                environment: {KC_HTTP_ENABLED: true, KC_HTTP_PORT: 8080, RATIO: 0.5,
                              BIG: 1e6, MODE: 0o640, ANSWER: yes, AT: 12:30}
                labels: {traefik.enable: true, empty: ~}
                sysctls: {net.ipv4.tcp_syncookies: false}
                build: {context: ., args: {DEBUG: false}}
            """,
        "compose/Dockerfile": "FROM scratch\n",
        "templates/10-more.yaml.j2": """
            services:
              kc:
                environment:
                  KC_HEALTH_ENABLED: {{ true }}
            """,
    })
    model = yaml.safe_load(prepare(root, "dev", process={}).compose_file.read_text())
    kc = model["services"]["kc"]
    assert norm_as_list(kc["environment"]) == [  # the podman run -e values
        "ANSWER=yes", "AT=12:30", "BIG=1e+06", "KC_HEALTH_ENABLED=true", "KC_HTTP_ENABLED=true",
        "KC_HTTP_PORT=8080", "MODE=416", "RATIO=0.5"]
    assert {k: v for k, v in kc["labels"].items() if k != "io.phoenix.owner"} == \
        {"empty": "", "traefik.enable": "true"}
    assert kc["sysctls"] == {"net.ipv4.tcp_syncookies": "false"}
    assert kc["build"]["args"] == {"DEBUG": "false"}


def test_a_planted_cache_never_vouches_for_a_config(make_stack) -> None:
    """A repository can ship `.phoenix/<env>/cache.json`: one written by hand for an invalid
    config made `config.validate --no-write` say "valid (cached)", and `up` run it."""
    import json

    from phoenix_compose.config.pipeline import _key, check
    from phoenix_compose.errors import ConfigurationError

    root = make_stack({"envs/dev.env": "", "compose/a.yaml":
                       "services: {web: {image: '--privileged', privileged: true}}\n"})
    cfg = load_environment(root, "dev", {})
    cfg.state.path.mkdir(parents=True)
    cfg.state.cache_file.write_text(json.dumps(
        {"key": _key(cfg), "vars": {}, "outputs": {}, "inputs": {}, "warnings": []}))
    with pytest.raises(ConfigurationError, match="not an image reference"):
        check(root, "dev")
