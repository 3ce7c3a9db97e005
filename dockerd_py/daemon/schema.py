"""The metadata database's schema, versioned, and the migrations between versions.

The version is SQLite's `PRAGMA user_version`. Each migration is a small function
that takes a store from version N-1 to N; `migrate` runs the ones a store lacks,
each in its own transaction together with the version it makes, so a crash leaves
the store at a version it fully has. A store from a newer release is refused
rather than guessed at: its data stays as it is.

To change a stored shape: add `_vN_...` at the end of MIGRATIONS, and add a
fixture written by the release before it (tests/fixtures/, see its README).
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


class SchemaTooNew(Exception):
    """The store was written by a newer release: it is left untouched."""


_V1_TABLES = (
    """CREATE TABLE IF NOT EXISTS containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        internal TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS images (
        id TEXT PRIMARY KEY,
        config BLOB NOT NULL,
        meta TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS refs (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE)""",
    "CREATE INDEX IF NOT EXISTS refs_image ON refs(image_id)",
    """CREATE TABLE IF NOT EXISTS blobs (
        digest TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        data BLOB NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS layer_sources (
        diff_id TEXT NOT NULL,
        registry TEXT NOT NULL,
        repository TEXT NOT NULL,
        digest TEXT NOT NULL,
        size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        PRIMARY KEY (diff_id, registry, repository))""",
    """CREATE TABLE IF NOT EXISTS networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        doc TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS volumes (
        name TEXT PRIMARY KEY,
        doc TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
)


def _v1_tables(conn: sqlite3.Connection) -> None:
    """The tables as the releases before versioning made them. IF NOT EXISTS:
    a store from those releases (user_version 0) already has them and is
    adopted as it is."""
    for statement in _V1_TABLES:
        conn.execute(statement)


# A container's mounts as releases before version 2 kept them: Docker's MountPoint
# keys, the daemon's own beside them with an underscore.
_V1_MOUNT_KEYS = {"Type": "type", "Destination": "destination", "Source": "source",
                  "Name": "name", "Driver": "driver", "Mode": "mode", "RW": "rw",
                  "Propagation": "propagation", "_create_source": "create_source",
                  "_nocopy": "nocopy", "_copied": "copied", "_anonymous": "anonymous",
                  "_driver_opts": "driver_opts", "_labels": "labels"}


def _v2_typed_mounts(conn: sqlite3.Connection) -> None:
    """Containers' mounts become typed records (container_mounts.MountPoint); the
    document's `Mounts` goes: inspect projects it from those records."""
    rows = conn.execute("SELECT id, doc, internal FROM containers").fetchall()
    for cid, doc_text, internal_text in rows:
        doc, internal = json.loads(doc_text), json.loads(internal_text)
        mounts = [{_V1_MOUNT_KEYS[k]: v for k, v in m.items() if k in _V1_MOUNT_KEYS}
                  for m in internal.get("mounts") or []]
        for m in mounts:
            for key in ("driver_opts", "labels"):
                m[key] = m.get(key) or {}
            m["rw"] = bool(m.get("rw", True))
        internal["mounts"] = mounts
        doc.pop("Mounts", None)
        conn.execute("UPDATE containers SET doc=?, internal=? WHERE id=?",
                     (_dumps(doc), _dumps(internal), cid))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


MIGRATIONS: tuple[Migration, ...] = (
    _v1_tables,
    _v2_typed_mounts,
)
CURRENT = len(MIGRATIONS)


def version_of(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the store to CURRENT; returns the version it was found at."""
    found = version_of(conn)
    if found > CURRENT:
        raise SchemaTooNew(f"the metadata database {path} has schema version {found}, written by "
                           f"a newer dockerd-py; this one knows versions up to {CURRENT}")
    for version in range(found + 1, CURRENT + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version - 1](conn)
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if found:
            log.info("metadata database migrated to schema version %d", version)
    return found
