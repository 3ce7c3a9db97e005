#!/usr/bin/env bash
# Run the whole test suite as root, from the checkout: the lint (ruff) and the type
# check (mypy, configured in pyproject.toml) first, then the unit and integration
# tests. With arguments, only pytest runs, on what they name.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=/opt/dockerd-py/bin
if [ $# -eq 0 ]; then
    "$bin/ruff" check .
    "$bin/mypy"
fi
exec "$bin/python" -m pytest -q -p no:cacheprovider "${@:-tests}"
