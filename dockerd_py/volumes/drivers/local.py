"""local: Docker's default volume driver. A volume is <root>/<name>/_data; with
options it is a mount made at first use and undone at the last: `type=tmpfs`
(o=size=..), `o=bind` with `device=<host dir>`, or a filesystem `type` on a
`device` (a block device or a loop file)."""
from __future__ import annotations

import errno
import os
import shutil
import threading

from ...storage import mounts
from ...storage.drivers.base import remove_tree, tree_size
from .base import VolumeDriver, VolumeDriverError

OPTIONS = {"type", "device", "o", "size"}


class LocalDriver(VolumeDriver):
    name = "local"

    def __init__(self, root: str, owner: tuple[int, int] | None = None) -> None:
        super().__init__(root, owner)
        os.makedirs(root, mode=0o701, exist_ok=True)
        self._lock = threading.Lock()
        self._users: dict[str, set[str]] = {}

    def _dir(self, name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise VolumeDriverError(f"invalid volume name {name!r}")
        return os.path.join(self.root, name)

    def path(self, name: str) -> str:
        return os.path.join(self._dir(name), "_data")

    def exists(self, name: str) -> bool:
        return os.path.isdir(self.path(name))

    def names(self) -> list[str]:
        """Every volume on disk (a record may be missing: a crash right after
        the directory was made)."""
        try:
            entries = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in entries if os.path.isdir(os.path.join(self.root, n, "_data")))

    def create(self, name: str, options: dict[str, str]) -> None:
        for key in options:
            if key not in OPTIONS:
                raise VolumeDriverError(f"invalid option key: {key!r}")
        kind, device, o = options.get("type", ""), options.get("device", ""), options.get("o", "")
        if options.get("size"):
            raise VolumeDriverError("quota size requested but no quota support")
        if kind or device or o:
            if not kind and "bind" not in o.split(","):
                raise VolumeDriverError('missing required option: "type"')
            if kind and kind != "tmpfs" and not device:
                raise VolumeDriverError('missing required option: "device"')
            if "bind" in o.split(",") and not os.path.isdir(device):
                raise VolumeDriverError(f"failed to mount local volume: mount {device}: "
                                        "no such file or directory")
            if kind and kind not in ("tmpfs", "none") and not _kernel_has(kind):
                raise VolumeDriverError(f"failed to mount local volume: unknown filesystem "
                                        f"type '{kind}'")
        os.makedirs(self.path(name), mode=0o755, exist_ok=True)
        if self.owner is not None:
            os.chown(self.path(name), *self.owner)

    def remove(self, name: str) -> None:
        data, top = self.path(name), self._dir(name)
        try:  # the common case, an empty volume, without reading the mount table
            os.rmdir(data)
            os.rmdir(top)
            return
        except FileNotFoundError:
            pass
        except OSError as exc:  # EBUSY: a mount point; ENOTEMPTY: data, maybe a mount
            if exc.errno == errno.EBUSY or mounts.is_mountpoint(data):
                mounts.umount(data)
        remove_tree(top)

    def mount(self, name: str, options: dict[str, str], user: str) -> str:
        data = self.path(name)
        if not os.path.isdir(data):
            raise VolumeDriverError(f"volume {name} has no data directory")
        if not options:
            return data
        with self._lock:
            users = self._users.setdefault(name, set())
            if not users and not mounts.is_mountpoint(data):
                self._mount(data, options)
            users.add(user)
        return data

    def _mount(self, data: str, options: dict[str, str]) -> None:
        kind, device, o = options.get("type", ""), options.get("device", ""), options.get("o", "")
        flags = [f for f in o.split(",") if f]
        try:
            if "bind" in flags:
                mounts.mount(device, data, None, mounts.MS_BIND | mounts.MS_REC)
            else:
                mounts.mount(device or kind, data, kind,
                             0, ",".join(f for f in flags if f != "bind") or None)
        except OSError as exc:
            raise VolumeDriverError(f"failed to mount local volume: {exc.strerror}") from None

    def unmount(self, name: str, options: dict[str, str], user: str) -> None:
        if not options:
            return
        with self._lock:
            users = self._users.get(name, set())
            users.discard(user)
            if not users:
                self._users.pop(name, None)
                if mounts.is_mountpoint(self.path(name)):
                    mounts.umount(self.path(name))

    def adopt(self, name: str, user: str) -> None:
        with self._lock:
            self._users.setdefault(name, set()).add(user)

    def size(self, name: str) -> int:
        try:
            return tree_size(self.path(name))
        except OSError:
            return -1


def _kernel_has(fstype: str) -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == fstype for line in f if line.strip())
    except OSError:
        return shutil.which(f"mkfs.{fstype}") is not None
