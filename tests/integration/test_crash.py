"""kill -9 of the daemon at many moments of busy work (create, start, rm,
commit, volumes, networks, loads, imports, builds, pulls), each followed by a
restart that must repair:
every object in the API works (inspect, remove), running containers are still
running and manageable, and once everything is removed nothing of ours is left
(no runc container, conmon, mount, scratch file). DPY_CRASH_ROUNDS=50 for a
longer run by hand."""
from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import threading
import time
from collections.abc import Iterator

import docker
import pytest

from . import archives
from .conftest import busybox_daemon
from .daemonctl import Daemon, conmons_left, mounts, runtime_containers
from .registries import REGISTRY, image_config, layer_tar

ROUNDS = int(os.environ.get("DPY_CRASH_ROUNDS", "8"))


@pytest.fixture
def crash_daemon(workdir, rootfs_tar) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    with busybox_daemon(workdir, rootfs_tar, "crash") as d:
        yield d


@pytest.fixture
def pullable(request) -> str | None:  # type: ignore[no-untyped-def]
    """An image of two 2 MB layers in a loopback registry (None without one)."""
    if not os.path.exists(REGISTRY):
        return None
    registry = request.getfixturevalue("registry")
    repo = "crash/pull"
    layers = [layer_tar({f"l{i}.bin": os.urandom(2 << 20)}) for i in range(2)]
    config = image_config(["sha256:" + hashlib.sha256(t).hexdigest() for t in layers])
    registry.put_manifest(repo, "v1", {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": registry.put_blob(repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": registry.put_blob(repo, t), "size": len(t)} for t in layers]},
        "application/vnd.oci.image.manifest.v1+json")
    return f"{registry.host}/{repo}"


BUILD_CONTEXT = archives.layer_tar({
    "Dockerfile": b"FROM busybox\nCOPY data /data\nRUN cat /data > /copy\nENV X=1\n",
    "data": b"d" * 50000})


def _busy(d: Daemon, stop: threading.Event, round_no: int, errors: list[str],
          pull_ref: str | None) -> None:
    """Work of every kind, as fast as it goes, until the daemon dies under it."""
    api = docker.APIClient(base_url=d.url, timeout=10)
    n = 0
    layers = [archives.layer_tar({f"etc/crash{round_no}": b"x" * 20000})]
    while not stop.is_set():
        n += 1
        try:
            kind = n % 9
            if kind == 6:
                api.import_image_from_data(layers[0], repository=f"crash/import{round_no}",
                                           tag=str(n))
            elif kind == 7:
                list(api.build(fileobj=io.BytesIO(BUILD_CONTEXT), custom_context=True,
                               tag=f"crash/build:{n}", nocache=True, forcerm=True))
            elif kind == 8 and pull_ref is not None:
                api.pull(pull_ref, tag="v1")
                api.remove_image(f"{pull_ref}:v1", force=True)
            elif kind == 0:
                ctr = api.create_container("busybox", ["sleep", "300"], name=f"c{round_no}-{n}")
                api.start(ctr)
            elif kind == 1:
                ctr = api.create_container("busybox", ["sh", "-c", "echo x > /y"])
                api.start(ctr)
                api.wait(ctr, timeout=5)
                api.commit(ctr, f"crash/commit{round_no}", str(n))
                api.remove_container(ctr, force=True)
            elif kind == 2:
                api.create_volume(f"v{round_no}-{n}")
            elif kind == 3:
                api.create_network(f"n{round_no}-{n}")
            elif kind == 4:
                config = archives.image_config(layers, ["sh"])
                api.load_image(archives.legacy_archive(layers, config, [f"crash/load:{n}"]))
            else:
                for c in api.containers(all=True)[:2]:
                    api.remove_container(c["Id"], force=True)
        except Exception as exc:  # the daemon dies at any moment: errors are expected
            errors.append(type(exc).__name__)


def _check_repaired(d: Daemon) -> None:
    api = d.api()
    for c in api.containers(all=True):
        info = api.inspect_container(c["Id"])
        if info["State"]["Running"]:
            assert api.exec_start(api.exec_create(c["Id"], ["true"])) == b""
    for image in api.images(all=True):
        api.inspect_image(image["Id"])
    for volume in api.volumes()["Volumes"] or []:
        api.inspect_volume(volume["Name"])
    for network in api.networks():
        api.inspect_network(network["Id"])
    assert list((d.data_root / "tmp").glob("*")) == []  # no scratch left (or no scratch dir)


def test_kill_9_at_many_moments_then_restart_repairs(crash_daemon, pullable):
    d = crash_daemon
    rng = random.Random(1234)
    for round_no in range(ROUNDS):
        stop = threading.Event()
        errors: list[str] = []
        workers = [threading.Thread(target=_busy, args=(d, stop, round_no, errors, pullable))
                   for _ in range(3)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.3, 1.5))
        d.stop(signal.SIGKILL)
        stop.set()
        for w in workers:
            w.join(30)
        d.start()
        _check_repaired(d)
    api = d.api()
    for c in api.containers(all=True):
        api.remove_container(c["Id"], force=True)
    for volume in api.volumes()["Volumes"] or []:
        api.remove_volume(volume["Name"])
    for network in api.networks():
        if network["Name"] not in ("bridge", "host", "none"):
            api.remove_network(network["Id"])
    assert api.containers(all=True) == []
    assert runtime_containers(str(d.exec_root)) == []
    assert conmons_left(str(d.exec_root)) == []
    leftover = [m for m in mounts.mounts_under(str(d.root))]
    assert leftover == [], leftover
    # with only busybox left, a restart's garbage collection keeps only its layer
    for _ in range(10):  # children before their parents (build steps), as Docker wants
        others = [i for i in api.images(all=True)
                  if "busybox:latest" not in (i["RepoTags"] or [])]
        for image in others:
            try:
                api.remove_image(image["Id"], force=True)
            except docker.errors.APIError as exc:
                assert exc.status_code in (404, 409), exc   # gone with a child, or a parent
        if not others:
            break
    assert [i["RepoTags"] for i in api.images(all=True)] == [["busybox:latest"]]
    d.restart()
    kept = sorted(n for n in os.listdir(d.data_root / "overlay2") if n != "l")
    assert len(kept) <= 3, kept          # busybox's layer, its init layer, the empty init
    assert not (d.data_root / "tmp").exists() or not os.listdir(d.data_root / "tmp")


# -- named points: the daemon killed exactly between two steps (DPY_CRASH_AT) --------
def _volume_check(api) -> None:  # type: ignore[no-untyped-def]
    assert "vc" in [v["Name"] for v in api.volumes()["Volumes"] or []]   # kept, as dockerd
    api.create_volume("vc")                                               # and usable
    api.remove_container(api.create_container("busybox", ["true"], host_config=
                         api.create_host_config(binds=["vc:/v"])))
    api.remove_volume("vc")


def _load_archive(tag: str) -> bytes:
    layers = [archives.layer_tar({"etc/loaded": b"l" * 30000})]
    return archives.legacy_archive(layers, archives.image_config(layers, ["sh"]), [tag])


def _commit_setup(api) -> str:  # type: ignore[no-untyped-def]
    ctr = api.create_container("busybox", ["sh", "-c", "echo x > /made"], name="cm")
    api.start(ctr)
    api.wait(ctr, timeout=10)
    return ctr["Id"]


POINTS = {
    # point: (set-up before arming or None, the action that dies, the check after restart)
    "container-create:filesystem-made": (
        None, lambda api, ref: api.create_container("busybox", ["true"], name="cc"),
        lambda api, ref: api.remove_container(api.create_container("busybox", ["true"],
                                                                   name="cc"))),
    "container-remove:record-deleted": (
        lambda api: api.create_container("busybox", ["true"], name="cr")["Id"],
        lambda api, ref: api.remove_container(ref),
        lambda api, ref: not api.containers(all=True, filters={"name": "cr"}) or
        pytest.fail("the removed container came back")),
    "commit:layer-made": (
        _commit_setup, lambda api, ref: api.commit(ref, "crash/cm", "1"),
        lambda api, ref: (not api.images(name="crash/cm") or pytest.fail("half an image"),
                          api.commit(ref, "crash/cm", "1"), api.remove_container(ref),
                          api.remove_image("crash/cm:1"))),
    "container-start:running": (
        lambda api: api.create_container("busybox", ["sleep", "300"], name="cs")["Id"],
        lambda api, ref: api.start(ref),
        lambda api, ref: (api.inspect_container(ref)["State"]["Status"] == "created" or
                          pytest.fail("an unacknowledged start survived"),
                          api.start(ref), api.remove_container(ref, force=True))),
    "image-add:before-record": (
        None, lambda api, ref: list(api.load_image(_load_archive("crash/ld:1"))),
        lambda api, ref: (not api.images(name="crash/ld") or pytest.fail("half an image"),
                          list(api.load_image(_load_archive("crash/ld:1"))),
                          api.images(name="crash/ld") or pytest.fail("no image"),
                          api.remove_image("crash/ld:1"))),
    "volume-create:directory-made": (
        None, lambda api, ref: api.create_volume("vc"), lambda api, ref: _volume_check(api)),
    "pull:layer-committed": (
        None, lambda api, ref: api.pull(ref, tag="v1"),
        lambda api, ref: (not api.images(name=ref) or pytest.fail("half an image"),
                          api.pull(ref, tag="v1"), api.remove_image(f"{ref}:v1"))),
}


@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_kill_between_two_steps_is_repaired(crash_daemon, pullable, point):
    d = crash_daemon
    setup, action, check = POINTS[point]
    if point.startswith("pull:"):
        if pullable is None:
            pytest.skip("docker-registry is not installed")
        ref = pullable
    else:
        ref = setup(d.api()) if setup else None
    d.stop()
    d.start(env={**os.environ, "DPY_CRASH_AT": point})
    with pytest.raises(Exception):  # noqa: B017 -- the daemon dies in the middle of the call
        action(docker.APIClient(base_url=d.url, timeout=20), ref)
    assert d.proc.wait(timeout=10) == 137
    d.start()
    api = d.api()
    check(api, ref)
    _check_repaired(d)
    # nothing half-made stays: no runtime state, no conmon, and on disk only
    # busybox's layers after a GC restart
    for c in api.containers(all=True):
        api.remove_container(c["Id"], force=True)
    assert runtime_containers(str(d.exec_root)) == []
    assert conmons_left(str(d.exec_root)) == []
    d.restart()
    kept = sorted(n for n in os.listdir(d.data_root / "overlay2") if n != "l")
    assert len(kept) <= 3, kept
