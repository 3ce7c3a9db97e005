"""runc and crun: each runs containers where the host's cgroup layout lets it."""
from __future__ import annotations

import pytest

from .rawhttp import request


def runtime_status(daemon, name: str) -> str | None:  # type: ignore[no-untyped-def]
    info = request(daemon.sock, "GET", "/info").json()
    return ((info["Runtimes"][name].get("status") or {}).get("unavailable"))


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_run_with_each_runtime(daemon, client, runtime):
    unavailable = runtime_status(daemon, runtime)
    if unavailable:
        pytest.skip(f"{runtime} cannot run containers on this host: {unavailable}")
    out = client.containers.run("busybox", ["echo", f"via-{runtime}"], runtime=runtime,
                                remove=True)
    assert out == f"via-{runtime}\n".encode()


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
