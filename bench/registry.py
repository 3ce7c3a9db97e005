"""The registry suite of bench.py: push and pull of a generated ~100 MB
four-layer image through a Debian `docker-registry` on loopback.

    python3 bench/bench.py registry --host unix:///run/dockerd-py.sock \
        [--baseline-host unix:///var/run/docker.sock] [--size-mb 100]

Beside it in the same run: the floor (each layer blob fetched over HTTP and
unpacked by `tar -xz`, one after the other) and, with --baseline-host, another
daemon (dockerd) pulling and pushing the same image from the same registry.
The daemon's peak RSS growth during a pull shows that layers are streamed.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRegistry:
    def __init__(self, work: str) -> None:
        self.port = _free_port()
        self.root = tempfile.mkdtemp(prefix="registry-", dir=work)
        config = os.path.join(self.root, "config.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.root}/data\nhttp:\n  addr: 127.0.0.1:{self.port}\n")
        self.proc = subprocess.Popen([REGISTRY, "serve", config], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("bench: docker-registry did not start")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _stream(api, method: str, url: str) -> None:  # type: ignore[no-untyped-def]
    resp = api.call(method, url, headers={"X-Registry-Auth": "e30="})  # {} (older dockerds want it)
    for line in resp.read().splitlines():
        if b'"error"' in line:
            raise SystemExit(f"bench: {method} {url}: {line[:300]!r}")


def _peak_rss(pid: int, fn: Callable[[], None]) -> tuple[float, float]:
    """(seconds, peak RSS growth in MB of pid and its threads) while fn runs."""
    def rss() -> float:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0
    base, peak, done = rss(), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.02)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    done.set()
    thread.join()
    return elapsed, max(0.0, peak[0] - base)


def _daemon_pid(api) -> int:  # type: ignore[no-untyped-def]
    out = subprocess.run(["ss", "-xlpn"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f" {api.path} " in line and "pid=" in line:
            return int(line.split("pid=")[1].split(",")[0])
    raise SystemExit(f"bench: cannot find the daemon listening on {api.path}")


def _timings(api, archive: str, name: str, reg: LocalRegistry, repo: str,  # type: ignore[no-untyped-def]
             runs: int, chunks: Callable) -> dict[str, float]:
    """Load, push (to a registry that has none of the blobs), then pull `runs`
    times with nothing of the image left in the daemon."""
    api.call("POST", "/images/load?quiet=1", chunks(archive),
             {"Content-Type": "application/x-tar"}).read()
    target = f"{reg.host}/{repo}"
    api.call("POST", f"/images/{name}/tag?repo={target}&tag=1").read()
    start = time.perf_counter()
    _stream(api, "POST", f"/images/{target}/push?tag=1")
    push = time.perf_counter() - start
    api.call("DELETE", f"/images/{name}").read()
    pid = _daemon_pid(api)
    pulls, peaks = [], []
    for _ in range(runs):
        api.call("DELETE", f"/images/{target}:1?force=1").read()
        subprocess.run(["sync"])
        elapsed, peak = _peak_rss(pid, lambda: _stream(
            api, "POST", f"/images/create?fromImage={target}&tag=1"))
        pulls.append(elapsed)
        peaks.append(peak)
    api.call("DELETE", f"/images/{target}:1?force=1").read()
    return {"push_s": push, "pull_s": min(pulls), "pull_peak_rss_MB": max(peaks)}


def _floor(reg: LocalRegistry, repo: str, work: str) -> float:
    """Fetch each layer blob and unpack it with tar, in order."""
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    req = urllib.request.Request(f"http://{reg.host}/v2/{repo}/manifests/1",
                                 headers={"Accept": accept})
    manifest = json.load(urllib.request.urlopen(req))
    target = os.path.join(work, "floor")
    shutil.rmtree(target, ignore_errors=True)
    os.mkdir(target)
    start = time.perf_counter()
    for layer in manifest["layers"]:
        url = f"http://{reg.host}/v2/{repo}/blobs/{layer['digest']}"
        curl = subprocess.Popen(["curl", "-sf", url], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-xzf", "-", "-C", target], stdin=curl.stdout, check=True)
        curl.wait()
    subprocess.run(["sync", "-f", target])
    return time.perf_counter() - start


def bench_registry(api, baseline, size_mb: int, runs: int,  # type: ignore[no-untyped-def]
                   make_archive: Callable, chunks: Callable) -> dict[str, float]:
    work = tempfile.mkdtemp(prefix="dpy-bench-reg-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    reg = None
    name = f"bench/pull:{os.getpid()}"
    try:
        archive, layers = make_archive(work, size_mb, 4, name)
        reg = LocalRegistry(work)
        ours = _timings(api, archive, name, reg, "bench/ours", runs, chunks)
        compressed = sum(os.path.getsize(p) for p in layers)  # an upper bound of the blobs
        mb = compressed / 1e6
        results = {"image_mb": mb, "pull_MBps": mb / ours["pull_s"],
                   "push_MBps": mb / ours["push_s"], "pull_peak_rss_MB": ours["pull_peak_rss_MB"]}
        floor = min(_floor(reg, "bench/ours", work) for _ in range(runs))
        results["floor_MBps"] = mb / floor
        results["pull_vs_floor"] = results["pull_MBps"] / results["floor_MBps"]
        if baseline is not None:
            own = LocalRegistry(work)   # a registry of its own: no blob is there yet
            try:
                theirs = _timings(baseline, archive, name, own, "bench/baseline", runs, chunks)
            finally:
                own.stop()
            results["baseline_pull_MBps"] = mb / theirs["pull_s"]
            results["baseline_push_MBps"] = mb / theirs["push_s"]
            results["baseline_pull_peak_rss_MB"] = theirs["pull_peak_rss_MB"]
            results["pull_vs_baseline"] = results["pull_MBps"] / results["baseline_pull_MBps"]
            results["push_vs_baseline"] = results["push_MBps"] / results["baseline_push_MBps"]
    finally:
        if reg is not None:
            reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results
