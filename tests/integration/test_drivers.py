"""One suite for every graph driver (as moby's graphtest runs against each):
layers, whiteouts, copy-on-write, changes, diffs, and byte-exact layer tars."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest

from dockerd_py.storage import mounts
from dockerd_py.storage.changes import ADD, DELETE, MODIFY
from dockerd_py.storage.drivers import DRIVERS, new_driver
from dockerd_py.storage.layers import LayerStore
from dockerd_py.storage.tarstream import ArchiveError
from dockerd_py.userns import IDENTITY, IdMap, IdRange

# --userns-remap: container IDs 0-65535 stored as 100000-165535 (gids from 200000)
REMAPPED = IdMap((IdRange(0, 100000, 65536),), (IdRange(0, 200000, 65536),))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="graph drivers need root")


@pytest.fixture(params=[(name, remap) for name in sorted(DRIVERS) for remap in (False, True)],
                ids=lambda p: p[0] + ("-userns" if p[1] else ""))
def store(request):  # type: ignore[no-untyped-def]
    name, remap = request.param
    root = Path(tempfile.mkdtemp(prefix=f"drv-{name}-"))
    driver = new_driver(name, str(root), REMAPPED if remap else IDENTITY)
    layers = LayerStore(str(root / "layerdb"), driver)
    layers.load()
    yield layers
    for point in mounts.mounts_under(str(root)):
        mounts.umount(point, detach=True)
    import shutil
    shutil.rmtree(root, ignore_errors=True)


def tar_bytes(entries: list[tuple]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            name, kind = entry[0], entry[1]
            opts = entry[2] if len(entry) > 2 else {}
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mtime = opts.get("mtime", 1_600_000_000)
            info.mode = opts.get("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
            info.uid, info.gid = opts.get("uid", 0), opts.get("gid", 0)
            info.linkname = opts.get("link", "")
            info.devmajor, info.devminor = opts.get("dev", (0, 0))
            if opts.get("xattrs"):
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in opts["xattrs"].items()}
            data = opts.get("data", b"")
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


BASE = [
    ("etc", tarfile.DIRTYPE),
    ("etc/motd", tarfile.REGTYPE, {"data": b"from-image\n"}),
    ("etc/shadow", tarfile.REGTYPE, {"data": b"secret\n", "mode": 0o600, "uid": 1000, "gid": 42}),
    ("bin", tarfile.DIRTYPE),
    ("bin/tool", tarfile.REGTYPE, {"data": b"#!/bin/sh\n", "mode": 0o4755}),
    ("bin/hard", tarfile.LNKTYPE, {"link": "bin/tool"}),
    ("bin/abs-link", tarfile.SYMTYPE, {"link": "/bin/tool"}),
    ("bin/rel-link", tarfile.SYMTYPE, {"link": "../etc/motd"}),
    ("dev", tarfile.DIRTYPE),
    ("dev/null", tarfile.CHRTYPE, {"dev": (1, 3), "mode": 0o666}),
    ("dev/fifo", tarfile.FIFOTYPE, {"mode": 0o600}),
    ("data", tarfile.DIRTYPE),
    ("data/a", tarfile.REGTYPE, {"data": b"a"}),
    ("data/b", tarfile.REGTYPE, {"data": b"b", "xattrs": {"user.mark": "xyz"}}),
    ("gone", tarfile.DIRTYPE),
    ("gone/x", tarfile.REGTYPE, {"data": b"x"}),
]


def register(store: LayerStore, entries: list[tuple], parent: str | None = None):  # type: ignore[no-untyped-def]
    raw = tar_bytes(entries)
    layer = store.register(io.BytesIO(raw), parent)
    return layer, raw


def test_round_trip_keeps_metadata_and_bytes(store):
    layer, raw = register(store, BASE)
    assert layer.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert b"".join(store.tar_stream(layer.chain_id)) == raw
    root = Path(store.driver.get(layer.cache_id))
    try:
        shadow = os.lstat(root / "etc/shadow")
        assert (stat.S_IMODE(shadow.st_mode), shadow.st_uid, shadow.st_gid) == \
            (0o600, *store.driver.idmap.to_host(1000, 42))
        assert (os.lstat(root / "etc").st_uid, os.lstat(root).st_uid) == \
            (store.driver.idmap.root[0],) * 2  # the layer's root: the container's root
        assert stat.S_IMODE(os.lstat(root / "bin/tool").st_mode) == 0o4755  # setuid kept
        assert os.lstat(root / "bin/hard").st_ino == os.lstat(root / "bin/tool").st_ino
        assert os.readlink(root / "bin/abs-link") == "/bin/tool"
        dev = os.lstat(root / "dev/null")
        assert stat.S_ISCHR(dev.st_mode) and os.major(dev.st_rdev) == 1 and os.minor(dev.st_rdev) == 3
        assert stat.S_ISFIFO(os.lstat(root / "dev/fifo").st_mode)
        assert os.getxattr(root / "data/b", "user.mark") == b"xyz"
        assert int(os.lstat(root / "etc/motd").st_mtime) == 1_600_000_000
    finally:
        store.driver.put(layer.cache_id)


def test_whiteouts_and_opaque_dirs_across_layers(store):
    base, _ = register(store, BASE)
    upper_entries = [
        ("etc/.wh.motd", tarfile.REGTYPE),
        ("data", tarfile.DIRTYPE),
        ("data/.wh..wh..opq", tarfile.REGTYPE),
        ("data/c", tarfile.REGTYPE, {"data": b"c"}),
        (".wh.gone", tarfile.REGTYPE),
    ]
    top, raw = register(store, upper_entries, base.chain_id)
    assert b"".join(store.tar_stream(top.chain_id)) == raw  # whiteouts reproduced exactly
    init = store.ensure_init(top.chain_id, lambda root: None)
    store.create_rw("rw1", init)
    root = Path(store.driver.get("rw1"))
    try:
        assert not (root / "etc/motd").exists()
        assert (root / "etc/shadow").exists()
        assert sorted(os.listdir(root / "data")) == ["c"]
        assert not (root / "gone").exists()
    finally:
        store.driver.put("rw1")
        store.driver.remove("rw1")


def test_copy_on_write_changes_and_diff(store):
    base, _ = register(store, BASE)
    init = store.ensure_init(base.chain_id, lambda root: None)
    store.create_rw("rw2", init)
    root = Path(store.driver.get("rw2"))
    try:
        (root / "etc/motd").write_text("changed\n")
        (root / "etc/new").write_text("new\n")
        os.unlink(root / "data/a")
        import shutil
        shutil.rmtree(root / "gone")
        os.mkdir(root / "fresh")
        (root / "fresh/f").write_text("f")
        for made in ("etc/new", "fresh", "fresh/f"):  # as the container's root makes them
            os.chown(root / made, *store.driver.idmap.root)
    finally:
        store.driver.put("rw2")
    # the image's layer is untouched
    lower = Path(store.driver.get(base.cache_id))
    try:
        assert (lower / "etc/motd").read_text() == "from-image\n"
        assert (lower / "data/a").exists()
    finally:
        store.driver.put(base.cache_id)
    changes = {c.path: c.kind for c in store.driver.changes("rw2")}
    assert changes["/etc"] == MODIFY
    assert changes["/etc/motd"] == MODIFY
    assert changes["/etc/new"] == ADD
    assert changes["/data/a"] == DELETE
    assert changes["/gone"] == DELETE
    assert changes["/fresh"] == ADD and changes["/fresh/f"] == ADD
    assert "/etc/shadow" not in changes and "/bin" not in changes
    # the diff as a layer tar, applied on the same parent, reproduces the container
    diff = b"".join(store.driver.diff("rw2"))
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(diff))}
    names = list(members)
    assert "data/.wh.a" in names and ".wh.gone" in names and "etc/motd" in names
    # owners as the container sees them, whatever the host stores
    assert {(m.uid, m.gid) for m in members.values()} == {(0, 0)}
    layer = store.register(io.BytesIO(diff), base.chain_id)
    top = Path(store.driver.get(layer.cache_id)) if store.driver.parent_of(layer.cache_id) \
        else None
    view_init = store.ensure_init(layer.chain_id, lambda root: None)
    store.create_rw("rw3", view_init)
    view = Path(store.driver.get("rw3"))
    try:
        assert (view / "etc/motd").read_text() == "changed\n"
        assert (view / "etc/new").read_text() == "new\n"
        assert not (view / "data/a").exists() and (view / "data/b").exists()
        assert not (view / "gone").exists()
        assert (view / "fresh/f").read_text() == "f"
    finally:
        store.driver.put("rw3")
        if top is not None:
            store.driver.put(layer.cache_id)


def test_identical_layers_are_stored_once_and_released(store):
    first, _ = register(store, BASE)
    second, _ = register(store, BASE)
    assert first.chain_id == second.chain_id
    assert len(store.all()) == 1 and store.refcount(first.chain_id) == 2
    child, _ = register(store, [("x", tarfile.REGTYPE, {"data": b"1"})], first.chain_id)
    store.release(first.chain_id)
    store.release(first.chain_id)
    assert first.chain_id in store  # the child holds its parent
    store.release(child.chain_id)
    assert store.all() == []
    assert not store.driver.exists(first.cache_id)


def test_deep_image_mounts(store):
    parent = None
    for i in range(130):
        layer, _ = register(store, [(f"f{i}", tarfile.REGTYPE, {"data": str(i).encode()})], parent)
        parent = layer.chain_id
    init = store.ensure_init(parent, lambda root: None)
    store.create_rw("deep", init)
    root = Path(store.driver.get("deep"))
    try:
        assert (root / "f0").read_text() == "0" and (root / "f129").read_text() == "129"
    finally:
        store.driver.put("deep")


def test_an_init_layer_cut_short_is_removed_at_start(store):
    """The daemon killed inside ensure_init (the init layer made and mounted for
    its setup, no marker yet): the start's garbage collection removes it, mount
    and all, and the next container of the image gets it made again."""
    base, _ = register(store, BASE)
    init_id = f"{base.cache_id}-init"
    store.driver.create(init_id, base.cache_id)
    merged = store.driver.get(init_id)  # the setup's mount, never put back
    store.collect_garbage(set())
    assert not store.driver.exists(init_id)
    assert merged not in mounts.mounts_under(str(store.driver.home))
    assert store.ensure_init(base.chain_id, lambda root: None) == init_id
    assert store.driver.exists(init_id)


def test_corrupt_layer_leaves_nothing(store):
    raw = tar_bytes(BASE)
    before = set(store.driver.list_ids())
    with pytest.raises(ArchiveError):
        store.register(io.BytesIO(raw[:3000]), None)
    assert set(store.driver.list_ids()) == before
    assert store.all() == []
