"""The markers of what a test needs from the host: a plain checkout skips, naming what is
missing; CI (``PHOENIX_REQUIRE``) fails instead, so nothing it should run is skipped."""

from __future__ import annotations

import pytest

from support import needs

LACKING = {"podman": "podman is not on PATH", "quadlet": "no quadlet binary",
           "root": "needs root"}


def lacking(*names: str):
    return lambda need: LACKING[need] if need in names else None


def test_a_test_needing_what_the_host_lacks_is_skipped_with_the_reason() -> None:
    assert needs.verdict(["quadlet"], {}, lacking("quadlet")) == ("skip", "no quadlet binary")
    assert needs.verdict(["parametrize", "root"], {}, lacking("root")) == ("skip",
                                                                          "needs root")


def test_a_required_need_that_is_missing_fails_instead() -> None:
    env = {"PHOENIX_REQUIRE": "podman, quadlet,root"}
    assert needs.verdict(["quadlet"], env, lacking("quadlet")) == (
        "fail", "no quadlet binary (PHOENIX_REQUIRE names quadlet)")
    assert needs.verdict(["root"], {"PHOENIX_REQUIRE": "podman"}, lacking("root")) == (
        "skip", "needs root")  # required is only what is named


def test_a_test_runs_when_the_host_has_what_it_needs_or_needs_nothing() -> None:
    env = {"PHOENIX_REQUIRE": "podman,quadlet,root"}
    assert needs.verdict(["podman", "quadlet"], env, lacking()) is None
    assert needs.verdict(["slow", "parametrize"], env, lacking("podman", "quadlet",
                                                               "root")) is None


def test_phoenix_skip_podman_leaves_the_podman_tests_out_even_where_podman_is() -> None:
    env = {"PHOENIX_SKIP_PODMAN": "1", "PHOENIX_REQUIRE": "podman"}
    assert needs.verdict(["podman"], env, lacking()) == ("skip", "PHOENIX_SKIP_PODMAN=1")


def test_an_unknown_need_in_phoenix_require_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="PHOENIX_REQUIRE=podmn: the known needs are podman"):
        needs.verdict(["podman"], {"PHOENIX_REQUIRE": "podmn"}, lacking())


def test_every_need_is_a_registered_marker(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert set(needs.NEEDS) <= registered


def test_the_haproxy_need_names_where_it_looked(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path) -> None:
    monkeypatch.setenv("PHOENIX_HAPROXY", str(tmp_path / "haproxy"))
    assert "PHOENIX_HAPROXY" in needs.NEEDS["haproxy"]()
    (tmp_path / "haproxy").write_text("#!/bin/sh\n")
    assert needs.NEEDS["haproxy"]() is None
