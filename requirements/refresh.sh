#!/usr/bin/env bash
# Rewrites requirements/lock.txt: the newest releases that satisfy pyproject.toml, with the extras
# test, dask and boundaries, for CPython 3.11 on Linux. Run it, then `bash .ci/run` (which installs
# exactly these pins into a fresh environment) and commit the lock only if that is green.
# Needs uv (`pip install uv`); set UV=/path/to/uv to use another one.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
tmp=$(mktemp requirements/.lock.XXXXXX)
trap 'rm -f "$tmp"' EXIT
{
  echo "# Pinned, tested versions of every dependency of lifecircle (extras test, dask, boundaries),"
  echo "# CPython 3.11 on Linux. \`bash .ci/run\` installs exactly these into a fresh environment and"
  echo "# the README's install uses them as constraints: pip install -c requirements/lock.txt -e ."
  echo "# Refresh with:  bash requirements/refresh.sh   (then bash .ci/run; commit only if green)"
  echo "# which runs:    uv pip compile pyproject.toml --extra test --extra dask --extra boundaries"
  echo "#                  --python-version 3.11 --python-platform linux --no-header"
  "$UV" pip compile pyproject.toml --extra test --extra dask --extra boundaries \
    --python-version 3.11 --python-platform linux --no-header --quiet
} >"$tmp"
chmod 644 "$tmp" && mv "$tmp" requirements/lock.txt
trap - EXIT
echo "requirements/lock.txt: $(grep -c '==' requirements/lock.txt) pins"
