"""dockerd-py: a Docker Engine-compatible container engine."""
