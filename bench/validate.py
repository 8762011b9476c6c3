"""Benchmark: `inv config.validate` against `podman-compose config` (which validates nothing).

Runs interleaved, reports medians and the ratio to podman-compose in the same run:
  python bench/validate.py [--rounds N]
Stacks: the real Phoenix stack (prod), generated stacks of 10, 50 and 200 services, and the
200-service one with every service extending a base from another file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import REPO, interleaved, table, tool


def generated_stack(root: Path, services: int) -> Path:
    """``services`` services in three files: base, an overlay template and env vars."""
    (root / "compose").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "envs").mkdir()
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    lines = ["networks:\n  back: {internal: true}\nvolumes:\n"]
    lines += [f"  data{i}: {{}}\n" for i in range(services)]
    lines.append("services:\n")
    for i in range(services):
        dep = f"    depends_on: {{s{i - 1}: {{condition: service_healthy}}}}\n" if i % 10 else ""
        lines.append(
            f"  s{i}:\n    image: ${{IMAGE:-localhost/bench}}:{i}\n"
            f"    environment: [INDEX={i}, 'MODE=${{MODE:-fast}}']\n"
            f"    ports: ['127.0.0.1:{20000 + i}:80']\n"
            f"    volumes: ['data{i}:/data']\n    networks: [back]\n{dep}"
            "    healthcheck: {test: [CMD, 'true'], interval: 10s, retries: 3}\n")
    (root / "compose" / "00-base.yaml").write_text("".join(lines))
    (root / "templates" / "10-limits.yaml.j2").write_text(
        f"services:\n{{% for i in range({services}) %}}\n  s{{{{ i }}}}:\n"
        "    restart: unless-stopped\n    labels: {tier: '{{ env }}'}\n{% endfor %}\n")
    (root / "envs" / "bench.env").write_text("MODE=bench\n")
    return root


def extends_stack(root: Path, services: int) -> Path:
    """The generated stack, but every service ``extends`` a base from another file."""
    generated_stack(root, services)
    (root / "compose" / "base").mkdir()
    (root / "compose" / "base" / "common.yaml").write_text(
        "services:\n  base:\n    restart: unless-stopped\n    environment: {TIER: bench}\n"
        "    healthcheck: {test: [CMD, 'true'], interval: 10s, retries: 3}\n"
        "    labels: {owner: phoenix}\n")
    text = (root / "compose" / "00-base.yaml").read_text()
    text = text.replace("    networks: [back]\n", "    networks: [back]\n"
                        "    extends: {file: base/common.yaml, service: base}\n")
    (root / "compose" / "00-base.yaml").write_text(text)
    return root


def measure(root: Path, env: str, rounds: int) -> dict[str, float]:
    inv = [tool("inv"), "config.validate", "--env", env]
    compose = root / ".phoenix" / env / "compose.yaml"
    return interleaved({
        "cold": (inv + ["--no-cache"], root),
        "cached": (inv, root),
        "podman-compose": ([tool("podman-compose"), "-f", str(compose), "config"], root),
    }, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    rows = [("stack", "services", "inv validate cold", "inv validate cached",
             "podman-compose config", "cold / peer", "cached / peer")]
    with tempfile.TemporaryDirectory() as tmp:
        stacks = [("phoenix prod", "prod", _copy_phoenix(Path(tmp) / "phoenix"), 5)]
        for n in (10, 50, 200):
            stacks.append(("generated", "bench", generated_stack(Path(tmp) / f"g{n}", n), n))
        stacks.append(("with extends", "bench", extends_stack(Path(tmp) / "e200", 200), 200))
        for label, env, root, count in stacks:
            shutil.rmtree(root / ".phoenix", ignore_errors=True)
            subprocess.run([tool("inv"), "config.validate", "--env", env], cwd=root, check=True,
                           capture_output=True)
            m = measure(root, env, args.rounds)
            peer = m["podman-compose"]
            rows.append((label, str(count), f"{m['cold'] * 1000:.0f} ms",
                         f"{m['cached'] * 1000:.0f} ms", f"{peer * 1000:.0f} ms",
                         f"{m['cold'] / peer:.2f}x", f"{m['cached'] / peer:.2f}x"))
    print(table(rows))


def _copy_phoenix(root: Path) -> Path:
    for name in ("compose", "templates", "envs", "images"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    return root


if __name__ == "__main__":
    main()
