"""The shared runtime suite: every runtime in the registry runs containers
where the host lets it (and says why where it does not), and a runtime the
operator adds with --add-runtime needs no code at all."""
from __future__ import annotations

import shutil

import pytest

from dockerd_py.runtime.registry import RUNTIMES

from .conftest import busybox_daemon
from .rawhttp import request


def runtime_status(daemon, name: str) -> str | None:  # type: ignore[no-untyped-def]
    info = request(daemon.sock, "GET", "/info").json()
    return ((info["Runtimes"][name].get("status") or {}).get("unavailable"))


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_run_with_each_runtime(daemon, client, runtime):
    unavailable = runtime_status(daemon, runtime)
    if unavailable:
        pytest.skip(f"{runtime} cannot run containers on this host: {unavailable}")
    out = client.containers.run("busybox", ["echo", f"via-{runtime}"], runtime=runtime,
                                remove=True)
    assert out == f"via-{runtime}\n".encode()
    c = client.containers.run("busybox", ["sleep", "30"], runtime=runtime, detach=True)
    try:
        c.pause()
        assert client.containers.get(c.id).status == "paused"
        c.unpause()
        c.update(mem_limit="64m", memswap_limit="128m")
        assert c.exec_run(["cat", "/proc/self/cgroup"]).exit_code == 0
        c.stop(timeout=0)
        assert client.containers.get(c.id).attrs["HostConfig"]["Runtime"] == runtime
    finally:
        c.remove(force=True)


def test_added_runtime(workdir, rootfs_tar):
    """`--add-runtime name=path`: listed in /info, chosen per container, run."""
    path = shutil.which("runc")
    if path is None:
        pytest.skip("runc is not installed")
    with busybox_daemon(workdir, rootfs_tar, "addrt",
                        extra_args=["--add-runtime", f"myrunc={path}"]) as d:
        info = request(d.sock, "GET", "/info").json()
        assert info["Runtimes"]["myrunc"] == {"path": path}
        out = d.client().containers.run("busybox", ["echo", "added"], runtime="myrunc",
                                        remove=True)
        assert out == b"added\n"


def test_unavailable_runtime_is_explained(daemon, client):
    """On a host where crun cannot run (crun 1.8 and hybrid cgroups), /info says why
    and a container asking for it fails with that reason, not a crash."""
    unavailable = runtime_status(daemon, "crun")
    if not unavailable:
        pytest.skip("crun runs on this host")
    assert "crun" in unavailable
    c = client.containers.create("busybox", ["true"], runtime="crun")
    try:
        r = request(daemon.sock, "POST", f"/containers/{c.id}/start")
        assert r.status == 500
        assert "runtime crun is not available" in r.json()["message"]
    finally:
        c.remove(force=True)


def test_unknown_runtime(daemon, client):
    import docker
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.create("busybox", ["true"], runtime="nosuch")
    assert err.value.status_code == 400
    assert "unknown or invalid runtime name: nosuch" in str(err.value)
