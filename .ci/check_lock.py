"""Compare what .ci/run installed with requirements/lock.txt.

Usage: ``uv pip freeze --exclude-editable | python .ci/check_lock.py LOCK LATEST``. With LATEST=0
(the pinned run) any package installed without a pin, or at another version, fails the run: the
lock no longer covers pyproject.toml and must be refreshed. With LATEST=1 (``.ci/run --latest``)
every difference is listed, so drift from the lock is seen before users see it.
"""

from __future__ import annotations

import re
import sys

# the installer and its helpers, not dependencies of lifecircle
TOOLS = {"uv", "pip", "setuptools", "wheel"}


def pins(lines) -> dict[str, str]:
    """Map normalised project name (PEP 503) to pinned version from ``name==version`` lines."""
    out = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==", 1)
            out[re.sub(r"[-_.]+", "-", name).lower()] = version.split(";")[0].strip()
    return out


def main() -> int:
    lock_path, latest = sys.argv[1], sys.argv[2] == "1"
    with open(lock_path, encoding="utf-8") as f:
        lock = pins(f)
    have = pins(sys.stdin)
    unpinned = sorted(set(have) - set(lock) - TOOLS)
    drift = sorted(n for n in have.keys() & lock.keys() if have[n] != lock[n])
    for name in drift:
        print(f"drift: {name} {have[name]} (lock {lock[name]})")
    for name in unpinned:
        print(f"not in {lock_path}: {name} {have[name]}")
    if latest:
        print(f"--latest: {len(drift)} of {len(lock)} pins differ from the newest releases, "
              f"{len(unpinned)} new packages")
        return 0
    if unpinned or drift:
        print(f"{lock_path} does not cover this install; refresh it: bash requirements/refresh.sh",
              file=sys.stderr)
        return 1
    print(f"install matches {lock_path}: {len(set(have) - TOOLS)} packages, all at their pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
