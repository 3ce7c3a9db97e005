"""json-file, Docker's default: the log at Docker's path (`<id>-json.log`) with
Docker's options and rotation. conmon writes the lines, in the CRI format (it
has no writer for Docker's JSON lines); `docker logs` reads them the same way."""
from __future__ import annotations

from .k8s_file import K8sFileDriver


class JsonFileDriver(K8sFileDriver):
    name = "json-file"


class LocalDriver(K8sFileDriver):
    """dockerd's `local` driver takes the same options; kept in the same format."""
    name = "local"
