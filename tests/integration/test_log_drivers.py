"""The shared log driver suite: every driver in the registry writes what a
container prints and, where it is readable, gives it back through the real
`docker logs` (streams apart, follow, rotation where it takes max-size)."""
from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import time

import pytest

from dockerd_py.logdrivers.registry import LOG_DRIVERS

from .rawhttp import request

DRIVERS = sorted(LOG_DRIVERS)


def docker(cli, *args: str, check: bool = True) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    proc = cli(*args, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def readable(name: str) -> bool:
    return LOG_DRIVERS[name].readable


def test_info_lists_the_registry(daemon):
    info = request(daemon.sock, "GET", "/info").json()
    assert sorted(info["Plugins"]["Log"]) == DRIVERS


@pytest.mark.parametrize("driver", DRIVERS)
def test_write_and_read_back(docker_cli, driver):
    name = f"logs-{driver}"
    docker(docker_cli, "run", "--name", name, "--log-driver", driver, "busybox", "sh", "-c",
           "echo out1; echo err1 >&2; echo out2")
    try:
        inspect = docker(docker_cli, "inspect", "-f", "{{.HostConfig.LogConfig.Type}}", name)
        assert inspect.stdout.strip() == driver
        logs = docker(docker_cli, "logs", name, check=False)
        if not readable(driver):
            assert logs.returncode != 0
            assert "configured logging driver does not support reading" in logs.stderr
            return
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout == "out1\nout2\n"
        assert logs.stderr == "err1\n"
        tail = docker(docker_cli, "logs", "--tail", "1", name)
        assert len(tail.stdout.splitlines() + tail.stderr.splitlines()) == 1
    finally:
        docker(docker_cli, "rm", "-f", name)


@pytest.mark.parametrize("driver", [d for d in DRIVERS if readable(d)])
def test_follow_until_exit(docker_cli, driver):
    name = f"follow-{driver}"
    docker(docker_cli, "run", "-d", "--name", name, "--log-driver", driver, "busybox", "sh",
           "-c", "for i in 1 2 3 4; do echo line$i; sleep 0.2; done")
    try:
        logs = docker(docker_cli, "logs", "-f", name)
        assert logs.stdout.split() == ["line1", "line2", "line3", "line4"]
    finally:
        docker(docker_cli, "rm", "-f", name)


@pytest.mark.parametrize("driver", [d for d in DRIVERS if "max-size" in LOG_DRIVERS[d].options])
def test_rotation_keeps_max_file(daemon, docker_cli, driver):
    name = f"rotate-{driver}"
    docker(docker_cli, "run", "--name", name, "--log-driver", driver, "--log-opt", "max-size=4k",
           "--log-opt", "max-file=2", "busybox", "sh", "-c",
           "i=0; while [ $i -lt 600 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
           "i=$((i+1)); done")
    try:
        path = docker(docker_cli, "inspect", "-f", "{{.LogPath}}", name).stdout.strip()
        files = [p for p in glob.glob(path + "*") if not p.endswith(".hold")]
        assert 1 <= len(files) <= 2
        assert all(os.path.getsize(p) <= 4096 + 512 for p in files)
        lines = docker(docker_cli, "logs", name).stdout.splitlines()
        assert lines[-1].startswith("line-599-")
        numbers = [int(line.split("-")[1]) for line in lines]
        assert numbers == sorted(numbers)
        if driver == "json-file":  # the daemon writes it: rotation is exact, nothing lost
            assert numbers == list(range(numbers[0], 600)) and numbers[0] > 0
    finally:
        docker(docker_cli, "rm", "-f", name)


FLOOD_SECONDS = float(os.environ.get("DPY_LOG_FLOOD_SECONDS", "30"))


def _disk_use(log_path: str) -> int:
    """Bytes of a container's log files, each inode once (a file may have two
    names while it is rotated)."""
    seen: dict[tuple[int, int], int] = {}
    for entry in os.scandir(os.path.dirname(log_path)):
        if not entry.name.startswith(os.path.basename(log_path)):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        seen[(st.st_dev, st.st_ino)] = st.st_size
    return sum(seen.values())


def test_log_limits_hold_while_the_container_writes(daemon, docker_cli):
    """`yes` at full speed under max-size=5m, max-file=2 (a 10 MB budget), every
    driver that takes the options at once for 30 s (DPY_LOG_FLOOD_SECONDS): the
    container's log never takes more than the budget and one max-size of slack
    (it grew to 4.7 GB in 24 s), and the log still reads back at the end."""
    drivers = [d for d in DRIVERS if "max-size" in LOG_DRIVERS[d].options]
    # a file rotates once it reached max-size (Docker's rule): by its last entry
    # it may pass it, one `yes` line in JSON, far less than this allowance
    budget, slack, entry = 10 << 20, 5 << 20, 4096
    names = {driver: f"flood-{driver}" for driver in drivers}
    for driver, name in names.items():
        docker(docker_cli, "run", "-d", "--name", name, "--log-driver", driver,
               "--log-opt", "max-size=5m", "--log-opt", "max-file=2", "busybox", "yes")
    try:
        paths = {driver: docker(docker_cli, "inspect", "-f", "{{.LogPath}}", name).stdout.strip()
                 for driver, name in names.items()}
        peak = dict.fromkeys(drivers, 0)
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            for driver in drivers:
                peak[driver] = max(peak[driver], _disk_use(paths[driver]))
            time.sleep(0.05)
        assert all(peak[d] <= budget + slack + entry for d in drivers), peak
        assert all(peak[d] > budget // 2 for d in drivers), peak  # it did write
        for name in names.values():
            docker(docker_cli, "stop", "-t", "1", name)
            tail = docker(docker_cli, "logs", "--tail", "3", name).stdout.splitlines()
            assert tail == ["y", "y", "y"], tail
    finally:
        for name in names.values():
            docker(docker_cli, "rm", "-f", name, check=False)


def test_json_file_is_dockers_format(docker_cli):
    """What log shippers tail: Docker's JSON lines at Docker's path, compressed
    rotations with compress=true."""
    name = "jsonfmt"
    docker(docker_cli, "run", "--name", name, "--log-opt", "max-size=2k", "--log-opt",
           "max-file=3", "--log-opt", "compress=true", "busybox", "sh", "-c",
           "echo 'hé \"q\"'; i=0; while [ $i -lt 200 ]; do echo n$i; "
           "i=$((i+1)); done")
    try:
        path = docker(docker_cli, "inspect", "-f", "{{.LogPath}}", name).stdout.strip()
        assert path.endswith("-json.log")
        with open(path) as f:
            entries = [json.loads(line) for line in f]
        last = [e for e in entries if e["stream"] == "stdout"][-1]
        assert last["log"] == "n199\n" and last["time"].endswith("Z")
        rotated = sorted(glob.glob(path + ".*"))
        assert rotated == [path + ".1.gz", path + ".2.gz"]
        with gzip.open(path + ".2.gz", "rt") as f:
            first = [json.loads(line) for line in f]
        assert all(set(e) == {"log", "stream", "time"} for e in first)
        logs = docker(docker_cli, "logs", "--tail", "3", name)
        assert logs.stdout == "n197\nn198\nn199\n"
    finally:
        docker(docker_cli, "rm", "-f", name)


@pytest.mark.parametrize("driver", DRIVERS)
def test_unknown_option_refused(client, driver):
    import docker as sdk
    with pytest.raises(sdk.errors.APIError) as err:
        client.containers.create("busybox", ["true"], log_config={"Type": driver,
                                                                  "Config": {"nosuch": "1"}})
    assert err.value.status_code == 400
    assert f"unknown log opt 'nosuch' for {driver} log driver" in str(err.value)


def test_json_file_logs_see_what_was_just_written(daemon, docker_cli):
    """json-file converts on a tick: a `docker logs` right after the container
    wrote must still see it (the read settles the conversion first)."""
    name = "justwritten"
    docker(docker_cli, "run", "-d", "--name", name, "busybox", "sh", "-c",
           "echo started; sleep 60")
    try:
        path = docker(docker_cli, "inspect", "-f", "{{.LogPath}}", name).stdout.strip()
        staging = path + ".conmon"
        for _ in range(2000):  # conmon has it, not yet necessarily converted
            if os.path.exists(staging) and b"started" in open(staging, "rb").read():
                break
            time.sleep(0.001)
        r = request(daemon.sock, "GET", f"/containers/{name}/logs?stdout=1")
        assert b"started" in r.body
    finally:
        docker(docker_cli, "rm", "-f", name)
