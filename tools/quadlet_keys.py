"""Regenerate phoenix_compose/integrations/quadlet_keys.json: the keys each podman
release's Quadlet accepts in [Container], [Volume] and [Network], read from podman's own
source (pkg/systemd/quadlet: the ``supported*Keys`` maps and their ``Key*`` constants) at
the last patch tag of each minor release.

    python tools/quadlet_keys.py PODMAN_GIT_DIR \
        > phoenix_compose/integrations/quadlet_keys.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

TAGS = ["v4.4.4", "v4.5.1", "v4.6.2", "v4.7.2", "v4.8.3", "v4.9.5", "v5.0.3", "v5.1.2",
        "v5.2.5", "v5.3.2", "v5.4.2", "v5.5.2", "v5.6.2", "v5.7.1", "v5.8.2"]
GROUPS = {"Container": ("supportedContainerKeys", "ContainerGroup"),
          "Volume": ("supportedVolumeKeys", "VolumeGroup"),
          "Network": ("supportedNetworkKeys", "NetworkGroup")}


def source(repo: str, tag: str) -> str:
    files = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", tag,
                            "pkg/systemd/quadlet/"], check=True, capture_output=True,
                           text=True).stdout.split()
    return "\n".join(subprocess.run(["git", "-C", repo, "show", f"{tag}:{f}"], check=True,
                                    capture_output=True, text=True).stdout
                     for f in files if f.endswith(".go") and not f.endswith("_test.go"))


def keys(text: str) -> dict[str, list[str]]:
    consts = dict(re.findall(r"\b(Key\w+)\s*=\s*\"(\w+)\"", text))
    out = {}
    for group, (var, info) in GROUPS.items():  # a map before 5.6, a groupsInfo entry after
        body = re.search(var + r"\s*=\s*map\[string\]bool\{(.*?)\n\t\}", text, re.S) or \
            re.search(r"\n\t\t" + info + r":\s*\{.*?SupportedKeys:\s*map\[string\]bool\{(.*?)"
                      r"\n\t\t\t\}", text, re.S)
        if body is None:
            raise SystemExit(f"{var} not found")
        out[group] = sorted(consts[k] for k in re.findall(r"\b(Key\w+)\s*:", body.group(1)))
    return out


def main(repo: str) -> None:
    data = {"origin": "containers/podman pkg/systemd/quadlet, supported*Keys per tag "
                      "(tools/quadlet_keys.py)",
            "versions": {tag.lstrip("v"): keys(source(repo, tag)) for tag in TAGS}}
    json.dump(data, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
