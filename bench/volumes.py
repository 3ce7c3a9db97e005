"""The volumes suite of bench.py: volume create/remove and list, run --rm with
a named volume beside without, and copy-up into a new volume beside `cp -a`."""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from harness import API, UnixHTTP, chunks, create_rm_ms, drop_caches, latencies, make_layer, run_rm, timed


def bench_volumes(api: API, image: str, runs: int, size_mb: int) -> dict[str, float]:
    """Volume create/remove and list, run --rm with a named volume beside without,
    and copy-up of `size_mb` MB of the image into a new volume beside `cp -a`."""
    results: dict[str, float] = {}
    results["vol_create_ms"], results["vol_rm_ms"] = create_rm_ms(
        runs, lambda i: api.json("POST", "/volumes/create", {"Name": f"bench-vol-{i}"})["Name"],  # type: ignore[index]
        lambda name: api.call("DELETE", f"/volumes/{name}").read())
    names = [f"bench-many-{i}" for i in range(1000)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: api.json("POST", "/volumes/create", {"Name": n}), names))
    try:
        results["vol_list1000_ms"] = statistics.median(
            latencies(lambda: api.call("GET", "/volumes").read(), runs)) * 1000
    finally:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda n: api.call("DELETE", f"/volumes/{n}").read(), names))
    api.json("POST", "/volumes/create", {"Name": "bench-run"})
    plain = latencies(lambda: run_rm(api, image, "none"), runs)
    with_vol = latencies(lambda: run_rm_volume(api, image, "bench-run:/data"), runs)
    api.call("DELETE", "/volumes/bench-run").read()
    results["run_rm_ms"] = statistics.median(plain) * 1000
    results["run_rm_volume_ms"] = statistics.median(with_vol) * 1000
    results.update(copy_up(api, image, size_mb))
    return results


def run_rm_volume(api: API, image: str, bind: str) -> None:
    cid = api.json("POST", "/containers/create", {
        "Image": image, "Cmd": ["true"],
        "HostConfig": {"AutoRemove": True, "NetworkMode": "none", "Binds": [bind]}})["Id"]  # type: ignore[index]
    waiter = UnixHTTP(api.path)
    waiter.request("POST", f"/containers/{cid}/wait?condition=removed")
    api.call("POST", f"/containers/{cid}/start").read()
    waiter.getresponse().read()
    waiter.close()


def first_run_s(api: API, image: str, mount: dict) -> float:
    """Start to exit of `true` in a new container with the mount; the container and
    its volume are removed afterwards, outside the timing."""
    cid = api.json("POST", "/containers/create", {
        "Image": image, "Cmd": ["true"],
        "HostConfig": {"NetworkMode": "none", "Mounts": [mount]}})["Id"]  # type: ignore[index]
    try:
        waiter = UnixHTTP(api.path)
        waiter.request("POST", f"/containers/{cid}/wait?condition=next-exit")
        start = time.perf_counter()
        api.call("POST", f"/containers/{cid}/start").read()
        waiter.getresponse().read()
        elapsed = time.perf_counter() - start
        waiter.close()
        return elapsed
    finally:
        api.call("DELETE", f"/containers/{cid}?force=1&v=1").read()


def copy_up(api: API, image: str, size_mb: int) -> dict[str, float]:
    """An image with size_mb MB under /layer0 (docker cp into a container, commit),
    then the first run with a new volume there (copy-up) less the same run with
    a `volume-nocopy` one, beside `cp -a` of the same files. Removing the full
    volume afterwards is timed apart (`vol_rm_full_ms`)."""
    work = tempfile.mkdtemp(prefix="dpy-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    cid = api.json("POST", "/containers/create", {"Image": image, "Cmd": ["true"]})["Id"]  # type: ignore[index]
    try:
        tar = os.path.join(work, "big.tar")
        make_layer(tar, size_mb << 20, 0)
        api.call("PUT", f"/containers/{cid}/archive?path=/", chunks(tar),
                 headers={"Content-Type": "application/x-tar"}).read()
        api.json("POST", f"/commit?container={cid}&repo=bench-big&tag=1")
        subprocess.run(["tar", "-xf", tar, "-C", work], check=True)
        drop_caches()
        start = time.perf_counter()
        subprocess.run(["cp", "-a", os.path.join(work, "layer0"), os.path.join(work, "copy")],
                       check=True)
        cp_s = time.perf_counter() - start
        volume = {"Type": "volume", "Target": "/layer0"}
        nocopy = {**volume, "VolumeOptions": {"NoCopy": True}}
        ups, bases = [], []
        for _ in range(3):
            drop_caches()
            bases.append(first_run_s(api, "bench-big:1", nocopy))
            drop_caches()
            ups.append(first_run_s(api, "bench-big:1", volume))
        up_s = statistics.median(ups) - statistics.median(bases)
        api.json("POST", "/volumes/create", {"Name": "bench-full"})
        full = {"Type": "volume", "Source": "bench-full", "Target": "/layer0"}
        first_run_s(api, "bench-big:1", full)
        drop_caches()
        rm_s = timed(lambda: api.call("DELETE", "/volumes/bench-full").read())
        api.call("DELETE", "/images/bench-big:1?force=1").read()
        return {"copy_up_MBps": size_mb * 1.048576 / up_s, "cp_a_MBps": size_mb * 1.048576 / cp_s,
                "copy_up_vs_cp_a": cp_s / up_s, "vol_rm_full_ms": rm_s * 1000}
    finally:
        api.call("DELETE", f"/containers/{cid}?force=1").read()
        subprocess.run(["rm", "-rf", work])
