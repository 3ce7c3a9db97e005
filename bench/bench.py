#!/usr/bin/env python3
"""Benchmarks of dockerd-py (or any Engine API daemon), each beside a baseline
measured in the same run, reported as rates and ratios, never as pass/fail.

    python3 bench/bench.py images --host unix:///run/dockerd-py.sock [--size-mb 100]

images: `docker load` and `docker save` of a generated multi-layer image and
`docker import` of a rootfs tar, beside a plain `tar -x` / `tar -c` of the same
bytes on the same disk (the floor).

    python3 bench/bench.py containers --host unix:///run/dockerd-py.sock [--image busybox]

containers: `run --rm <image> true` (no network, and the default bridge) beside
`runc run` (and `crun run` where it runs) of a bundle of the same rootfs, 20
lifecycles in parallel, listing 200 containers, exec latency, logs throughput,
and memory: the daemon idle and with 100 running containers, and the PSS of each
container's monitor process (conmon, or dockerd's containerd-shim).

    python3 bench/bench.py registry --host … [--baseline-host unix:///var/run/docker.sock]

registry: push and pull through a loopback docker-registry (see bench/registry.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from harness import API, best_of, chunks, create_rm_ms, drop_caches, latencies, make_archive, run_rm, timed


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

        def import_and_delete() -> None:
            do_import()
            api.call("DELETE", "/images/bench/import:1").read()

        def untar() -> None:
            shutil.rmtree(target, ignore_errors=True)
            os.mkdir(target)
            subprocess.run(["tar", "-xf", rootfs, "-C", target], check=True)

        import_time = best_of(runs, import_and_delete)
        import_floor = best_of(runs, untar)
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


# -- containers -----------------------------------------------------------------------
def runtime_bundle(api: API, image: str, work: str) -> str:
    """An OCI bundle of the image's rootfs (exported by the daemon) with the
    runtime's own default spec running `true`."""
    cid = api.json("POST", "/containers/create", {"Image": image, "Cmd": ["true"]})["Id"]  # type: ignore[index]
    bundle = os.path.join(work, "bundle")
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs)
    try:
        resp = api.call("GET", f"/containers/{cid}/export")
        subprocess.run(["tar", "-x", "-C", rootfs], input=resp.read(), check=True)
    finally:
        api.call("DELETE", f"/containers/{cid}?force=1").read()
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"].update(args=["true"], terminal=False)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    return bundle


def runtime_exec_latency(runtime: str, bundle: str, state: str, runs: int) -> list[float]:
    """`<runtime> exec true` in a container that the runtime alone runs."""
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"]["args"] = ["sleep", "3600"]
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    name = "bench-exec"
    subprocess.run([runtime, "--root", state, "run", "-d", "--bundle", bundle, name], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return latencies(lambda: subprocess.run([runtime, "--root", state, "exec", name, "true"],
                                                check=True), runs)
    finally:
        subprocess.run([runtime, "--root", state, "delete", "-f", name])
        spec["process"]["args"] = ["true"]
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)


def runtime_run(runtime: str, bundle: str, state: str, n: int) -> None:
    subprocess.run([runtime, "--root", state, "run", "--bundle", bundle, f"bench-{n}"],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def socket_owner(path: str) -> int:
    """The pid of the process listening on a unix socket (dockerd or ours)."""
    out = subprocess.run(["ss", "-xlpnH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f" {path} " in line + " " and "pid=" in line:
            return int(line.split("pid=")[1].split(",")[0])
    raise SystemExit(f"bench: no process listens on {path}")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def pss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    return kb / 1024


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("PPid:")).split()[1])


def exec_true(api: API, cid: str) -> None:
    exec_id = api.json("POST", f"/containers/{cid}/exec",
                       {"Cmd": ["true"], "AttachStdout": True, "AttachStderr": True})["Id"]  # type: ignore[index]
    api.call("POST", f"/exec/{exec_id}/start", json.dumps({"Detach": False}).encode(),
             {"Content-Type": "application/json"}).read()
    code = api.json("GET", f"/exec/{exec_id}/json")["ExitCode"]  # type: ignore[index]
    if code != 0:
        raise SystemExit(f"bench: exec true exited {code}")


def start_many(api: API, image: str, count: int, cmd: list[str], start: bool,
               network: str | None = "none") -> list[str]:
    def one(_: int) -> str:
        body: dict[str, object] = {"Image": image, "Cmd": cmd}
        if network:
            body["HostConfig"] = {"NetworkMode": network}
        cid = api.json("POST", "/containers/create", body)["Id"]  # type: ignore[index]
        if start:
            api.call("POST", f"/containers/{cid}/start").read()
        return cid
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def remove_all(api: API, ids: list[str]) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda cid: api.call("DELETE", f"/containers/{cid}?force=1").read(), ids))


RUNC_ROOTS = ["/run/dockerd-py/runtime-runc", "/run/docker/runtime-runc/moby"]


def runc_root_of(cid: str, roots: list[str]) -> str | None:
    return next((r for r in roots if os.path.isdir(os.path.join(r, cid))), None)


def bench_containers(api: API, image: str, runs: int,
                     runc_roots: list[str] = RUNC_ROOTS) -> dict[str, float]:
    work = tempfile.mkdtemp(prefix="dpy-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    results: dict[str, float] = {}
    daemon_pid = socket_owner(api.path)
    try:
        time.sleep(2)
        results["daemon_idle_rss_MB"] = rss_mb(daemon_pid)
        bundle = runtime_bundle(api, image, work)
        counter = iter(range(10**6))
        for runtime in ("runc", "crun"):
            state = os.path.join(work, f"state-{runtime}")
            try:
                times = latencies(lambda runtime=runtime, state=state:
                                  runtime_run(runtime, bundle, state, next(counter)), runs)
            except (subprocess.CalledProcessError, FileNotFoundError):
                continue  # crun refuses hybrid cgroups on some hosts
            results[f"{runtime}_run_ms"] = statistics.median(times) * 1000
            execs = runtime_exec_latency(runtime, bundle, state, runs * 2)
            results[f"{runtime}_exec_ms"] = statistics.median(execs) * 1000
        none = latencies(lambda: run_rm(api, image, "none"), runs)
        bridge = latencies(lambda: run_rm(api, image, None), runs)
        results["run_rm_none_ms"] = statistics.median(none) * 1000
        results["run_rm_bridge_ms"] = statistics.median(bridge) * 1000
        results["run_rm_none_vs_runc"] = results["run_rm_none_ms"] / results["runc_run_ms"]

        start = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda _: run_rm(api, image, None), range(20)))
        results["parallel20_per_s"] = 20 / (time.perf_counter() - start)

        created = start_many(api, image, 200, ["true"], start=False, network=None)
        try:
            listing = latencies(lambda: api.call("GET", "/containers/json?all=1").read(), runs * 3)
            results["list200_ms"] = statistics.median(listing) * 1000
        finally:
            remove_all(api, created)

        sleeper = start_many(api, image, 1, ["sleep", "3600"], start=True)
        try:
            execs = latencies(lambda: exec_true(api, sleeper[0]), runs * 3)
            results["exec_ms"] = statistics.median(execs) * 1000
            root = runc_root_of(sleeper[0], runc_roots)
            if root:  # the same container's `runc exec`, with its seccomp filter and all
                direct = latencies(lambda: subprocess.run(
                    ["runc", "--root", root, "exec", sleeper[0], "true"], check=True), runs * 3)
                results["runc_exec_same_container_ms"] = statistics.median(direct) * 1000
                results["exec_vs_runc_exec"] = (results["exec_ms"] /
                                                results["runc_exec_same_container_ms"])
        finally:
            remove_all(api, sleeper)

        results["logs_MBps"] = logs_throughput(api, image)

        running = start_many(api, image, 100, ["sleep", "3600"], start=True)
        try:
            time.sleep(2)
            results["daemon_rss_100_running_MB"] = rss_mb(daemon_pid)
            monitors = []
            for cid in running:
                pid = api.json("GET", f"/containers/{cid}/json")["State"]["Pid"]  # type: ignore[index]
                monitors.append(pss_mb(parent_of(pid)))
            results["monitor_pss_per_container_MB"] = statistics.mean(monitors)
            results["daemon_rss_per_container_MB"] = (
                results["daemon_rss_100_running_MB"] - results["daemon_idle_rss_MB"]) / 100
        finally:
            remove_all(api, running)
    finally:
        subprocess.run(["rm", "-rf", work])
    return results


def logs_throughput(api: API, image: str, mb: int = 64) -> float:
    """Bytes of `docker logs` per second, from a container that wrote `mb` MB."""
    line = "x" * 99
    cid = api.json("POST", "/containers/create", {
        "Image": image, "HostConfig": {"NetworkMode": "none"},
        "Cmd": ["sh", "-c", f"yes {line} | head -c {mb << 20}"]})["Id"]  # type: ignore[index]
    try:
        api.call("POST", f"/containers/{cid}/start").read()
        api.call("POST", f"/containers/{cid}/wait").read()
        best: float | None = None
        for _ in range(2):
            start = time.perf_counter()
            resp = api.call("GET", f"/containers/{cid}/logs?stdout=1")
            total = 0
            while True:
                data = resp.read(1 << 20)
                if not data:
                    break
                total += len(data)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        assert best is not None  # runs >= 1
        return (mb << 20) / 1e6 / best
    finally:
        api.call("DELETE", f"/containers/{cid}?force=1").read()


DNS_PROBE = r"""
import socket, struct, sys, time, statistics
name, runs = sys.argv[1], int(sys.argv[2])
q = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
times = []
for _ in range(runs):
    t = time.perf_counter(); s.sendto(q, ("127.0.0.11", 53)); s.recv(512)
    times.append(time.perf_counter() - t)
print(statistics.median(times) * 1000)
"""


def bench_networks(api: API, image: str, runs: int) -> dict[str, float]:
    """Network create/remove, run --rm on the default bridge and on a user network,
    and a name lookup with 100 containers on the network, as a container asks it."""
    results: dict[str, float] = {}
    results["net_create_ms"], results["net_rm_ms"] = create_rm_ms(
        runs, lambda i: api.json("POST", "/networks/create", {"Name": f"bench-net-{i}"})["Id"],  # type: ignore[index]
        lambda net: api.call("DELETE", f"/networks/{net}").read())
    net = api.json("POST", "/networks/create", {"Name": "bench-user"})["Id"]  # type: ignore[index]
    members: list[str] = []
    try:
        bridge = latencies(lambda: run_rm(api, image, None), runs)
        user = latencies(lambda: run_rm(api, image, "bench-user"), runs)
        results["run_rm_bridge_ms"] = statistics.median(bridge) * 1000
        results["run_rm_user_net_ms"] = statistics.median(user) * 1000
        members = start_many(api, image, 100, ["sleep", "3600"], start=True,
                             network="bench-user")
        pid = api.json("GET", f"/containers/{members[0]}/json")["State"]["Pid"]  # type: ignore[index]
        name = api.json("GET", f"/containers/{members[-1]}/json")["Name"].lstrip("/")  # type: ignore[index]
        out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c",
                              DNS_PROBE, name, str(runs * 20)], capture_output=True,
                             text=True, check=True).stdout
        results["dns_lookup_100_ms"] = float(out.strip())
    finally:
        remove_all(api, members)
        api.call("DELETE", f"/networks/{net}").read()
    return results


def report(title: str, results: dict[str, float]) -> None:
    print(f"== {title}")
    for key, value in results.items():
        print(f"{key:>24}: {value:10.2f}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["images", "containers", "networks", "volumes",
                                          "registry", "build", "cli"])
    parser.add_argument("--host", default=os.environ.get("DOCKER_HOST",
                                                         "unix:///run/dockerd-py.sock"))
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--image", default="busybox:latest",
                        help="containers: an image the daemon has, with sh, yes and head")
    parser.add_argument("--runc-root", action="append", default=[],
                        help="containers: the daemon's runc state root, to time `runc exec` "
                             "into its container (default: dockerd-py's and dockerd's)")
    parser.add_argument("--baseline-host", default=None,
                        help="registry: another daemon (dockerd) to pull and push beside")
    parser.add_argument("--docker-py", default=shutil.which("docker-py") or
                        "/opt/dockerd-py/bin/docker-py", help="cli: the docker-py to time")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    api = API(args.host)
    if args.suite == "images":
        results = bench_images(api, args.size_mb, args.runs)
    elif args.suite == "build":
        from build import bench_build
        baseline = API(args.baseline_host) if args.baseline_host else None
        results = bench_build(api, baseline, args.image, args.runs)
    elif args.suite == "registry":
        from registry import bench_registry
        baseline = API(args.baseline_host) if args.baseline_host else None
        results = bench_registry(api, baseline, args.size_mb, args.runs, make_archive, chunks)
    elif args.suite == "cli":
        from cli import bench_cli
        results = bench_cli(args.host, args.image, max(args.runs, 10), args.docker_py)
    elif args.suite == "volumes":
        from volumes import bench_volumes
        results = bench_volumes(api, args.image, max(args.runs, 10), args.size_mb)
    elif args.suite == "networks":
        results = bench_networks(api, args.image, max(args.runs, 10))
    else:
        results = bench_containers(api, args.image, max(args.runs, 10),
                                   args.runc_root + RUNC_ROOTS)
    if args.json:
        print(json.dumps(results))
    else:
        report(f"{args.suite} against {args.host}", results)


if __name__ == "__main__":
    main()
