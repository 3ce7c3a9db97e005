"""docker-py: a Docker-style command line for dockerd-py (or any Engine API)."""
from shared.api import PRODUCT_VERSION

# `docker-py --version`: printed by main's fast lane and by the click tree alike.
VERSION_LINE = f"docker-py version {PRODUCT_VERSION}, build dockerd-py"
