"""The data root on a small filesystem that fills up: Docker's "no space left on
device" texts, nothing half-written kept, removals still work (the space
reserve), the daemon keeps serving, and all is well once space is freed —
also across a restart."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from . import archives
from .conftest import busybox_daemon
from .daemonctl import Daemon
from .registries import image_config, layer_tar


@pytest.fixture
def small_daemon(workdir, rootfs_tar) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    """A daemon whose data root is a 48 MB tmpfs, with busybox imported."""
    def tmpfs_data_root(d: Daemon) -> None:
        d.data_root.mkdir(parents=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(d.data_root)],
                       check=True)
    with busybox_daemon(workdir, rootfs_tar, "full", prepare=tmpfs_data_root) as d:
        yield d


def fill(d: Daemon, leave_mb: int = 0) -> Path:
    """Fill the data root, leaving about leave_mb MB free; the filler file."""
    filler = d.data_root / "filler"
    st = os.statvfs(d.data_root)
    free = st.f_bavail * st.f_frsize - (leave_mb << 20)
    with open(filler, "wb") as f:
        while free > 0:
            try:
                f.write(b"\0" * min(free, 1 << 20))
            except OSError:
                break
            free -= 1 << 20
    return filler


def test_a_full_disk_fails_cleanly_and_recovers(small_daemon):
    d = small_daemon
    api = d.api()
    keep = api.create_container("busybox", ["true"])
    filler = fill(d)
    overlay_before = set(os.listdir(d.data_root / "overlay2"))
    with pytest.raises(docker.errors.APIError) as err:
        api.create_container("busybox", ["true"])
    assert "no space left on device" in err.value.explanation
    layers = [archives.layer_tar({"big": os.urandom(4 << 20)})]
    resp = list(api.load_image(archives.legacy_archive(
        layers, archives.image_config(layers, ["sh"]), ["full/load:1"])))
    assert "no space left on device" in json.dumps(resp)
    assert set(os.listdir(d.data_root / "overlay2")) == overlay_before  # nothing kept
    # removals free space even now
    api.remove_container(keep)
    assert api.containers(all=True) == []
    assert api.ping()
    reserve = d.data_root / "space-reserve"
    assert not reserve.exists()        # given back when the disk filled
    filler.unlink()
    deadline = time.time() + 10
    while not reserve.exists() and time.time() < deadline:   # back with the room
        api.remove_container(api.create_container("busybox", ["true"]))
        time.sleep(0.5)
    assert reserve.exists()
    ctr = api.create_container("busybox", ["echo", "space again"])
    api.start(ctr)
    api.wait(ctr)
    assert api.logs(ctr) == b"space again\n"
    d.restart()
    assert d.api().inspect_container(ctr["Id"])["State"]["ExitCode"] == 0


def test_running_containers_pull_cp_and_build_on_a_full_disk(small_daemon, registry):
    """What runs when the disk fills: a container logging and writing keeps its
    exit, `docker cp`, pull and build fail with Docker's text and keep nothing,
    and all of them work once space is back."""
    d = small_daemon
    api = d.api()
    payload = layer_tar({"big.bin": os.urandom(12 << 20)})
    repo = "full/pull"
    config = image_config(["sha256:" + hashlib.sha256(payload).hexdigest()])
    registry.put_manifest(repo, "v1", {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": registry.put_blob(repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": registry.put_blob(repo, payload), "size": len(payload)}]},
        "application/vnd.oci.image.manifest.v1+json")
    late = api.create_container("busybox", ["true"])
    chatty = api.create_container("busybox", ["sh", "-c", "while true; do echo a log line; done"])
    writer = api.create_container("busybox", ["sh", "-c", "dd if=/dev/zero of=/big bs=1M "
                                              "count=100 2>/dev/null; echo rc=$?; sleep 60"])
    api.start(chatty)
    api.start(writer)
    filler = fill(d, leave_mb=2)
    time.sleep(1)                                   # the log and the layer hit the wall
    overlay_before = set(os.listdir(d.data_root / "overlay2"))

    api.stop(chatty, timeout=1)
    assert api.wait(chatty, timeout=30)["StatusCode"] in (137, 143)
    assert b"a log line" in api.logs(chatty, tail=5)
    assert api.exec_start(api.exec_create(writer, ["cat", "/proc/1/cmdline"])) != b""
    api.kill(writer)
    assert api.wait(writer, timeout=30)["StatusCode"] == 137

    big = layer_tar({"incoming.bin": os.urandom(8 << 20)})
    with pytest.raises(docker.errors.APIError) as err:
        api.put_archive(writer, "/", big)
    assert "no space left on device" in err.value.explanation

    pulled = json.dumps(list(api.pull(f"{registry.host}/{repo}", tag="v1", stream=True,
                                      decode=True)))
    assert "no space left on device" in pulled

    context = layer_tar({"Dockerfile": b"FROM busybox\n"
                                       b"RUN dd if=/dev/zero of=/fill bs=1M count=30\n"})
    try:
        built = json.dumps(list(api.build(fileobj=io.BytesIO(context),
                                          custom_context=True, forcerm=True,
                                          tag="full/build:1", decode=True)))
    except docker.errors.APIError as exc:   # no room for the context itself
        built = exc.explanation
    assert "no space left on device" in built, built

    assert set(os.listdir(d.data_root / "overlay2")) == overlay_before  # nothing kept
    assert not api.images(name="full/build") and not api.images(name=f"{registry.host}/{repo}")
    # an exit while nothing can be written (the space reserve went at the first
    # full write) is still an exit: waiters get it, the state is saved later
    try:
        api.start(late)
    except docker.errors.APIError as exc:
        assert "no space left on device" in exc.explanation
    else:
        assert api.wait(late, timeout=30)["StatusCode"] == 0
    assert api.ping()

    filler.unlink()
    for ctr in (chatty, writer, late):
        api.remove_container(ctr, force=True)
    target = api.create_container("busybox", ["true"])
    api.put_archive(target, "/", big)
    api.pull(f"{registry.host}/{repo}", tag="v1")
    context = layer_tar({"Dockerfile": b"FROM busybox\nRUN echo built > /built\n"})
    list(api.build(fileobj=io.BytesIO(context), custom_context=True,
                   tag="full/build:1", decode=True))
    assert api.images(name="full/build")
    api.remove_container(target)


def test_a_record_left_without_its_files_is_still_removable(fresh_daemon):
    """On a full disk a removal deletes the files before the record; a crash
    between the two leaves a record without files, which a restart lists and
    `rm` removes."""
    d = fresh_daemon
    cid = d.api().create_container("busybox", ["true"], name="halfgone")["Id"]
    d.stop()
    shutil.rmtree(d.data_root / "containers" / cid)
    for layer in os.listdir(d.data_root / "overlay2"):
        if layer.startswith(cid):
            shutil.rmtree(d.data_root / "overlay2" / layer)
    d.start()
    api = d.api()
    assert [c["Id"] for c in api.containers(all=True, filters={"name": "halfgone"})] == [cid]
    api.remove_container(cid, force=True)
    assert api.containers(all=True, filters={"name": "halfgone"}) == []
    assert not [n for n in os.listdir(d.data_root / "overlay2") if n.startswith(cid)]
