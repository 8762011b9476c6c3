"""``extends`` and ``include``.  Cases ported from github.com/compose-spec/compose-go:
loader/extends_test.go and loader/include_test.go (test named in each), with their test
data copied to tests/config/resources/ (see its README)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from phoenix_compose import api
from phoenix_compose.errors import ConfigurationError

RESOURCES = Path(__file__).parent / "resources"


@pytest.fixture
def testdata(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # locations are then named relative to it
    shutil.copytree(RESOURCES / "extends", tmp_path / "testdata" / "extends")
    shutil.copytree(RESOURCES / "include", tmp_path / "testdata" / "include")
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def services(folder: Path, text: str, variables=None, **kwargs) -> dict:
    main = write(folder, "compose.yaml", text)
    return api.load_project([main], variables or {}, **kwargs)["services"]


def problems(folder: Path, text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        services(folder, text)
    return [str(p) for p in info.value.problems]


def test_extends_from_another_file(testdata) -> None:  # TestExtends
    got = services(testdata, """
        services:
          test1: {extends: {file: testdata/extends/base.yaml, service: base}, hostname: test1}
          test2: {extends: {file: testdata/extends/base.yaml, service: base}, hostname: test2}
          test3: {extends: {file: testdata/extends/base.yaml, service: another}, hostname: t3}
        """)
    assert {n: (s["image"], s["hostname"]) for n, s in got.items()} == {
        "test1": ("base", "test1"), "test2": ("base", "test2"), "test3": ("base", "t3")}


def test_extends_keeps_the_base_ports(testdata) -> None:  # TestExtendsPort
    got = services(testdata, "services: {test: {image: test, extends: "
                             "{file: testdata/extends/base.yaml, service: with-port}}}\n")
    assert got["test"]["ports"] == ["8000:8000"]


def test_extends_keeps_typed_ulimits(testdata) -> None:  # TestExtendsUlimits
    got = services(testdata, "services: {test: {extends: "
                             "{file: testdata/extends/base.yaml, service: withUlimits}}}\n")
    assert got["test"]["ulimits"]["nproc"] == 65535


def test_paths_of_an_extended_file_resolve_against_its_folder(testdata) -> None:
    # TestExtendsRelativePath: with-build extends sibling.yaml's `build: .`
    got = services(testdata, "services: {test: {extends: "
                             "{file: testdata/extends/base.yaml, service: with-build}}}\n")
    assert got["test"]["build"] == {"context": str(testdata / "testdata" / "extends")}


def test_extends_needs_a_service(testdata) -> None:  # TestExtendsWihtMissingService
    out = problems(testdata, "services:\n  test:\n    image: test\n    extends:\n"
                             "      file: testdata/extends/base.yaml\n")
    assert out == ["compose.yaml:5:7: error: extends of service 'test' needs `service:` "
                   "(the service to extend)"]


def test_an_unknown_base_is_a_located_error(testdata) -> None:
    out = problems(testdata, "services:\n  test:\n    extends: nope\n")
    assert out == ["compose.yaml:3:14: error: cannot extend service 'test': service 'nope' "
                   "not found"]


def test_a_missing_extends_file_is_a_located_error(testdata) -> None:
    out = problems(testdata, "services:\n  test:\n    extends: {file: gone.yaml, service: x}\n")
    assert len(out) == 1 and out[0].startswith("compose.yaml:3:21: error: cannot read")


def test_extends_in_the_same_file_and_an_override(testdata) -> None:
    # TestLoadExtendsDependsOn
    got = services(testdata, """
        services:
          service_a: {image: a, depends_on: [service_c]}
          service_b:
            extends: service_a
            depends_on: !override [service_a]
          service_c: {image: c}
        """)
    assert got["service_b"]["depends_on"] == {
        "service_a": {"condition": "service_started", "required": True}}
    assert got["service_b"]["image"] == "a"


def test_a_chain_in_a_subfolder_resolves_paths_there(testdata) -> None:
    # TestLoadExtendsSameFile
    write(testdata, "sub/compose.yaml", """
        services:
          base: {build: {context: ..}}
          service: {extends: base, build: {target: target}}
        """)
    got = services(testdata, """
        services:
          out-base: {image: x, extends: {file: sub/compose.yaml, service: base}}
          out-service: {image: x, extends: {file: sub/compose.yaml, service: service}}
        """)
    assert got["out-base"]["build"] == {"context": str(testdata)}
    assert got["out-service"]["build"] == {"context": str(testdata), "target": "target"}


def test_reset_in_a_base_removes_the_value(testdata) -> None:  # TestExtendsReset
    got = services(testdata, "services: {test: {extends: "
                             "{file: testdata/extends/reset.yaml, service: base}}}\n")
    assert "command" not in got["test"] and got["test"]["image"] == "alpine:latest"


def test_an_extended_file_is_interpolated(testdata) -> None:  # TestExtendsWithInterpolation
    got = services(testdata, "services: {test: {extends: "
                             "{file: testdata/extends/interpolated.yaml, service: foo}}}\n")
    assert got["test"]["volumes"] == ["/dev/null:/tmp/foo:ro"]


def test_an_extends_cycle_is_a_located_error(testdata) -> None:
    out = problems(testdata, "services:\n  a: {image: x, extends: b}\n  b: {extends: a}\n")
    assert len(out) == 1 and "extends cycle" in out[0] and out[0].startswith("compose.yaml:")


def test_include_imports_services_with_their_own_paths(testdata) -> None:  # TestIncludeRelative
    got = services(testdata, "include: [testdata/include/included.yaml]\n"
                             "services: {web: {image: w}}\n")
    folder = str(testdata / "testdata" / "include")
    assert got["included"]["build"] == {"context": folder}
    assert got["included"]["volumes"] == [f"{folder}:/mnt"]
    assert set(got) == {"included", "web"}


def test_include_env_file_is_for_the_included_project_only(testdata) -> None:
    # TestLoadWithIncludeEnv
    write(testdata, "custom.env", "VAR_NAME=value\n")
    write(testdata, "module/compose.yml", "services:\n  b: {image: alpine, "
                                          "environment: [VAR_NAME]}\n")
    got = services(testdata, """
        include:
          - path: [./module/compose.yml]
            env_file: [./custom.env]
        services:
          a: {image: alpine, environment: [VAR_NAME]}
        """)
    assert got["b"]["environment"] == {"VAR_NAME": "value"}
    assert got["a"]["environment"] == {"VAR_NAME": None}  # a pass-through, unset here


def test_include_env_file_and_the_outer_variables(testdata) -> None:  # TestLoadWithMultipleInclude
    text = """
        include:
          - path: ./testdata/include/subdir/compose-test-extends-imported.yaml
            env_file: ./testdata/include/subdir/extra.env
        services:
          foo: {image: busybox, depends_on: [imported]}
        """
    assert services(testdata, text)["imported"]["container_name"] == "extends"
    assert services(testdata, text, {"SOURCE": "override"})["imported"][
        "container_name"] == "override"


def test_nested_include_and_extends(testdata) -> None:  # TestNestedIncludeAndExtends
    write(testdata, "dir/included.yaml", "services:\n  included:\n    extends:\n"
                                         "      file: dir/extended.yaml\n"
                                         "      service: extended\n")
    write(testdata, "dir/extended.yaml", "services: {extended: {image: alpine}}\n")
    got = services(testdata, "include:\n  - project_directory: .\n"
                             "    path: dir/included.yaml\n")
    assert got["included"]["image"] == "alpine"


def test_a_conflicting_include_is_an_error_and_an_identical_one_is_not(testdata) -> None:
    write(testdata, "other.yaml", "services: {web: {image: other}}\n")
    write(testdata, "same.yaml", "services: {web: {image: w}}\n")
    out = problems(testdata, "include: [other.yaml]\nservices:\n  web: {image: w}\n")
    assert out == ["compose.yaml:3:3: error: service 'web' conflicts with the one included "
                   "from other.yaml (hint: rename one of them, or extend the included one "
                   "instead)"]
    assert services(testdata, "include: [same.yaml]\nservices: {web: {image: w}}\n") == {
        "web": {"image": "w"}}


def test_an_identical_include_with_numbers_and_list_forms_is_not_a_conflict(testdata) -> None:
    service = "{web: {image: w, labels: [a=1, b=true], environment: {A: 1, B: yes}}}"
    write(testdata, "same.yaml", f"services: {service}\n")
    assert services(testdata, f"include: [same.yaml]\nservices: {service}\n") == {
        "web": {"image": "w", "labels": {"a": "1", "b": "true"},
                "environment": {"A": "1", "B": "yes"}}}


def test_an_include_cycle_is_a_located_error(testdata) -> None:
    write(testdata, "a.yaml", "include: [b.yaml]\nservices: {a: {image: a}}\n")
    write(testdata, "b.yaml", "include: [a.yaml]\nservices: {b: {image: b}}\n")
    out = problems(testdata, "include: [a.yaml]\n")
    assert len(out) == 1 and "include cycle" in out[0]


def test_a_missing_include_is_a_located_error(testdata) -> None:
    out = problems(testdata, "include:\n  - nowhere.yaml\nservices: {web: {image: w}}\n")
    assert len(out) == 1 and out[0].startswith("compose.yaml:2:5: error: cannot read")


def test_200_services_with_extends_do_linear_work(tmp_path, monkeypatch) -> None:
    """Work counted, not timed: each extending service costs one merge with its base (the
    base is resolved once, not again for every service that extends it)."""
    from phoenix_compose.config import extends

    lines = ["x-base: &b {image: 'w:1'}\nservices:\n  base: {image: 'w:1', "
             "environment: {A: '1'}, healthcheck: {test: [CMD, 'true'], interval: 5s}}\n"]
    lines += [f"  s{i}: {{extends: base, environment: {{N: '{i}'}}}}\n" for i in range(200)]
    main = write(tmp_path, "compose.yaml", "".join(lines))
    merges = []
    real = extends.merge
    monkeypatch.setattr(extends, "merge", lambda *a: merges.append(1) or real(*a))
    got = api.load_project([main], {}, validate=True)["services"]
    assert got["s7"]["environment"] == {"A": "1", "N": "7"}
    assert len(merges) == 200
