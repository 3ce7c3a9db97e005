"""Volume plugins: Docker's volume plugin protocol (HTTP POSTs of JSON to
/VolumeDriver.* on the plugin's socket), so the plugins people run with dockerd
(`docker volume create -d <plugin>`) work here too.

A plugin is found as Docker finds one: `<name>.sock` in the plugin directories
(/run/docker/plugins), or a `<name>.spec` / `<name>.json` file naming its address
(/etc/docker/plugins, /usr/lib/docker/plugins). Activation (`/Plugin.Activate`,
which must list `VolumeDriver`) happens at the first call, in a worker thread.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import threading
from typing import Any
from urllib.parse import urlparse

from .base import VolumeDriver, VolumeDriverError

PLUGIN_DIRS = ("/run/docker/plugins", "/etc/docker/plugins", "/usr/lib/docker/plugins")
CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"
TIMEOUT = 30.0


def find_plugin(name: str, dirs: list[str]) -> str | None:
    """The plugin's address (unix:///path or tcp://host:port), or None."""
    if not name or "/" in name or name.startswith("."):
        return None
    for directory in dirs:
        sock = os.path.join(directory, name + ".sock")
        if os.path.exists(sock):
            return "unix://" + sock
        for ext in (".spec", ".json"):
            path = os.path.join(directory, name + ext)
            if not os.path.isfile(path):
                continue
            with open(path) as f:
                text = f.read().strip()
            if ext == ".json":
                try:
                    text = str(json.loads(text).get("Addr") or "")
                except (ValueError, AttributeError):
                    text = ""
            if text:
                return text
    return None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("plugin", timeout=TIMEOUT)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(TIMEOUT)
        sock.connect(self._path)
        self.sock = sock


class PluginDriver(VolumeDriver):
    def __init__(self, name: str, address: str) -> None:
        super().__init__("")
        self.name = name
        self.address = address
        self._activated = False
        self._lock = threading.Lock()

    # -- the protocol ----------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        parsed = urlparse(self.address)
        if parsed.scheme == "unix":
            return _UnixConnection(parsed.path)
        if parsed.scheme in ("tcp", "http"):
            return http.client.HTTPConnection(parsed.hostname or "localhost", parsed.port or 80,
                                              timeout=TIMEOUT)
        raise VolumeDriverError(f"plugin {self.name}: unsupported address {self.address}")

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        conn = self._connection()
        try:
            conn.request("POST", "/" + method, body=json.dumps(body).encode(),
                         headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE})
            resp = conn.getresponse()
            data = resp.read(16 << 20)
        except OSError as exc:
            raise VolumeDriverError(f"error while calling {self.name}'s {method}: {exc}") \
                from None
        finally:
            conn.close()
        try:
            doc = json.loads(data) if data.strip() else {}
        except ValueError:
            raise VolumeDriverError(f"{self.name}'s {method} answered something that is not "
                                    "JSON") from None
        if not isinstance(doc, dict):
            raise VolumeDriverError(f"{self.name}'s {method} answered a non-object")
        if doc.get("Err"):
            raise VolumeDriverError(str(doc["Err"]))
        if resp.status >= 400:
            raise VolumeDriverError(f"{self.name}'s {method} failed with status {resp.status}")
        return doc

    def _ready(self) -> None:
        with self._lock:
            if self._activated:
                return
            implements = self._call("Plugin.Activate", {}).get("Implements") or []
            if "VolumeDriver" not in implements:
                raise VolumeDriverError(f"plugin {self.name} does not implement VolumeDriver "
                                        f"(it implements {', '.join(implements) or 'nothing'})")
            self._activated = True

    def _volume_call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self._ready()
        return self._call("VolumeDriver." + method, body)

    # -- the driver interface -------------------------------------------------------------
    def create(self, name: str, options: dict[str, str]) -> None:
        self._volume_call("Create", {"Name": name, "Opts": dict(options or {})})

    def remove(self, name: str) -> None:
        self._volume_call("Remove", {"Name": name})

    def path(self, name: str) -> str:
        return str(self._volume_call("Path", {"Name": name}).get("Mountpoint") or "")

    def mount(self, name: str, options: dict[str, str], user: str) -> str:
        point = str(self._volume_call("Mount", {"Name": name, "ID": user}).get("Mountpoint")
                    or "")
        if not point.startswith("/"):
            raise VolumeDriverError(f"{self.name} gave no absolute mount point for {name}")
        return point

    def unmount(self, name: str, options: dict[str, str], user: str) -> None:
        self._volume_call("Unmount", {"Name": name, "ID": user})

    def adopt(self, name: str, user: str) -> None:
        """The plugin keeps its own mount counts across our restarts."""

    def exists(self, name: str) -> bool:
        try:
            self._volume_call("Get", {"Name": name})
        except VolumeDriverError:
            return False
        return True
