"""mount(2) and umount2(2) without a subprocess."""
from __future__ import annotations

import ctypes
import errno
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def mount(source: str, target: str, fstype: str | None, flags: int = 0,
          data: str | None = None) -> None:
    rc = _libc.mount(source.encode(), target.encode(),
                     fstype.encode() if fstype else None, flags,
                     data.encode() if data is not None else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or ''} on {target}: {os.strerror(err)}")


def umount(target: str, detach: bool = False) -> None:
    rc = _libc.umount2(target.encode(), MNT_DETACH if detach else 0)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOENT):
            return  # not mounted
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def is_mountpoint(path: str) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            if len(fields) > 4 and _unescape(fields[4]) == target:
                return True
    return False


def mounts_under(prefix: str) -> list[str]:
    """Mount points at or below prefix, deepest first (for unmounting)."""
    prefix = os.path.realpath(prefix).rstrip("/")
    out = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split(b" ")
            if len(fields) > 4:
                point = _unescape(fields[4])
                if point == prefix or point.startswith(prefix + "/"):
                    out.append(point)
    return sorted(out, key=len, reverse=True)


# the kernel's own views (their files can be endless, block, or fail to read);
# dockerd archives a container's rootfs, where these are empty mount points
KERNEL_FILESYSTEMS = frozenset({
    b"proc", b"sysfs", b"cgroup", b"cgroup2", b"mqueue", b"devpts", b"securityfs",
    b"debugfs", b"tracefs", b"bpf", b"pstore", b"configfs", b"fusectl", b"binfmt_misc"})


def kernel_fs_devices(pid: int) -> frozenset[int]:
    """Device numbers of the kernel filesystems mounted in pid's mount namespace."""
    found = set()
    try:
        f = open(f"/proc/{pid}/mountinfo", "rb")
    except FileNotFoundError:  # it has exited: its root is gone too
        return frozenset()
    with f:
        for line in f:
            fields = line.split(b" ")
            try:
                fstype = fields[fields.index(b"-") + 1]
            except (ValueError, IndexError):
                continue
            if fstype in KERNEL_FILESYSTEMS:
                major, _, minor = fields[2].partition(b":")
                found.add(os.makedev(int(major), int(minor)))
    return frozenset(found)


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", "surrogateescape")
    if "\\" in text:
        for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
            text = text.replace(code, char)
    return text
