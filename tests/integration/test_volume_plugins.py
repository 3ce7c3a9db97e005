"""A volume plugin speaking Docker's volume plugin protocol (the tests' own small
plugin, as Docker's tests have one: no packaged plugin runs here), found by its
socket in a plugin directory, used by the Docker CLI and the SDK."""
from __future__ import annotations

import json
import os
import shutil
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import docker
import pytest

from .conftest import busybox_daemon
from .daemonctl import DOCKER_CLI, Daemon


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class VolumePlugin:
    """Keeps each volume as a directory under its root; records every call."""

    def __init__(self, socket_path: Path, root: Path) -> None:
        self.root = root
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.volumes: dict[str, dict[str, Any]] = {}
        plugin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def address_string(self) -> str:
                return "plugin-client"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = plugin.handle(self.path.lstrip("/"), body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _UnixHTTPServer(str(socket_path), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, body))
        name = body.get("Name", "")
        path = str(self.root / name)
        if method == "Plugin.Activate":
            return {"Implements": ["VolumeDriver"]}
        if method == "VolumeDriver.Create":
            if body.get("Opts", {}).get("fail"):
                return {"Err": "the plugin refuses: " + body["Opts"]["fail"]}
            os.makedirs(path, exist_ok=True)
            self.volumes[name] = {"mounts": set()}
            return {"Err": ""}
        if name not in self.volumes and method != "VolumeDriver.List":
            return {"Err": f"no such volume {name}"}
        if method == "VolumeDriver.Remove":
            if self.volumes[name]["mounts"]:
                return {"Err": "volume in use"}
            shutil.rmtree(path)
            del self.volumes[name]
            return {"Err": ""}
        if method in ("VolumeDriver.Path", "VolumeDriver.Get"):
            return {"Mountpoint": path, "Volume": {"Name": name, "Mountpoint": path},
                    "Err": ""}
        if method == "VolumeDriver.Mount":
            self.volumes[name]["mounts"].add(body["ID"])
            return {"Mountpoint": path, "Err": ""}
        if method == "VolumeDriver.Unmount":
            self.volumes[name]["mounts"].discard(body["ID"])
            return {"Err": ""}
        if method == "VolumeDriver.List":
            return {"Volumes": [{"Name": n} for n in self.volumes], "Err": ""}
        return {"Err": f"unknown method {method}"}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


@pytest.fixture
def plugin_daemon(workdir, rootfs_tar) -> Iterator[tuple[Daemon, VolumePlugin]]:  # type: ignore[no-untyped-def]
    base = Path(tempfile.mkdtemp(prefix="plugins-", dir=workdir))
    (base / "plugins").mkdir()
    (base / "data").mkdir()
    plugin = VolumePlugin(base / "plugins" / "dpytest.sock", base / "data")
    try:
        with busybox_daemon(workdir, rootfs_tar, "plugins",
                            extra_args=["--plugin-dir", str(base / "plugins")]) as d:
            yield d, plugin
    finally:
        plugin.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_volume_plugin_serves_volumes(plugin_daemon):
    d, plugin = plugin_daemon
    api = d.api()
    vol = api.create_volume("plugged", driver="dpytest", driver_opts={"size": "1g"})
    assert vol["Driver"] == "dpytest"
    assert vol["Mountpoint"] == str(plugin.root / "plugged")
    assert ("VolumeDriver.Create", {"Name": "plugged", "Opts": {"size": "1g"}}) in plugin.calls
    assert plugin.methods()[0] == "Plugin.Activate"
    out = (d.docker if os.path.exists(DOCKER_CLI) else d.docker_py)(
        "run", "--rm", "-v", "plugged:/data", "busybox", "sh", "-c", "echo from-container > /data/f")
    assert out.returncode == 0, out.stderr
    assert (plugin.root / "plugged" / "f").read_text() == "from-container\n"
    mounts = [b["ID"] for m, b in plugin.calls if m == "VolumeDriver.Mount"]
    unmounts = [b["ID"] for m, b in plugin.calls if m == "VolumeDriver.Unmount"]
    assert mounts and mounts == unmounts              # each mount given back
    assert "dpytest" in api.info()["Plugins"]["Volume"]
    assert [v["Name"] for v in api.volumes(filters={"driver": "dpytest"})["Volumes"]] == \
        ["plugged"]
    with pytest.raises(docker.errors.APIError) as err:
        api.create_volume("refused", driver="dpytest", driver_opts={"fail": "no room"})
    assert err.value.status_code == 400 and "the plugin refuses: no room" in \
        err.value.explanation
    api.remove_volume("plugged")
    assert not (plugin.root / "plugged").exists()
    with pytest.raises(docker.errors.NotFound) as err:
        api.create_volume("elsewhere", driver="nosuchplugin")
    assert err.value.explanation == ('error looking up volume plugin nosuchplugin: plugin '
                                     '"nosuchplugin" not found')

