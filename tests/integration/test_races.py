"""Races, tested where they happen: each test runs while both CPUs are kept busy
(cpu_load) and repeats its race DPY_RACE_ROUNDS times (5 in CI; 20 in a row by
hand). The window they aim at: the container's process is gone, but its exit
is not recorded yet (the state still says running)."""
from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import docker
import pytest

from .conftest import RACE_ROUNDS
from .daemonctl import Daemon, conmons_left, runtime_containers
from .rawhttp import request

pytestmark = pytest.mark.usefixtures("cpu_load")


def exiting(api: docker.APIClient, cmd: list[str] | None = None) -> str:
    """A started container that ends at once."""
    ctr = api.create_container("busybox", cmd or ["true"])
    api.start(ctr)
    return ctr["Id"]


def answer(d: Daemon, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    out = request(d.sock, method, path, body, headers)
    text = out.json().get("message", "") if out.status >= 400 and out.body else ""
    return out.status, text


def test_commit_with_pause_of_an_exiting_container(fresh_daemon: Daemon) -> None:
    """dockerd commits it every time: pausing applies only to a running container."""
    api = fresh_daemon.api()
    for i in range(RACE_ROUNDS):
        cid = exiting(api, ["touch", "/x"])
        out = api.commit(cid, repository="raced", tag=str(i), pause=True)
        assert out["Id"].startswith("sha256:")
        api.wait(cid)
        api.remove_container(cid)
        api.remove_image(f"raced:{i}")


NOT_RUNNING = "is not running"
CONFLICTS = {"kill": "Cannot kill container: {id}: container {id} is not running"}


def _ops(cid: str) -> dict[str, tuple[str, str, bytes | None, set[int]]]:
    """What a client may ask of a container in the window, and the answers dockerd
    gives depending on who wins (never a 5xx)."""
    return {
        "pause": ("POST", f"/containers/{cid}/pause", None, {204, 409}),
        "kill": ("POST", f"/containers/{cid}/kill", None, {204, 409}),
        "stop": ("POST", f"/containers/{cid}/stop?t=1", None, {204, 304}),
        "top": ("GET", f"/containers/{cid}/top", None, {200, 409}),
        "update": ("POST", f"/containers/{cid}/update", b'{"CpuShares": 512}', {200}),
        "exec": ("POST", f"/containers/{cid}/exec", b'{"Cmd": ["true"]}', {201, 409}),
        "stats": ("GET", f"/containers/{cid}/stats?stream=0", None, {200}),
        "archive": ("GET", f"/containers/{cid}/archive?path=/bin/sh", None, {200}),
    }


@pytest.mark.parametrize("op", list(_ops("x")))
def test_requests_on_an_exiting_container(fresh_daemon: Daemon, op: str) -> None:
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        cid = exiting(api)
        method, path, body, allowed = _ops(cid)[op]
        status, text = answer(d, method, path, body)
        assert status in allowed, (status, text)
        if status == 409:
            assert text == CONFLICTS.get(op, "Container {id} is not running").format(id=cid)
        if op == "pause" and status == 204:  # the pause won: frozen, it cannot exit (as
            api.unpause(cid)                 # with dockerd) until it is unpaused
        code = api.wait(cid, timeout=30)["StatusCode"]
        # it exited on its own, or the kill or stop got there first
        assert code == 0 or (op in ("kill", "stop") and code in (137, 143)), code
        api.remove_container(cid, force=True)
    assert conmons_left(str(d.exec_root)) == []


def test_exec_start_as_the_container_exits(fresh_daemon: Daemon) -> None:
    """An exec created while the container ran, started as it exits: started,
    or dockerd's 409; never a 5xx."""
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        ctr = api.create_container("busybox", ["sleep", "0.3"])
        api.start(ctr)
        exec_id = api.exec_create(ctr, ["true"])["Id"]
        time.sleep(0.3)
        status, text = answer(d, "POST", f"/exec/{exec_id}/start", b'{"Detach": true}')
        assert status in (200, 409), (status, text)
        if status == 409:
            assert text == f"Container {ctr['Id']} {NOT_RUNNING}", text
        api.wait(ctr, timeout=30)
        api.remove_container(ctr, force=True)


def test_remove_of_an_exiting_container(fresh_daemon: Daemon) -> None:
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        cid = exiting(api)
        api.remove_container(cid, force=True)
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(cid)
    assert api.containers(all=True) == []
    assert runtime_containers(str(d.exec_root)) == []
    assert conmons_left(str(d.exec_root)) == []


def test_attach_to_an_exiting_container(fresh_daemon: Daemon) -> None:
    """Attach (the log so far) as it exits: never a 5xx, never a torn line. (An
    attach with stream=1 after the exit waits for the next start, as dockerd's
    does: that is how `docker start -a` works.)"""
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        cid = exiting(api, ["echo", "bye"])
        out = api.attach(cid, stream=False, logs=True)
        assert out in (b"", b"bye\n")  # the log as far as it goes: nothing, or the line
        api.remove_container(cid, force=True)


def test_logs_of_a_container_that_just_exited(fresh_daemon: Daemon) -> None:
    api = fresh_daemon.api()
    for i in range(RACE_ROUNDS):
        ctr = api.create_container("busybox", ["sh", "-c", f"seq 1 200; echo end{i}"])
        api.start(ctr)
        api.wait(ctr, timeout=30)
        lines = api.logs(ctr).decode().splitlines()
        assert lines == [str(n) for n in range(1, 201)] + [f"end{i}"]
        api.remove_container(ctr)


def test_start_racing_a_force_remove(fresh_daemon: Daemon) -> None:
    """`start` and `rm -f` of one container at once: whichever wins, no process,
    conmon or runtime state outlives the container."""
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        ctr = api.create_container("busybox", ["sleep", "60"])
        results: dict[str, Any] = {}
        barrier = threading.Barrier(2)

        def run(name: str, call: Callable[[], Any]) -> None:
            barrier.wait()
            try:
                call()
                results[name] = 0
            except docker.errors.APIError as exc:
                results[name] = exc.status_code
        threads = [threading.Thread(target=run, args=("start", lambda: d.api().start(ctr))),
                   threading.Thread(target=run, args=(
                       "rm", lambda: d.api().remove_container(ctr, force=True)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results["rm"] == 0
        assert results["start"] in (0, 404, 409), results
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(ctr)
    assert runtime_containers(str(d.exec_root)) == []
    assert conmons_left(str(d.exec_root)) == []


def test_restart_policy_against_stop(fresh_daemon: Daemon) -> None:
    """A container restarting on failure, stopped at any moment: it ends stopped,
    with no runtime state left, and does not come back."""
    d = fresh_daemon
    api = d.api()
    for _ in range(RACE_ROUNDS):
        ctr = api.create_container("busybox", ["sh", "-c", "exit 3"], host_config=api.create_host_config(
            restart_policy={"Name": "always"}))
        api.start(ctr)
        time.sleep(0.2)
        api.stop(ctr, timeout=1)
        state = api.inspect_container(ctr)["State"]
        assert state["Status"] == "exited", state
        time.sleep(0.5)
        assert api.inspect_container(ctr)["State"]["Status"] == "exited"
        api.remove_container(ctr, force=True)
    assert runtime_containers(str(d.exec_root)) == []


def test_exec_output_under_load(fresh_daemon: Daemon) -> None:
    """Every byte an exec prints arrives, in order, on both streams."""
    api = fresh_daemon.api()
    ctr = api.create_container("busybox", ["sleep", "600"])
    api.start(ctr)
    try:
        for i in range(RACE_ROUNDS * 4):
            exec_id = api.exec_create(ctr, ["sh", "-c", f"seq 1 300; echo err{i} >&2"])["Id"]
            out = api.exec_start(exec_id, demux=True)
            assert out[0] == "".join(f"{n}\n" for n in range(1, 301)).encode()
            assert out[1] == f"err{i}\n".encode()
    finally:
        api.remove_container(ctr, force=True)


def _exchange_loop(a: str, b: str, stop: threading.Event) -> None:
    """renameat2(RENAME_EXCHANGE) of two paths as fast as the kernel allows."""
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, rename_exchange = -100, 2
    ea, eb = a.encode(), b.encode()
    while not stop.is_set():
        for _ in range(1000):
            libc.renameat2(at_fdcwd, ea, at_fdcwd, eb, rename_exchange)


def test_cp_of_a_file_swapped_with_a_fifo(fresh_daemon: Daemon) -> None:
    """A file and a FIFO of a running container swap places as fast as the kernel
    allows (done here from the host on the container's mounted filesystem, the
    same to the daemon as the container doing it; busybox has no renameat2):
    `docker cp ctr:/d -` always finishes, the daemon never opening a FIFO it took
    for a file, and the daemon stays responsive."""
    d = fresh_daemon
    api = d.api()
    ctr = api.create_container("busybox", ["sh", "-c", "mkdir /d; echo x > /d/file; "
                                                       "mkfifo /d/fifo; exec sleep 600"])
    api.start(ctr)
    stop = threading.Event()
    try:
        time.sleep(0.5)
        merged = api.inspect_container(ctr)["GraphDriver"]["Data"]["MergedDir"]
        swapper = threading.Thread(target=_exchange_loop, daemon=True, args=(
            f"{merged}/d/file", f"{merged}/d/fifo", stop))
        swapper.start()
        for _ in range(RACE_ROUNDS * 2):
            out = d.docker("cp", f"{ctr['Id']}:/d", "-", timeout=30)
            assert out.returncode == 0, out.stderr
            assert out.stdout[:2] == b"d/"  # a tar of the directory
    finally:
        stop.set()
        api.remove_container(ctr, force=True)
    assert d.docker("run", "--rm", "busybox", "true", timeout=30).returncode == 0


def _conmon_of(cid: str) -> int:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"conmon") and cid.encode() in args:
                return int(pid)
    raise LookupError(f"no conmon for {cid}")


@pytest.mark.parametrize("how", ["stop", "rm -f"])
def test_a_wedged_monitor_does_not_hold_stop_or_rm(fresh_daemon: Daemon, how: str) -> None:
    """The container's conmon is frozen (SIGSTOP): stop and rm -f still return
    within seconds (they waited 60 s), with the exit status the process had."""
    d = fresh_daemon
    api = d.api()
    for _ in range(max(1, RACE_ROUNDS // 2)):
        ctr = api.create_container("busybox", ["sleep", "600"])
        api.start(ctr)
        os.kill(_conmon_of(ctr["Id"]), signal.SIGSTOP)
        start = time.monotonic()
        if how == "stop":
            api.stop(ctr, timeout=1)
            state = api.inspect_container(ctr)["State"]
            assert (state["Status"], state["ExitCode"]) == ("exited", 137), state
            api.remove_container(ctr)
        else:
            api.remove_container(ctr, force=True)
        assert time.monotonic() - start < 10
        with pytest.raises(docker.errors.NotFound):
            api.inspect_container(ctr)
    assert conmons_left(str(d.exec_root)) == []


def test_a_shareable_ipc_container_exiting_under_a_joiner(fresh_daemon: Daemon) -> None:
    """A shareable container whose process ends as a joiner starts, then both go
    with rm -f: the joiner starts or is refused with dockerd's words, and no /dev/shm
    tmpfs of either stays mounted on the host."""
    d = fresh_daemon
    api = d.api()
    refusals = ("is not running", "non-shareable IPC", "No such container")
    for _ in range(RACE_ROUNDS):
        donor = api.create_container("busybox", ["sleep", "0.05"],
                                     host_config=api.create_host_config(ipc_mode="shareable"))
        api.start(donor)
        joiner = api.create_container("busybox", ["true"], host_config=api.create_host_config(
            ipc_mode=f"container:{donor['Id']}"))
        try:
            api.start(joiner)
        except docker.errors.APIError as err:
            assert any(words in err.explanation for words in refusals), err.explanation
        for cid in (joiner["Id"], donor["Id"]):
            api.remove_container(cid, force=True)
        with open("/proc/self/mountinfo") as f:
            assert not [line for line in f if str(d.data_root) in line and "/mounts/shm" in line]
    assert conmons_left(str(d.exec_root)) == []
