"""Image references by distribution/reference's grammar: what registries, docker and podman
accept passes, and nothing that could be read as an option (or a line) does."""

from __future__ import annotations

import pytest

from phoenix_compose.config.reference import digest_pin, reference_problem

HEX = "0123456789abcdef" * 4

VALID = [
    "busybox", "busybox:1", "postgres:15.8", "docker.io/library/postgres:15.8",
    "localhost/x:dev", "localhost:5000/x", "registry:5000/x", "127.0.0.1:5000/phoenix/app:v1",
    f"ghcr.io/a/b@sha256:{HEX}", f"ghcr.io/a/b:1.2@sha256:{HEX}",
    f"127.0.0.1:5000/phoenix/revenue-db@sha256:{HEX}", "[::1]:5000/x", "[2001:db8::1]/x:y",
    "quay.io/prometheus/node-exporter:v1.8.2", "mcr.microsoft.com/dotnet/sdk:8.0",
    "Registry.Example.COM/team/app", "a/b__c/d-e.f:TAG_1.0-rc", "x" * 255,
    "a:" + "t" * 128, "registry.example:5000/x/y/z",
    f"x@sha512:{HEX * 2}",
]

INVALID = [
    "", "--privileged", f"--mount=type=bind,source=/,target=/h@sha256:{HEX}", "-x",
    "busybox:", ":1", "busybox@", "Busybox:1", "team/App", "a//b", "a/", "/a", "a b",
    "busybox:1\n[Service]", "a:-tag", "a:" + "t" * 129, "x" * 256, "a..b", "a_-b",
    f"x@sha256:{HEX[:-1]}", f"x@sha256:{HEX.upper()}", f"x@md5:{HEX}", "x@sha256:abc",
    "x:1:2", "http://registry/x", "a:1 --privileged", "[::1/x", "ünicode:1", "a:tägé",
]


@pytest.mark.parametrize("image", VALID)
def test_real_world_references_are_valid(image: str) -> None:
    assert reference_problem(image) is None


@pytest.mark.parametrize("image", INVALID)
def test_anything_else_is_refused(image: str) -> None:
    assert reference_problem(image) is not None


def test_the_reason_says_what_is_wrong() -> None:
    assert reference_problem("Busybox:1") == "the repository must be lowercase"
    assert reference_problem("x" * 256) == "its name is longer than 255 characters"
    assert reference_problem(f"x@md5:{HEX}") == \
        "its digest algorithm 'md5' is not one of sha256, sha384, sha512"
    assert reference_problem(f"x@sha256:{HEX[:40]}") == \
        "its sha256 digest must be 64 lowercase hexadecimal digits"


def test_a_digest_pin_is_a_valid_reference_with_a_sha256_digest() -> None:
    assert digest_pin(f"127.0.0.1:5000/phoenix/app@sha256:{HEX}")
    assert digest_pin(f"app:1@sha256:{HEX}")
    assert not digest_pin("app:1")
    assert not digest_pin(f"--mount=x@sha256:{HEX}")
    assert not digest_pin(f"app@sha512:{HEX * 2}")
