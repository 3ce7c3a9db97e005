"""docker-py: a Docker-style command line for dockerd-py (or any Engine API)."""
