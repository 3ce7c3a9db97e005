#!/usr/bin/env python3
"""Benchmarks of dockerd-py (or any Engine API daemon), each beside a baseline
measured in the same run, reported as rates and ratios, never as pass/fail.

    python3 bench/bench.py images --host unix:///run/dockerd-py.sock [--size-mb 100]

images: `docker load` and `docker save` of a generated multi-layer image and
`docker import` of a rootfs tar, beside a plain `tar -x` / `tar -c` of the same
bytes on the same disk (the floor).
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Iterator


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

    def call(self, method: str, url: str, body: object = None,
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
        for path, diff in zip(layer_paths, diff_ids):
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
def bench_images(api: API, size_mb: int, runs: int) -> dict[str, float]:
    work = tempfile.mkdtemp(prefix="dpy-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    name = f"bench/image:{os.getpid()}"
    results: dict[str, float] = {}
    try:
        archive, layers = make_archive(work, size_mb, 5, name)
        nbytes = os.path.getsize(archive)
        mb = nbytes / 1e6

        def load() -> None:
            api.call("POST", "/images/load?quiet=1", chunks(archive),
                     {"Content-Type": "application/x-tar"}).read()

        def remove() -> None:
            api.call("DELETE", f"/images/{name}").read()

        def save() -> None:
            resp = api.call("GET", f"/images/{name}/get")
            with open(os.path.join(work, "saved.tar"), "wb") as f:
                while True:
                    data = resp.read(1 << 20)
                    if not data:
                        break
                    f.write(data)
                f.flush()
                os.fsync(f.fileno())

        load_times = []
        for _ in range(runs):
            drop_caches()
            load_times.append(timed(load))
            if _ < runs - 1:
                remove()
        save_time = best_of(runs, save)
        saved_size = os.path.getsize(os.path.join(work, "saved.tar"))
        remove()

        target = os.path.join(work, "x")

        def tar_x() -> None:
            shutil.rmtree(target, ignore_errors=True)
            os.mkdir(target)
            for layer in layers:
                subprocess.run(["tar", "-xf", layer, "-C", target], check=True)
            subprocess.run(["sync", "-f", target])

        def tar_c() -> None:
            out = os.path.join(work, "floor.tar")
            subprocess.run(["tar", "-cf", out, "-C", target, "."], check=True)
            with open(out, "rb") as f:
                os.fsync(f.fileno())

        tar_x_time = best_of(runs, tar_x)
        tar_c_time = best_of(runs, tar_c)

        rootfs = layers[0]
        import_mb = os.path.getsize(rootfs) / 1e6

        def do_import() -> None:
            resp = api.call("POST", "/images/create?fromSrc=-&repo=bench/import&tag=1",
                            chunks(rootfs), {"Content-Type": "application/x-tar"})
            resp.read()

        import_time = best_of(runs, lambda: (do_import(), api.call(
            "DELETE", "/images/bench/import:1").read()))
        import_floor = best_of(runs, lambda: (shutil.rmtree(target, ignore_errors=True),
                                              os.mkdir(target),
                                              subprocess.run(["tar", "-xf", rootfs, "-C", target],
                                                             check=True)))
        results = {
            "image_mb": mb, "load_MBps": mb / min(load_times), "save_MBps": saved_size / 1e6 / save_time,
            "tar_x_MBps": mb / tar_x_time, "tar_c_MBps": mb / tar_c_time,
            "import_MBps": import_mb / import_time, "import_floor_MBps": import_mb / import_floor,
        }
        results["load_vs_tar_x"] = results["load_MBps"] / results["tar_x_MBps"]
        results["save_vs_tar_c"] = results["save_MBps"] / results["tar_c_MBps"]
        results["import_vs_tar_x"] = results["import_MBps"] / results["import_floor_MBps"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def report(title: str, results: dict[str, float]) -> None:
    print(f"== {title}")
    for key, value in results.items():
        print(f"{key:>24}: {value:10.2f}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["images"])
    parser.add_argument("--host", default=os.environ.get("DOCKER_HOST",
                                                         "unix:///run/dockerd-py.sock"))
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    api = API(args.host)
    results = bench_images(api, args.size_mb, args.runs)
    if args.json:
        print(json.dumps(results))
    else:
        report(f"images against {args.host}", results)


if __name__ == "__main__":
    main()
