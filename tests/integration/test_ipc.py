"""IPC modes as dockerd has them (moby's ipcmode_linux_test.go): private, none,
shareable, container:X and host, with dockerd's refusals."""
from __future__ import annotations

import os
import uuid

import docker
import pytest

from .rawhttp import request

TOP = ["top"]
SHM_DEVICE = "awk '($5 == \"/dev/shm\") {printf $3}' /proc/self/mountinfo"


def _host_has_device(mm: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[2] == mm for line in f)


@pytest.fixture
def made(client):  # type: ignore[no-untyped-def]
    containers: list[docker.models.containers.Container] = []
    yield containers
    for c in containers:
        c.remove(force=True)


def _run(client, made, **kw):  # type: ignore[no-untyped-def]
    c = client.containers.run("busybox", TOP, detach=True, **kw)
    made.append(c)
    return c


def test_private_none_and_shareable_shm(client, made):
    private = _run(client, made)
    assert private.attrs["HostConfig"]["IpcMode"] == "private"
    mm = private.exec_run(["sh", "-c", SHM_DEVICE]).output.decode()
    assert mm and not _host_has_device(mm)  # the container's own tmpfs
    none = _run(client, made, ipc_mode="none")
    assert none.exec_run(["sh", "-c", SHM_DEVICE]).output == b""  # no /dev/shm at all
    shareable = _run(client, made, ipc_mode="shareable")
    mm = shareable.exec_run(["sh", "-c", SHM_DEVICE]).output.decode()
    assert mm and _host_has_device(mm)  # mounted by the daemon, on the host
    shareable.stop(timeout=0)
    assert not _host_has_device(mm)  # and gone with the run


def test_container_mode_joins_a_shareable_donor(client, made):
    donor = _run(client, made, ipc_mode="shareable")
    assert donor.exec_run(["sh", "-c", "printf covfefe > /dev/shm/bar"]).exit_code == 0
    joiner = _run(client, made, ipc_mode=f"container:{donor.name}")
    assert joiner.exec_run(["cat", "/dev/shm/bar"]).output == b"covfefe"
    donor_ns = donor.exec_run(["readlink", "/proc/self/ns/ipc"]).output
    assert joiner.exec_run(["readlink", "/proc/self/ns/ipc"]).output == donor_ns


def test_container_mode_refusals(client, made):
    private = _run(client, made)
    for target, words in (
            (private.name, f"failed to join IPC namespace: container {private.name}: "
                           "non-shareable IPC (hint: use IpcMode:shareable for the donor "
                           "container)"),
            ("nosuch", "failed to join IPC namespace: No such container: nosuch")):
        with pytest.raises(docker.errors.APIError) as err:
            _run(client, made, ipc_mode=f"container:{target}")
        assert (err.value.status_code, err.value.explanation) == (400, words)
    stopped = _run(client, made, ipc_mode="shareable")
    stopped.stop(timeout=0)
    with pytest.raises(docker.errors.APIError) as err:
        _run(client, made, ipc_mode=f"container:{stopped.name}")
    assert (err.value.status_code, err.value.explanation) == (
        409, f"failed to join IPC namespace: container {stopped.name} is not running")


def test_host_mode_shares_the_hosts_shm(client, made):
    name = f".dpy-ipc-{uuid.uuid4().hex[:8]}"
    c = _run(client, made, ipc_mode="host")
    try:
        assert c.exec_run(["sh", "-c", f"printf covfefe > /dev/shm/{name}"]).exit_code == 0
        with open(f"/dev/shm/{name}") as f:
            assert f.read() == "covfefe"
        host_ns = os.readlink("/proc/self/ns/ipc")
        assert c.exec_run(["readlink", "/proc/self/ns/ipc"]).output.decode().strip() == host_ns
    finally:
        if os.path.exists(f"/dev/shm/{name}"):
            os.unlink(f"/dev/shm/{name}")


def test_an_invalid_mode_is_refused_at_create(daemon):
    r = request(daemon.sock, "POST", "/v1.44/containers/create",
                body=b'{"Image": "busybox", "HostConfig": {"IpcMode": "bogus"}}',
                headers={"Content-Type": "application/json"})
    assert (r.status, r.json()["message"]) == (400, "invalid IPC mode: bogus")
