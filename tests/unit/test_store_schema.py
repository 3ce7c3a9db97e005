"""The metadata store's schema version and migrations, on real SQLite files: a
fresh store, a store written by the release before versioning (a fixture made by
that release, see tests/fixtures/README.md), a store from a newer release, and a
migration that fails half-way."""
from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from dockerd_py.daemon import schema
from dockerd_py.daemon.container_mounts import MountPoint
from dockerd_py.daemon.containers.repository import ContainerRepository
from dockerd_py.daemon.images.repository import ImageStore
from dockerd_py.daemon.store import Store, loads

FIXTURES = Path(__file__).parent.parent / "fixtures"
TABLES = ("containers", "images", "refs", "blobs", "layer_sources", "networks", "volumes", "meta")
# What the fixture's maker (tests/fixtures/make_store_fixture.py) made.
FIXTURE_CONTAINER = "e87965e4441e3d19f6b0d6c7e9b529860dd62102fd893e2d2a423a9a751179e9"
FIXTURE_CREATED = "4896b875ade4dc58939cfd7578bb2479121dd4d7139b6ee4bfb93074d1b2de90"
FIXTURE_NETWORK = "0bc86f0808c85644fdd128be0745b07c366f529837114ba7896bb9ca7b903cff"


def _rows(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}
    finally:
        conn.close()


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _copy_fixture(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "metadata.db"
    shutil.copyfile(FIXTURES / name, path)
    return path


def test_a_fresh_store_has_the_current_version_and_every_table(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "metadata.db"))
    store.close()
    assert schema.CURRENT >= 1
    assert _user_version(tmp_path / "metadata.db") == schema.CURRENT
    assert _rows(tmp_path / "metadata.db") == {t: [] for t in TABLES}


def test_the_previous_release_store_opens_with_every_object_intact(tmp_path: Path) -> None:
    path = _copy_fixture(tmp_path, "metadata-v0.db")
    assert _user_version(path) == 0
    before = _rows(path)
    assert len(before["containers"]) == 2 and len(before["refs"]) == 2

    store = Store(str(path))
    try:
        repo = ContainerRepository(store)
        containers = {c.id: c for c in asyncio.run(repo.load())}
        images = ImageStore(store)
        images.load()
        networks = {doc["Name"]: doc for doc in store.run_sync(
            lambda c: [loads(r[0]) for r in c.execute("SELECT doc FROM networks")])}
        volumes = {name: loads(doc) for name, doc in store.run_sync(
            lambda c: c.execute("SELECT name, doc FROM volumes").fetchall())}
    finally:
        store.close()

    assert _user_version(path) == schema.CURRENT
    after = _rows(path)
    for table in TABLES:  # only the containers' records change shape (version 2)
        if table != "containers":
            assert after[table] == before[table]
    assert [row[:3] for row in after["containers"]] == [row[:3] for row in before["containers"]]
    ctr = containers[FIXTURE_CONTAINER]
    old_doc = loads(next(row[3] for row in before["containers"] if row[0] == FIXTURE_CONTAINER))
    assert ctr.internal.mounts == [MountPoint(
        "volume", "/data", source="/tmp/fx/data/volumes/fixture-vol/_data", name="fixture-vol",
        driver="local", mode="rw", rw=True, copied=True)]
    assert ctr.mount_views() == old_doc["Mounts"]  # inspect shows what it showed
    assert "Mounts" not in ctr.doc
    assert ctr.name == "fixture-ctr"
    assert ctr.doc["Config"]["Labels"] == {"made-by": "fixture"}
    assert "A=1" in ctr.doc["Config"]["Env"]
    assert ctr.doc["HostConfig"]["Binds"] == ["fixture-vol:/data:rw"]
    assert ctr.doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert ctr.doc["State"]["Status"] == "exited"
    assert containers[FIXTURE_CREATED].name == "fixture-created"
    assert containers[FIXTURE_CREATED].doc["State"]["Status"] == "created"
    assert (images.refs["docker.io/fixture/app:v1"] == images.refs["docker.io/library/busybox:latest"]
            == ctr.image_id)
    assert networks["fixture-net"]["Id"] == FIXTURE_NETWORK
    assert networks["fixture-net"]["Labels"] == {"made-by": "fixture"}
    assert set(networks) == {"bridge", "host", "none", "fixture-net"}
    assert volumes["fixture-vol"]["Labels"] == {"made-by": "fixture"}


def test_a_store_from_a_newer_release_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = _copy_fixture(tmp_path, "metadata-v0.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.CURRENT + 1}")
    conn.close()
    before = _rows(path)
    with pytest.raises(schema.SchemaTooNew) as caught:
        Store(str(path))
    assert str(caught.value) == (
        f"the metadata database {path} has schema version {schema.CURRENT + 1}, written by a "
        f"newer dockerd-py; this one knows versions up to {schema.CURRENT}")
    assert _user_version(path) == schema.CURRENT + 1
    assert _rows(path) == before


def test_a_migration_that_fails_leaves_the_store_at_the_version_it_had(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _copy_fixture(tmp_path, "metadata-v0.db")
    before = _rows(path)

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE volumes ADD COLUMN driver TEXT")
        conn.execute("UPDATE volumes SET doc = '{}'")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, half_done))
    monkeypatch.setattr(schema, "CURRENT", len(schema.MIGRATIONS))
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        Store(str(path))
    assert _user_version(path) == schema.CURRENT - 1  # the versions before it: done
    after = _rows(path)
    assert after["volumes"] == before["volumes"]  # the failed one's changes: rolled back
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(volumes)")]
    conn.close()
    assert columns == ["name", "doc"]


def test_version_2_types_every_kind_of_old_mount_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Binds, anonymous volumes and tmpfs as version 1 kept them (what the fixture's
    one named volume does not show)."""
    path = tmp_path / "metadata.db"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        m.setattr(schema, "CURRENT", 1)
        Store(str(path)).close()
    old_mounts = [
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "Mode": "ro", "RW": False,
         "Propagation": "rprivate", "_create_source": True},
        {"Type": "volume", "Name": "f" * 64, "Source": "/v/_data", "Destination": "/cache",
         "Driver": "local", "Mode": "", "RW": True, "Propagation": "", "_nocopy": False,
         "_anonymous": True, "_copied": False},
        {"Type": "tmpfs", "Source": "", "Destination": "/run", "Mode": "size=65536k",
         "RW": True, "Propagation": ""}]
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO containers VALUES (?,?,?,?,?)", (
        "c" * 64, "old", "sha256:" + "a" * 64, '{"Mounts": []}',
        json.dumps({"rw_layer": "r", "runtime": "runc", "mounts": old_mounts})))
    conn.commit()
    conn.close()

    store = Store(str(path))
    try:
        (ctr,) = asyncio.run(ContainerRepository(store).load())
    finally:
        store.close()
    assert ctr.internal.mounts == [
        MountPoint("bind", "/srv", source="/srv", mode="ro", rw=False, propagation="rprivate",
                   create_source=True),
        MountPoint("volume", "/cache", source="/v/_data", name="f" * 64, driver="local",
                   anonymous=True),
        MountPoint("tmpfs", "/run", mode="size=65536k")]
    assert ctr.mount_views() == [
        {"Type": "bind", "Source": "/srv", "Destination": "/srv", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "volume", "Name": "f" * 64, "Source": "/v/_data", "Destination": "/cache",
         "Driver": "local", "Mode": "", "RW": True, "Propagation": ""},
        {"Type": "tmpfs", "Source": "", "Destination": "/run", "Mode": "size=65536k",
         "RW": True, "Propagation": ""}]
