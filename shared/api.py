"""Constants of the Docker Engine API that both sides agree on."""

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
# The Docker release whose API we serve; tools compare it numerically.
ENGINE_VERSION = "25.0.0"
PRODUCT_VERSION = "0.1.0"
DEFAULT_HOST = "unix:///run/dockerd-py.sock"

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def version_tuple(text: str) -> tuple[int, ...]:
    """`1.44` -> (1, 44); raise ValueError on anything else."""
    parts = text.split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"invalid version {text!r}")
    return tuple(int(p) for p in parts)


def version_at_least(version: str, minimum: str) -> bool:
    return version_tuple(version) >= version_tuple(minimum)
