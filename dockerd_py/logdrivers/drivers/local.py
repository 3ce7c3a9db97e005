"""local: dockerd's `local` driver takes json-file's size options; here its
files are kept in the CRI format conmon writes (not Docker's protobuf one)."""
from __future__ import annotations

from .k8s_file import K8sFileDriver


class LocalDriver(K8sFileDriver):
    name = "local"
