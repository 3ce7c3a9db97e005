"""Clients go away, or never read: no stream may outlive its client, hold a
thread, or slow anyone else down.

Every streaming command of the real Docker CLI is interrupted 100 times
(DPY_INTERRUPTS) on a silent container; then the daemon holds exactly the descriptors and
threads it held before, and `docker run` answers in its usual time. A second
test holds 50 streams of every kind at once, unread or stalled, while
`docker run` keeps its time."""
from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import busybox_daemon
from .daemonctl import DOCKER_CLI, Daemon

INTERRUPTS = int(os.environ.get("DPY_INTERRUPTS", "100"))
HELD = int(os.environ.get("DPY_HELD_STREAMS", "50"))
BATCH = 25  # clients interrupted together


def fds_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def settle(measure: Callable[[], int], want: int, timeout: float = 5.0) -> int:
    """The value once it is back at `want` or below (else what it is after the
    timeout)."""
    deadline = time.monotonic() + timeout
    value = measure()
    while value > want and time.monotonic() < deadline:
        time.sleep(0.05)
        value = measure()
    return value


def steady(measure: Callable[[], int], quiet: float = 0.5) -> int:
    """The value once it has not changed for `quiet` seconds (the last run's
    connections closed): the baseline."""
    value, since = measure(), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = measure()
        if now != value:
            value, since = now, time.monotonic()
    return value


def run_time(d: Daemon) -> float:
    """Seconds `docker run --rm busybox true` takes (the best of three)."""
    best = 1e9
    for _ in range(3):
        start = time.monotonic()
        out = d.docker("run", "--rm", "busybox", "true", timeout=60)
        assert out.returncode == 0, out.stderr
        best = min(best, time.monotonic() - start)
    return best


@pytest.fixture(scope="module")
def streams_daemon(workdir: Path, rootfs_tar: Path) -> Iterator[Daemon]:
    with busybox_daemon(workdir, rootfs_tar, "streams") as d:
        out = d.docker("run", "-d", "--name", "silent", "-i", "busybox", "sleep", "100000")
        assert out.returncode == 0, out.stderr
        yield d


# Each kind: the CLI's arguments, and how the user ends it. `attach` and `stats`
# of Docker 28 do not end on a SIGINT sent to them alone (attach without a TTY
# waits for more; stats wants the terminal's): they are killed, as a closed
# terminal or a killed shell ends them.
KINDS = {
    "logs -f": (["logs", "-f", "silent"], signal.SIGINT),
    "attach": (["attach", "--sig-proxy=false", "silent"], signal.SIGKILL),
    "stats": (["stats", "silent"], signal.SIGKILL),
    "events": (["events"], signal.SIGINT),
    "exec -it": (["exec", "-it", "silent", "sh"], signal.SIGKILL),
}


def _end_shells(d: Daemon) -> None:
    """An exec's process goes on running when its client is gone, as with
    dockerd (some may still be starting): end them all; then nothing of them
    may stay."""
    deadline = time.monotonic() + 10
    while d.docker("exec", "silent", "killall", "-9", "sh").returncode == 0:
        assert time.monotonic() < deadline, "the shells keep coming"
        time.sleep(0.3)


AFTERMATH: dict[str, Callable[[Daemon], None]] = {"exec -it": _end_shells}


def _start_client(d: Daemon, args: list[str]) -> tuple[subprocess.Popen, int]:
    """The CLI on a terminal of its own (exec -it needs one; the others do not mind)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([DOCKER_CLI, *args], stdin=slave, stdout=slave, stderr=slave,
                            env=d.env(), start_new_session=True)
    os.close(slave)
    return proc, master


def _interrupt_batch(d: Daemon, pid: int, args: list[str], sig: int, count: int,
                     base: int) -> None:
    clients = [_start_client(d, args) for _ in range(count)]
    try:
        # every client connected and streaming (one descriptor each at least)
        deadline = time.monotonic() + 30
        while fds_of(pid) < base + count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fds_of(pid) >= base + count, "the clients did not all connect"
        time.sleep(0.2)
    finally:
        for proc, _master in clients:
            proc.send_signal(sig)
        for proc, master in clients:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(master)


@pytest.mark.parametrize("kind", list(KINDS))
def test_interrupted_streams_leave_nothing_behind(streams_daemon: Daemon, kind: str) -> None:
    d = streams_daemon
    assert d.proc is not None
    pid = d.proc.pid
    args, sig = KINDS[kind]
    usual = run_time(d)
    fds, threads = steady(lambda: fds_of(pid)), threads_of(pid)
    done = 0
    while done < INTERRUPTS:
        count = min(BATCH, INTERRUPTS - done)
        _interrupt_batch(d, pid, args, sig, count, fds)
        done += count
        if kind in AFTERMATH:
            AFTERMATH[kind](d)
        # every stream ended with its client, within a second or so
        assert settle(lambda: fds_of(pid), fds) <= fds
    assert threads_of(pid) <= threads
    took = run_time(d)
    assert took < 2 * usual + 0.5, f"docker run took {took:.2f}s (usually {usual:.2f}s)"
    assert d.docker("exec", "silent", "true").returncode == 0


# -- 50 streams of every kind held at once ----------------------------------------------
def _raw(d: Daemon, head: str, body: bytes = b"") -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that reads nothing
    s.sendall(head.encode() + body)
    return s


def _get(path: str) -> str:
    return f"GET {path} HTTP/1.1\r\nHost: d\r\n\r\n"


def _post(path: str, extra: str = "") -> str:
    return f"POST {path} HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n{extra}\r\n"


def _upload(method: str, path: str, content_type: str) -> str:
    # a body far longer than what is sent: the client stalls mid-upload
    return (f"{method} {path} HTTP/1.1\r\nHost: d\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {1 << 30}\r\n\r\n")


def _exec_start(d: Daemon) -> socket.socket:
    # `cat` ends when its stdin does: the client's leaving ends it
    out = d.api().exec_create("silent", ["cat"], stdin=True)
    body = b'{"Detach": false, "Tty": false}'
    head = (f"POST /exec/{out['Id']}/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\n"
            f"Upgrade: tcp\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return _raw(d, head, body)


HELD_KINDS: dict[str, Callable[[Daemon], socket.socket]] = {
    "logs follow": lambda d: _raw(d, _get("/containers/silent/logs?follow=1&stdout=1")),
    "attach": lambda d: _raw(d, _post("/containers/silent/attach?stream=1&stdout=1",
                                      "Connection: Upgrade\r\nUpgrade: tcp\r\n")),
    "stats": lambda d: _raw(d, _get("/containers/silent/stats")),
    "events": lambda d: _raw(d, _get("/events")),
    "wait": lambda d: _raw(d, _post("/containers/silent/wait", "Content-Length: 0\r\n")),
    "exec attach": _exec_start,
    "export": lambda d: _raw(d, _get("/containers/silent/export")),
    "archive": lambda d: _raw(d, _get("/containers/silent/archive?path=/bin")),
    "save": lambda d: _raw(d, _get("/images/busybox/get")),
    "put archive": lambda d: _raw(d, _upload("PUT", "/containers/silent/archive?path=/tmp",
                                             "application/x-tar") + "\0" * 512),
    "load": lambda d: _raw(d, _upload("POST", "/images/load", "application/x-tar")
                           + "\0" * 512),
    "import": lambda d: _raw(d, _upload("POST", "/images/create?fromSrc=-&repo=held",
                                        "application/x-tar") + "\0" * 512),
    "build": lambda d: _raw(d, _upload("POST", "/build", "application/x-tar") + "\0" * 512),
}


def test_held_streams_cost_only_themselves(streams_daemon: Daemon) -> None:
    d = streams_daemon
    assert d.proc is not None
    pid = d.proc.pid
    usual = run_time(d)
    fds = steady(lambda: fds_of(pid))
    held: list[socket.socket] = []
    try:
        for open_stream in HELD_KINDS.values():
            for _ in range(HELD):
                held.append(open_stream(d))
        time.sleep(1)
        took = run_time(d)
        assert took < 2 * usual + 0.5, \
            f"docker run took {took:.2f}s with {len(held)} streams held (usually {usual:.2f}s)"
        assert d.docker("ps", "-q").stdout.strip()
    finally:
        for s in held:
            s.close()
    run_time(d)  # as before the baseline: what a run leaves for a moment is in both
    assert settle(lambda: fds_of(pid), fds, timeout=10) <= fds
    assert d.docker("exec", "silent", "true").returncode == 0


def test_a_pull_from_a_silent_registry_ends_with_its_client(streams_daemon: Daemon) -> None:
    """A registry that accepts and never answers: the pull has nothing to report,
    yet it ends (its connection to the registry closed) as soon as its client
    goes away, as dockerd's request context ends it."""
    d = streams_daemon
    assert d.proc is not None
    pid = d.proc.pid
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    fds = steady(lambda: fds_of(pid))
    try:
        client = _raw(d, f"POST /images/create?fromImage=127.0.0.1:{port}/quiet&tag=1 "
                         "HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n")
        held, _ = silent.accept()  # the daemon dialled it
        time.sleep(0.5)
        client.close()
        held.settimeout(5)
        while held.recv(1 << 16):  # (a TLS hello first: it tries HTTPS)
            pass  # until the daemon hangs up on the registry; a timeout fails the test
        held.close()
        assert settle(lambda: fds_of(pid), fds) <= fds
    finally:
        silent.close()
