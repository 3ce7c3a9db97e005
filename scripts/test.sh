#!/usr/bin/env bash
# Run the whole test suite (unit and integration) as root, from the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /opt/dockerd-py/bin/python -m pytest -q -p no:cacheprovider "${@:-tests}"
