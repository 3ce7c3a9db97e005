"""Apply a tar stream to a directory, confined to it.

Never `tarfile.extractall`: each entry is created relative to an open directory
fd that openat2(RESOLVE_IN_ROOT) resolved, so symlinks planted by earlier
entries (or by a running container) resolve inside the root. Entries whose
names or hard-link targets, absolute or with `..`, are read as dockerd reads
them when it unpacks chrooted into the root: they stay inside it.
"""
from __future__ import annotations

import errno
import os
import stat
import tarfile
from dataclasses import dataclass
from enum import Enum

from ..userns import IDENTITY, IdMap, IdMapError
from .confined import Root, clear_dir, remove_at, split_clean
from .tarsplit import SkeletonWriter
from .tarstream import ArchiveError, Entry, TarReader

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"


# What a well-formed layer cannot cause: an archive that causes it is invalid.
_ENTRY_ERRORS = {errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.ELOOP, errno.EXDEV,
                 errno.EISDIR, errno.ENOTEMPTY, errno.EINVAL, errno.EMLINK, errno.EPERM,
                 errno.EACCES}


class Whiteouts(Enum):
    OVERLAY = "overlay"  # store as overlayfs whiteouts (char 0:0, opaque xattr)
    APPLY = "apply"      # delete what they name (a full-tree driver such as vfs)
    KEEP = "keep"        # plain files (docker cp of a tree that holds such names)


@dataclass
class ExtractResult:
    size: int            # bytes of payload written
    tar_size: int        # uncompressed bytes of the stream
    digest: str          # sha256 of the uncompressed stream: the diff ID
    entries: int


def clean_member_name(name: str, what: str = "path") -> str:
    """A member name as dockerd reads it: it unpacks chrooted into the destination
    (chrootarchive), so filepath.Join("/", filepath.Clean(name)) is where an
    entry goes: an absolute name is below the destination (testcontainers sends
    `/file`), and a `..` that would climb above it stays at it (`../foo` is
    `foo`, as moby's TestBuildUncleanTarFilenames sends)."""
    parts: list[str] = []
    for part in split_clean(name):
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
    return "/".join(parts)


class Extractor:
    """Extracts entries from a TarReader into root_path."""

    def __init__(self, root_path: str, whiteouts: Whiteouts,
                 skeleton: SkeletonWriter | None = None, same_owner: bool = True,
                 uid_gid: tuple[int, int] | None = None, base: str = "",
                 no_overwrite_dir_non_dir: bool = False, idmap: IdMap = IDENTITY) -> None:
        self.root = Root(root_path)
        self.whiteouts = whiteouts
        self.skeleton = skeleton
        self.same_owner = same_owner
        self.uid_gid = uid_gid  # force an owner (docker cp without -a)
        self.idmap = idmap      # owners are container IDs, stored as the host's
        # Entries land below base, resolved inside the root each time (docker cp
        # into a directory of a running container that may move things around).
        self.base = "/".join(split_clean(base))
        self.no_overwrite_dir_non_dir = no_overwrite_dir_non_dir
        self._parents: dict[str, int] = {}
        self._dir_times: list[tuple[str, int, int]] = []
        self._created: set[str] = set()  # paths this stream made (for opaque dirs)
        self.written = 0
        self.entries = 0

    def close(self) -> None:
        self._drop_parents()
        self.root.close()

    # -- parent directory cache ---------------------------------------------
    def _parent(self, parent: str) -> int:
        fd = self._parents.get(parent)
        if fd is None:
            if len(self._parents) > 64:
                self._drop_parents()
            # parents an archive leaves out are made for the container's root
            fd = self.root.open_dir(parent, create=True, owner=self.idmap.owner)
            self._parents[parent] = fd
        return fd

    def _drop_parents(self) -> None:
        for fd in self._parents.values():
            os.close(fd)
        self._parents.clear()

    # -- main loop -------------------------------------------------------------
    def run(self, reader: TarReader) -> ExtractResult:
        try:
            for entry in reader:
                if self.skeleton is not None:
                    self.skeleton.raw(entry.raw)
                try:
                    self._apply(reader, entry)
                except OSError as exc:
                    if exc.errno not in _ENTRY_ERRORS:
                        raise  # the host's trouble (ENOSPC, EIO): not the archive's fault
                    raise ArchiveError(f"cannot extract {entry.name!r}: {exc.strerror}") from None
                self.entries += 1
            if self.skeleton is not None:
                self.skeleton.raw(reader.trailer)
            self._restore_dir_times()
        finally:
            self.close()
        return ExtractResult(size=self.written, tar_size=reader.size,
                             digest="sha256:" + reader.digest.hexdigest(), entries=self.entries)

    def _apply(self, reader: TarReader, entry: Entry) -> None:
        path = clean_member_name(entry.name)
        if path and self.base:
            path = f"{self.base}/{path}"
        if not path or path == self.base:
            self._skip_payload(reader, entry)  # the root itself keeps its metadata
            return
        parent, _, base = path.rpartition("/")
        if base.startswith(WHITEOUT_PREFIX) and self.whiteouts is not Whiteouts.KEEP:
            self._skip_payload(reader, entry)
            self._whiteout(parent, base)
            return
        pfd = self._parent(parent)
        kind = entry.type
        if entry.is_dir:
            self._make_dir(parent, path, base, entry)
            return
        self._replace(pfd, path, base)
        pfd = self._parent(parent)  # replacing a directory or link empties the fd cache
        if entry.is_reg:
            self._make_file(reader, pfd, path, base, entry)
        elif kind == tarfile.SYMTYPE:
            os.symlink(entry.linkname, base, dir_fd=pfd)
        elif kind == tarfile.LNKTYPE:
            self._make_link(pfd, base, entry)
        elif kind in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE):
            fmt = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK,
                   tarfile.FIFOTYPE: stat.S_IFIFO}[kind]
            os.mknod(base, fmt | (entry.mode & 0o7777),
                     os.makedev(entry.devmajor, entry.devminor), dir_fd=pfd)
        else:
            raise ArchiveError(f"unhandled tar header type {kind!r} for {entry.name!r}")
        self._created.add(path)
        if not entry.is_reg and kind != tarfile.LNKTYPE:  # files got theirs through their fd
            self._finish_meta(pfd, base, entry, is_link=kind == tarfile.SYMTYPE)

    def _skip_payload(self, reader: TarReader, entry: Entry) -> None:
        while True:
            data = reader.read_payload()
            if not data:
                break
            if self.skeleton is not None:
                self.skeleton.raw(data)

    # -- entry kinds -----------------------------------------------------------
    def _replace(self, pfd: int, path: str, base: str) -> None:
        """Clear the way for a non-directory entry."""
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if self.no_overwrite_dir_non_dir and stat.S_ISDIR(st.st_mode):
            raise ArchiveError(f"cannot overwrite directory \"/{path}\" with non-directory")
        self._preserve(path, st)
        remove_at(pfd, base)
        if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            self._drop_parents()

    def _preserve(self, path: str, st: os.stat_result) -> None:
        """Before this layer removes its own earlier payloads, keep them for the
        skeleton (a tar may hold one path twice)."""
        sk = self.skeleton
        if sk is None:
            return
        if stat.S_ISREG(st.st_mode) and sk.recorded(path):
            sk.preserve(self.root, path)
        elif stat.S_ISDIR(st.st_mode):
            for inner in sk.recorded_under(path):
                try:
                    if stat.S_ISREG(self.root.lstat(inner).st_mode):
                        sk.preserve(self.root, inner)
                except OSError:
                    pass

    def _make_dir(self, parent: str, path: str, base: str, entry: Entry) -> None:
        pfd = self._parent(parent)
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                if self.no_overwrite_dir_non_dir:
                    raise ArchiveError(f"cannot overwrite non-directory \"/{path}\" with "
                                       "directory")
                self._preserve(path, st)
                os.unlink(base, dir_fd=pfd)
                self._drop_parents()
                pfd = self._parent(parent)
                os.mkdir(base, 0o700, dir_fd=pfd)
        except FileNotFoundError:
            os.mkdir(base, 0o700, dir_fd=pfd)
        self._created.add(path)
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                     dir_fd=pfd)
        try:
            self._own(fd, entry)
            os.fchmod(fd, entry.mode & 0o7777)
            self._set_xattrs(fd, entry)
        finally:
            os.close(fd)
        self._dir_times.append((path, entry.atime_ns or entry.mtime_ns, entry.mtime_ns))

    def _make_file(self, reader: TarReader, pfd: int, path: str, base: str, entry: Entry) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            while True:
                data = reader.read_payload()
                if not data:
                    break
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                self.written += len(data)
            self._own(fd, entry)
            os.fchmod(fd, entry.mode & 0o7777)
            self._set_xattrs(fd, entry)
            os.utime(fd, ns=(entry.atime_ns or entry.mtime_ns, entry.mtime_ns))
        finally:
            os.close(fd)
        if self.skeleton is not None:
            self.skeleton.file(path, entry.size)

    def _make_link(self, pfd: int, base: str, entry: Entry) -> None:
        target = clean_member_name(entry.linkname.lstrip("/"), "hard link target")
        if not target:
            raise ArchiveError(f"invalid hard link {entry.name!r} -> {entry.linkname!r}")
        sfd, sname = self.root.open_parent(target)
        try:
            st = os.stat(sname, dir_fd=sfd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise ArchiveError(f"invalid hard link {entry.name!r}: target is a directory")
            os.link(sname, base, src_dir_fd=sfd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            raise ArchiveError(f"invalid hard link {entry.name!r}: target "
                               f"{entry.linkname!r} does not exist") from None
        finally:
            os.close(sfd)

    def _whiteout(self, parent: str, base: str) -> None:
        if self.whiteouts is Whiteouts.APPLY and parent not in self._parents:
            try:
                os.close(self.root.open_dir(parent))
            except (FileNotFoundError, NotADirectoryError):
                return  # nothing below a missing directory to delete
        if base == WHITEOUT_OPAQUE:
            pfd = self._parent(parent)
            if self.whiteouts is Whiteouts.OVERLAY:
                fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=pfd)
                try:
                    os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
                finally:
                    os.close(fd)
            else:
                keep = {p.rpartition("/")[2] for p in self._created
                        if p.rpartition("/")[0] == parent}
                fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=pfd)
                try:
                    clear_dir(fd, keep)
                finally:
                    os.close(fd)
                self._drop_parents()
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): ignored, as Docker does
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", "..") or "/" in name:
            raise ArchiveError(f"invalid archive: bad whiteout {base!r}")
        path = f"{parent}/{name}" if parent else name
        pfd = self._parent(parent)
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            self._preserve(path, st)
            remove_at(pfd, name)
            self._drop_parents()
            pfd = self._parent(parent)
        except FileNotFoundError:
            pass
        if self.whiteouts is Whiteouts.OVERLAY:
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=pfd)

    # -- metadata --------------------------------------------------------------
    def _owner(self, entry: Entry) -> tuple[int, int] | None:
        """The host IDs an entry gets (None: the daemon's own)."""
        if self.uid_gid is not None:
            ids = self.uid_gid
        elif self.same_owner:
            ids = (entry.uid, entry.gid)
        else:
            return None
        try:
            return self.idmap.to_host(*ids)
        except IdMapError as exc:
            raise ArchiveError(str(exc)) from None

    def _own(self, fd: int, entry: Entry) -> None:
        owner = self._owner(entry)
        if owner is not None:
            os.fchown(fd, *owner)

    def _set_xattrs(self, fd: int, entry: Entry) -> None:
        for key, value in entry.xattrs.items():
            try:
                os.setxattr(fd, key, value)
            except OSError as exc:
                # Docker ignores xattrs the filesystem cannot hold.
                if exc.errno not in (errno.ENOTSUP, errno.EPERM, errno.EINVAL):
                    raise

    def _finish_meta(self, pfd: int, base: str, entry: Entry, is_link: bool) -> None:
        owner = self._owner(entry)
        if owner is not None:
            os.chown(base, *owner, dir_fd=pfd, follow_symlinks=False)
        if not is_link:  # devices and FIFOs: chmod after chown, which clears set-id bits
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                os.chmod(f"/proc/self/fd/{fd}", entry.mode & 0o7777)
            finally:
                os.close(fd)
        os.utime(base, ns=(entry.atime_ns or entry.mtime_ns, entry.mtime_ns),
                 dir_fd=pfd, follow_symlinks=False)

    def _restore_dir_times(self) -> None:
        for path, atime, mtime in reversed(self._dir_times):
            try:
                pfd, name = self.root.open_parent(path)
            except OSError:
                continue
            try:
                os.utime(name, ns=(atime, mtime), dir_fd=pfd, follow_symlinks=False)
            except OSError:
                pass
            finally:
                os.close(pfd)


def extract(reader: TarReader, root_path: str, whiteouts: Whiteouts,
            skeleton: SkeletonWriter | None = None, **kwargs: object) -> ExtractResult:
    return Extractor(root_path, whiteouts, skeleton, **kwargs).run(reader)  # type: ignore[arg-type]
