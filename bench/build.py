"""The build suite of bench.py: the classic builder on a five-step Dockerfile with
a 1 MB context, cold (nocache) and fully cached, and a 100 MB context sent and
unpacked, each beside another daemon (dockerd) with --baseline-host.

    python3 bench/bench.py build --host unix:///run/dockerd-py.sock \
        [--baseline-host unix:///var/run/docker.sock] [--image busybox:latest]
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Callable

DOCKERFILE = """\
FROM {image}
COPY data /data
RUN cat /data/* > /dev/null && echo done > /done
ENV BENCH=1
CMD ["sh"]
"""


def _context(image: str, size: int, files: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dockerfile = DOCKERFILE.format(image=image).encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        for n in range(files):
            data = os.urandom(size // files)
            info = tarfile.TarInfo(f"data/file{n}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _build(api, body: bytes, query: str) -> str:  # type: ignore[no-untyped-def]
    resp = api.call("POST", f"/build?rm=1&{query}", body,
                    {"Content-Type": "application/x-tar"})
    image = ""
    for line in resp.read().splitlines():
        doc = json.loads(line)
        if doc.get("error"):
            raise SystemExit(f"bench: build failed: {doc['error']}")
        if isinstance(doc.get("aux"), dict):
            image = doc["aux"].get("ID", image)
    return image


def _best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _timings(api, image: str, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    small = _context(image, 1 << 20, 8)
    big = _context(image, 100 << 20, 25)
    tag = f"bench/build:{os.getpid()}"
    _build(api, small, f"t={tag}")                      # warm the base image
    cold = _best(runs, lambda: _build(api, small, f"t={tag}&nocache=1"))
    cached = _best(max(runs, 5), lambda: _build(api, small, f"t={tag}"))
    sent = _best(runs, lambda: _build(api, big, f"t={tag}-big&nocache=1"))
    for name in (tag, f"{tag}-big"):
        api.call("DELETE", f"/images/{name}?force=1").read()
    api.call("POST", "/build/prune").read()
    return {"cold_s": cold, "cached_s": cached, "context100_s": sent}


def bench_build(api, baseline, image: str, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    ours = _timings(api, image, runs)
    results = {"build_cold_s": ours["cold_s"], "build_cached_s": ours["cached_s"],
               "build_context100MB_s": ours["context100_s"]}
    if baseline is not None:
        theirs = _timings(baseline, image, runs)
        results.update({"baseline_cold_s": theirs["cold_s"],
                        "baseline_cached_s": theirs["cached_s"],
                        "baseline_context100MB_s": theirs["context100_s"],
                        "cold_vs_baseline": theirs["cold_s"] / ours["cold_s"],
                        "cached_vs_baseline": theirs["cached_s"] / ours["cached_s"],
                        "context_vs_baseline": theirs["context100_s"] / ours["context100_s"]})
    return results
