"""overlay2: kernel overlayfs, laid out as Docker lays it out.

<home>/<id>/diff      the layer's own files (upper dir of a container)
<home>/<id>/link      a short name; <home>/l/<short> -> ../<id>/diff
<home>/<id>/lower     the parents, nearest first, as l/<short> entries
<home>/<id>/work      overlay work dir; <home>/<id>/merged the mount point

Short link names keep the mount options of deep images under the kernel's
page-size limit, as in Docker.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import string
import subprocess
from collections.abc import Iterator

from ...userns import IDENTITY, IdMap, chown_dir
from .. import mounts
from ..changes import Change, overlay_changes, overlay_diff
from ..extract import Whiteouts
from .base import DriverError, GraphDriver, remove_tree

_LINK_CHARS = string.ascii_uppercase + string.digits
_LINK_RE = re.compile(r"^[A-Z0-9]{26}$")


class Overlay2Driver(GraphDriver):
    name = "overlay2"
    independent_layers = True
    whiteouts = Whiteouts.OVERLAY

    def __init__(self, home: str, idmap: IdMap = IDENTITY) -> None:
        super().__init__(home, idmap)
        os.makedirs(os.path.join(home, "l"), mode=0o700, exist_ok=True)
        chown_dir(os.path.join(home, "l"), idmap, 0o710)
        self._check_support()

    def _check_support(self) -> None:
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                raise DriverError("overlay2: the kernel has no overlay filesystem")

    def _dir(self, layer_id: str) -> str:
        if not layer_id or "/" in layer_id or layer_id.startswith("."):
            raise DriverError(f"invalid layer id {layer_id!r}")
        return os.path.join(self.home, layer_id)

    def exists(self, layer_id: str) -> bool:
        return os.path.isdir(os.path.join(self._dir(layer_id), "diff"))

    def list_ids(self) -> list[str]:
        return [n for n in os.listdir(self.home) if n != "l"]

    def diff_path(self, layer_id: str) -> str:
        return os.path.join(self._dir(layer_id), "diff")

    def create(self, layer_id: str, parent: str | None) -> None:
        d = self._dir(layer_id)
        os.mkdir(d, 0o700)
        try:
            chown_dir(d, self.idmap, 0o710)
            os.mkdir(os.path.join(d, "diff"), 0o755)
            self.own_root(os.path.join(d, "diff"), 0o755)
            link = "".join(secrets.choice(_LINK_CHARS) for _ in range(26))
            _write(os.path.join(d, "link"), link)  # first: remove() must find the name
            os.symlink(f"../{layer_id}/diff", os.path.join(self.home, "l", link))
            if parent is not None:
                self._write_lower(d, parent)
                self._make_mount_dirs(d)
        except BaseException:
            self.remove(layer_id)
            raise

    def set_parent(self, layer_id: str, parent: str | None) -> None:
        d = self._dir(layer_id)
        for name in ("lower", "parent"):
            try:
                os.unlink(os.path.join(d, name))
            except FileNotFoundError:
                pass
        if parent is None:
            return
        self._write_lower(d, parent)
        self._make_mount_dirs(d)

    def _make_mount_dirs(self, d: str) -> None:
        for name in ("work", "merged"):
            os.makedirs(os.path.join(d, name), mode=0o700, exist_ok=True)
            self.own_root(os.path.join(d, name), 0o700)

    def _write_lower(self, d: str, parent: str) -> None:
        lower = self._link(parent)
        parent_lower = self._lower(parent)
        if parent_lower:
            lower += ":" + parent_lower
        _write(os.path.join(d, "lower"), lower)
        _write(os.path.join(d, "parent"), parent)

    def _link(self, layer_id: str) -> str:
        with open(os.path.join(self._dir(layer_id), "link")) as f:
            link = f.read().strip()
        if not _LINK_RE.match(link):
            raise OSError(errno.EINVAL, f"layer {layer_id} has a damaged link file")
        return "l/" + link

    def _lower(self, layer_id: str) -> str:
        try:
            with open(os.path.join(self._dir(layer_id), "lower")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def parent_of(self, layer_id: str) -> str | None:
        try:
            with open(os.path.join(self._dir(layer_id), "parent")) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def remove(self, layer_id: str) -> None:
        d = self._dir(layer_id)
        merged = os.path.join(d, "merged")
        with self._lock:
            self._mounts.pop(layer_id, None)
        if os.path.isdir(merged):
            mounts.umount(merged, detach=True)
        try:
            with open(os.path.join(d, "link")) as f:
                link = f.read().strip()
        except FileNotFoundError:
            link = ""
        if _LINK_RE.match(link):  # a half-written (full disk) link file names nothing
            try:
                os.unlink(os.path.join(self.home, "l", link))
            except FileNotFoundError:
                pass
        remove_tree(d)

    def get(self, layer_id: str) -> str:
        d = self._dir(layer_id)
        lower = self._lower(layer_id)
        if not lower:
            return os.path.join(d, "diff")  # a base layer needs no mount
        merged = os.path.join(d, "merged")
        with self._lock:
            count = self._mounts.get(layer_id, 0)
            if count == 0 and not mounts.is_mountpoint(merged):
                self._mount(d, lower, merged)
            self._mounts[layer_id] = count + 1
        return merged

    def _mount(self, d: str, lower: str, merged: str) -> None:
        lowers = [os.path.join(self.home, p) for p in lower.split(":")]
        opts = (f"lowerdir={':'.join(lowers)},upperdir={d}/diff,workdir={d}/work,index=off")
        if len(opts) < mounts.PAGE_SIZE - 1:
            mounts.mount("overlay", merged, "overlay", 0, opts)
            return
        # Too long even with short links: mount from the home directory with
        # relative paths, in a child, so the daemon never changes directory.
        rel = os.path.relpath(d, self.home)
        opts = f"lowerdir={lower},upperdir={rel}/diff,workdir={rel}/work,index=off"
        if len(opts) >= mounts.PAGE_SIZE - 1:
            raise DriverError("overlay2: too many layers for one mount")
        proc = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts,
                               os.path.relpath(merged, self.home)],
                              cwd=self.home, capture_output=True, text=True)
        if proc.returncode != 0:
            raise DriverError(f"overlay2: mount failed: {proc.stderr.strip()}")

    def put(self, layer_id: str) -> None:
        d = self._dir(layer_id)
        if not self._lower(layer_id):
            return
        with self._lock:
            count = self._mounts.get(layer_id, 1) - 1
            if count > 0:
                self._mounts[layer_id] = count
                return
            self._mounts.pop(layer_id, None)
            mounts.umount(os.path.join(d, "merged"))

    def adopt_mount(self, layer_id: str) -> None:
        """Count a mount that survived a daemon restart (a running container's)."""
        merged = os.path.join(self._dir(layer_id), "merged")
        with self._lock:
            if layer_id not in self._mounts and mounts.is_mountpoint(merged):
                self._mounts[layer_id] = 1

    def lower_dirs(self, layer_id: str) -> list[str]:
        lower = self._lower(layer_id)
        return [os.path.join(self.home, p) for p in lower.split(":")] if lower else []

    def changes(self, layer_id: str) -> list[Change]:
        return overlay_changes(self.diff_path(layer_id), self.lower_dirs(layer_id))

    def diff(self, layer_id: str) -> Iterator[bytes]:
        return overlay_diff(self.diff_path(layer_id), self.idmap)

    def metadata(self, layer_id: str) -> dict[str, str]:
        d = self._dir(layer_id)
        data = {"MergedDir": f"{d}/merged", "UpperDir": f"{d}/diff", "WorkDir": f"{d}/work"}
        lower = self._lower(layer_id)
        if lower:
            data["LowerDir"] = ":".join(
                os.path.realpath(os.path.join(self.home, p)) for p in lower.split(":"))
        return data

    def status(self) -> list[list[str]]:
        return [["Backing Filesystem", _backing_fs(self.home)],
                ["Supports d_type", "true"], ["Using metacopy", "false"],
                ["Native Overlay Diff", "true"], ["userxattr", "false"]]

    def cleanup(self) -> None:
        with self._lock:
            for layer_id in list(self._mounts):
                mounts.umount(os.path.join(self._dir(layer_id), "merged"), detach=True)
            self._mounts.clear()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _backing_fs(path: str) -> str:
    best, fstype = "", "unknown"
    real = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 2 and (real == fields[1] or real.startswith(fields[1].rstrip("/") + "/")) \
                    and len(fields[1]) >= len(best):
                best, fstype = fields[1], fields[2]
    return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(fstype, fstype)
