"""Image references, by the grammar of distribution/reference (``regexp.go``), the one
docker, podman and the registries parse: ``[domain[:port]/]path[:tag][@digest]``.

An image is a positional argument of the ``podman run``/``create`` that podman-compose and
Quadlet build, after the options and without ``--``: a value such as
``--mount=type=bind,source=/,target=/h`` would be read as an option there.  The grammar
lets a reference start only with a letter, a digit or an IPv6 host's ``[``, so checking it
is what keeps an image from becoming a flag (or a line: it has no blank or control).
"""

from __future__ import annotations

import re

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = r"(?:" + _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*|" + _IPV6 + r")"
_DOMAIN = _HOST + r"(?::[0-9]+)?"
_NAME = r"(?:" + _DOMAIN + r"/)?" + _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
# re.ASCII: Go's \w is [0-9A-Za-z_], Python's would take any Unicode letter
REFERENCE = re.compile(r"(?P<name>" + _NAME + r")(?::(?P<tag>" + _TAG + r"))?"
                       r"(?:@(?P<digest>" + _DIGEST + r"))?", re.ASCII)
NAME_MAX = 255  # distribution's NameTotalLengthMax
# go-digest's algorithms and the length of their lowercase hex encodings
DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def reference_problem(image: str) -> str | None:
    """Why ``image`` is not an image reference, or None when it is one."""
    found = REFERENCE.fullmatch(image)
    if found is None:
        if REFERENCE.fullmatch(image.lower()) is not None:
            return "the repository must be lowercase"
        return "it is not an image reference ([registry[:port]/]name[:tag][@digest])"
    if len(found["name"]) > NAME_MAX:
        return f"its name is longer than {NAME_MAX} characters"
    return _digest_problem(found["digest"])


def _digest_problem(digest: str | None) -> str | None:
    if digest is None:
        return None
    algorithm, _, encoded = digest.partition(":")
    size = DIGEST_HEX.get(algorithm)
    if size is None:
        return f"its digest algorithm '{algorithm}' is not one of {', '.join(DIGEST_HEX)}"
    if len(encoded) != size or not re.fullmatch(r"[0-9a-f]+", encoded):
        return f"its {algorithm} digest must be {size} lowercase hexadecimal digits"
    return None


def digest_pin(image: str) -> bool:
    """A valid reference pinned by a sha256 digest (what ``images.promote`` writes)."""
    found = REFERENCE.fullmatch(image)
    return found is not None and reference_problem(image) is None and \
        (found["digest"] or "").startswith("sha256:")
