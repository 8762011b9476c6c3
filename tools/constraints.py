"""Write constraints.txt: the exact versions of every package `pip install -e '.[test]'`
resolves on each Python given, merged, with a ``python_version`` marker where versions
differ (a pin that needs a newer Python than 3.10, say).  `./dev freeze` runs it with the
interpreters it finds; CI then installs exactly these.

    python tools/constraints.py /usr/bin/python3.10 /usr/bin/python3.11 ...
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def freeze(python: str) -> tuple[str, dict[str, str]]:
    """(X.Y, {name: version}) of a fresh venv of ``python`` with our test extra."""
    with tempfile.TemporaryDirectory(prefix="phoenix-freeze-") as tmp:
        subprocess.run([python, "-m", "venv", tmp], check=True)
        pip = [f"{tmp}/bin/python", "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True, cwd=tmp)
        version = subprocess.run([f"{tmp}/bin/python", "-c", "import sys; print("
                                  "f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        lines = subprocess.run([*pip, "freeze", "--exclude-editable"], check=True,
                               capture_output=True, text=True).stdout.splitlines()
    pins = dict(line.split("==", 1) for line in lines if "==" in line)
    return version, {k: v for k, v in pins.items()
                     if re.sub(r"[-_.]+", "-", k.lower()) != "phoenix-compose"}


def merge(frozen: dict[str, dict[str, str]]) -> list[str]:
    names = sorted({n for pins in frozen.values() for n in pins}, key=str.lower)
    out = []
    for name in names:
        versions = {py: pins.get(name) for py, pins in frozen.items()}
        if len(set(versions.values())) == 1:
            out.append(f"{name}=={next(iter(versions.values()))}")
            continue
        out += [f'{name}=={v}; python_version == "{py}"' for py, v in versions.items() if v]
    return out


def main(pythons: list[str]) -> None:
    frozen = dict(freeze(p) for p in pythons)
    header = ("# The exact versions CI tested (Python " + ", ".join(frozen) + "); written by "
              "./dev freeze (tools/constraints.py).\n")
    (ROOT / "constraints.txt").write_text(header + "\n".join(merge(frozen)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
