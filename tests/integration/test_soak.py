"""Lifecycles in a row (run on the default network, exec, logs, attach, stop, rm)
against a daemon of its own: its fds, threads and RSS come back near where they
started, and nothing of ours stays on the host. DPY_SOAK_CYCLES=1000 by hand."""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from .conftest import busybox_daemon
from .daemonctl import Daemon, cgroup_tops, links, mounts

CYCLES = int(os.environ.get("DPY_SOAK_CYCLES", "40"))


@pytest.fixture
def soak_daemon(workdir, rootfs_tar) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    with busybox_daemon(workdir, rootfs_tar, "soak") as d:
        yield d


def _counts(pid: int) -> tuple[int, int, float]:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")), rss


@pytest.mark.timeout(120 + CYCLES * 3)
def test_lifecycles_leave_nothing_behind(soak_daemon):
    d = soak_daemon
    api = d.api()
    pid = d.proc.pid  # type: ignore[union-attr]
    bridge_links = set(links(d.prefix))
    def cycle(n: int) -> None:  # noqa: E306
        ctr = api.create_container("busybox", ["sh", "-c", f"echo cycle {n}; sleep 30"])
        api.start(ctr)
        assert api.exec_start(api.exec_create(ctr, ["true"])) == b""
        deadline = time.time() + 5
        while b"cycle" not in api.logs(ctr) and time.time() < deadline:
            time.sleep(0.02)
        assert api.logs(ctr) == f"cycle {n}\n".encode()
        sock = api.attach_socket(ctr, params={"stdout": 1, "stream": 1})
        sock.close()
        api.stop(ctr, timeout=0)
        api.remove_container(ctr)
    for n in range(3):  # warm: pools, caches and lazy imports fill once
        cycle(n)
    before = _counts(pid)
    for n in range(CYCLES):
        cycle(n)
    time.sleep(1)
    after = _counts(pid)
    print(f"{CYCLES} cycles: fds {before[0]}->{after[0]}, threads {before[1]}->{after[1]}, "
          f"RSS {before[2]:.1f}->{after[2]:.1f} MB")
    assert after[0] <= before[0] + 5, (before, after)
    assert after[1] <= before[1] + 4, (before, after)
    assert after[2] <= before[2] + 25, (before, after)
    assert api.containers(all=True) == []
    assert set(links(d.prefix)) == bridge_links           # no veth left
    assert [m for m in mounts.mounts_under(str(d.root))] == []
    assert [c for top in cgroup_tops(d.prefix) for c in top.iterdir() if c.is_dir()] == []
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert "--to-destination" not in "\n".join(
        line for line in rules.splitlines() if d.prefix.upper() in line)
