"""What the benchmarks share: a client for the Engine API on a Unix socket, test
layers and archives, and the timing helpers. bench.py, cli.py and volumes.py all
import it (it imports none of them)."""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import tarfile
import time
from collections.abc import Iterator
from typing import Any


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 600) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class API:
    def __init__(self, host: str) -> None:
        if not host.startswith("unix://"):
            raise SystemExit("bench: only unix:// hosts are supported")
        self.path = host[len("unix://"):]

    def call(self, method: str, url: str, body: Any = None,
             headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        conn = UnixHTTP(self.path)
        conn.request(method, url, body=body, headers=headers or {},
                     encode_chunked=body is not None and not isinstance(body, (bytes, str)))
        resp = conn.getresponse()
        if resp.status >= 400:
            raise SystemExit(f"bench: {method} {url}: {resp.status} {resp.read()[:300]!r}")
        return resp

    def json(self, method: str, url: str, body: object = None) -> object:
        data = self.call(method, url, json.dumps(body).encode() if body is not None else None,
                         {"Content-Type": "application/json"} if body is not None else None).read()
        return json.loads(data) if data.strip() else None


# -- test data ---------------------------------------------------------------------


def make_layer(path: str, size: int, seed: int) -> None:
    """A layer tar of about `size` bytes: files from 4 KiB to 4 MiB, incompressible,
    in a few directories (so that extraction costs what real layers cost)."""
    rnd = hashlib.sha256(str(seed).encode()).digest()
    sizes = [4096, 32 * 1024, 256 * 1024, 1 << 20, 4 << 20]
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        total, i = 0, 0
        while total < size:
            fsize = sizes[i % len(sizes)]
            data = (rnd * (fsize // len(rnd) + 1))[:fsize]
            data = hashlib.sha512(data[:64] + i.to_bytes(4, "big")).digest() * (fsize // 64)
            info = tarfile.TarInfo(f"layer{seed}/dir{i % 17}/file{i}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
            total += len(data)
            i += 1


def make_archive(workdir: str, total_mb: int, layers: int, name: str) -> tuple[str, list[str]]:
    """A docker-archive of a `layers`-layer image of `total_mb` MB."""
    layer_paths = []
    diff_ids = []
    for n in range(layers):
        path = os.path.join(workdir, f"layer{n}.tar")
        make_layer(path, total_mb * (1 << 20) // layers, n)
        layer_paths.append(path)
        with open(path, "rb") as f:
            diff_ids.append("sha256:" + hashlib.file_digest(f, "sha256").hexdigest())
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "created": "2024-01-01T00:00:00Z",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    archive = os.path.join(workdir, "image.tar")
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path, diff in zip(layer_paths, diff_ids, strict=True):
            tar.add(path, f"blobs/sha256/{diff[7:]}")
        info = tarfile.TarInfo(f"blobs/sha256/{config_hex}")
        info.size = len(config)
        tar.addfile(info, io.BytesIO(config))
        manifest = json.dumps([{"Config": f"blobs/sha256/{config_hex}", "RepoTags": [name],
                                "Layers": [f"blobs/sha256/{d[7:]}" for d in diff_ids]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    return archive, layer_paths


def chunks(path: str, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            data = f.read(size)
            if not data:
                return
            yield data


def drop_caches() -> None:
    subprocess.run(["sync"])


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    return min(timed(fn) for _ in range(runs))


# -- images -------------------------------------------------------------------------


def run_rm(api: API, image: str, network: str | None) -> None:
    """`docker run --rm image true` as the CLI does it: create, wait for removal
    (asked before the start), start, read the wait's answer."""
    hc: dict[str, object] = {"AutoRemove": True}
    if network:
        hc["NetworkMode"] = network
    cid = api.json("POST", "/containers/create", {"Image": image, "Cmd": ["true"],
                                                  "HostConfig": hc})["Id"]  # type: ignore[index]
    waiter = UnixHTTP(api.path)
    waiter.request("POST", f"/containers/{cid}/wait?condition=removed")
    api.call("POST", f"/containers/{cid}/start").read()
    answer = json.loads(waiter.getresponse().read())
    waiter.close()
    if answer.get("StatusCode") != 0:
        raise SystemExit(f"bench: run --rm {image} true: {answer}")


def latencies(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm up: caches, first-use paths
    return sorted(timed(fn) for _ in range(runs))


def create_rm_ms(runs: int, create, remove) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median milliseconds of create(i) and of remove(what create returned)."""
    creates, removes = [], []
    for i in range(runs):
        start = time.perf_counter()
        made = create(i)
        creates.append(time.perf_counter() - start)
        start = time.perf_counter()
        remove(made)
        removes.append(time.perf_counter() - start)
    return statistics.median(creates) * 1000, statistics.median(removes) * 1000
