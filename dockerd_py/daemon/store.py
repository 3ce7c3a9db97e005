"""SQLite metadata: WAL, full sync, foreign keys, one writer thread.

Each object is a row with a few indexed columns and a JSON document in
Docker's own shape, so `inspect` is a projection. The tables and their versions
are in schema.py. Every call runs on the one
store thread, so the event loop never waits on the disk and writes never race.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import DiskFull
from . import schema

T = TypeVar("T")
log = logging.getLogger(__name__)

RESERVE_BYTES = 8 << 20
FULL_TEXT = "no space left on device: the metadata database cannot grow"
RESERVE_CHECK_SECONDS = 2.0


def _disk_full(exc: sqlite3.OperationalError) -> bool:
    return "full" in str(exc).lower()


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None
        self._reserve_gone = False
        self._next_reserve_check = 0.0
        try:
            self._executor.submit(self._open).result()
        except BaseException:
            self._executor.submit(self._close_connection).result()
            self._executor.shutdown(wait=True)
            raise

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn
        schema.migrate(conn, self.path)
        self._make_reserve()
        self._reserve_gone = not os.path.exists(self._reserve)
        self._thread = threading.current_thread()

    def close(self) -> None:
        self._executor.submit(self._close_connection).result()
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn(conn) on the store thread inside one transaction."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, fn)

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """For start-up and shutdown only, before or after the loop serves requests."""
        return self._executor.submit(self._transaction, fn).result()

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            try:
                result = self._transaction_once(fn)
                if self._reserve_gone:
                    self._restore_reserve()
                return result
            except sqlite3.OperationalError as exc:
                if not _disk_full(exc) or not self._release_reserve():
                    raise
                return self._transaction_once(fn)  # with the reserve's room
        except sqlite3.OperationalError as exc:
            if _disk_full(exc):
                raise DiskFull(FULL_TEXT) from exc
            raise

    def _transaction_once(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        assert conn is not None, "store is closed"
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.OperationalError:
                pass  # nothing began, or SQLite already rolled back
            raise
        conn.execute("COMMIT")
        return result

    # -- the space reserve: on a full disk, removals still get to run ---------------
    @property
    def _reserve(self) -> str:
        return os.path.join(os.path.dirname(self.path), "space-reserve")

    def _make_reserve(self) -> None:
        """RESERVE_BYTES kept aside while there is room, given back when a write
        finds the disk full, so that `rm`, `rmi` and prunes can free space."""
        if os.path.exists(self._reserve):
            return
        try:
            with open(self._reserve + ".tmp", "wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
                f.flush()
                os.fsync(f.fileno())
            os.replace(self._reserve + ".tmp", self._reserve)
        except OSError:
            for path in (self._reserve + ".tmp", self._reserve):
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def _release_reserve(self) -> bool:
        try:
            os.unlink(self._reserve)
        except FileNotFoundError:
            return False
        self._reserve_gone = True
        log.warning("the data root's disk is full: released the space reserve so that "
                    "removals can free space (it comes back when there is room again)")
        return True

    def _restore_reserve(self) -> None:
        """After a full disk: the reserve again, once there is room for it several
        times over (looked at no more than every few seconds)."""
        now = time.monotonic()
        if now < self._next_reserve_check:
            return
        self._next_reserve_check = now + RESERVE_CHECK_SECONDS
        st = os.statvfs(os.path.dirname(self.path))
        if st.f_bavail * st.f_frsize < 4 * RESERVE_BYTES:
            return
        self._make_reserve()
        if os.path.exists(self._reserve):
            self._reserve_gone = False
            log.info("the data root's disk has room again: the space reserve is back")

    # -- helpers used by the services -------------------------------------------
    def integrity_check(self) -> str:
        return self._executor.submit(
            lambda: self._conn.execute("PRAGMA integrity_check").fetchone()[0]  # type: ignore[union-attr]
        ).result()


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return json.loads(text)
