"""copy_tree (volume copy-up, the vfs driver) copies exactly, whatever order its
threads finish in: contents, owners, modes, times, hard links, symlinks, FIFOs,
xattrs, directories it cannot write without root."""
from __future__ import annotations

import os
import stat

import pytest

from dockerd_py.storage.copytree import copy_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners can be copied by root only")


def tree(root: str) -> dict[str, tuple]:
    """Everything a copy must keep, by relative path (hard links as groups)."""
    out: dict[str, tuple] = {}
    inodes: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            body: object = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    body = f.read()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(path)
            group = inodes.setdefault(st.st_ino, rel) if st.st_nlink > 1 else None
            xattrs = {} if stat.S_ISLNK(st.st_mode) else {
                n: os.getxattr(path, n) for n in os.listxattr(path)}
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, body, group, xattrs)
    return out


def test_copy_is_exact(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    for i in range(60):   # enough files that the threads interleave
        d = src / f"d{i % 7}"
        d.mkdir(exist_ok=True)
        f = d / f"f{i}"
        f.write_bytes(os.urandom(i * 7919))
        os.chown(f, 1000 + i, 2000 + i)
        os.chmod(f, 0o600 + i % 8)
        os.utime(f, ns=(1_600_000_000_000_000_000 + i, 1_600_000_000_123_456_789 + i))
    os.link(src / "d1" / "f1", src / "d2" / "hard")
    os.symlink("../d1/f1", src / "d3" / "sym")
    os.mkfifo(src / "d4" / "fifo", 0o640)
    try:
        os.setxattr(src / "d5" / "f5", "user.note", b"kept")
    except OSError:
        pass  # a filesystem without user xattrs: the rest still counts
    locked = src / "d6"
    os.chmod(locked, 0o500)   # files are written into it after it got its mode
    os.utime(locked, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))

    copy_tree(str(src), str(dst))

    assert tree(str(dst)) == tree(str(src))
    assert os.lstat(dst / "d1" / "f1").st_ino == os.lstat(dst / "d2" / "hard").st_ino
    assert stat.S_ISFIFO(os.lstat(dst / "d4" / "fifo").st_mode)


def test_a_failure_is_raised(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a").write_text("x")
    (dst / "a").write_text("already here")
    with pytest.raises(FileExistsError):
        copy_tree(str(src), str(dst))


def test_the_root_through_a_proc_fd_link_takes_the_directorys_owner_and_mode(tmp_path):
    """Volume copy-up copies from /proc/self/fd/N: the volume's root gets the
    image directory's owner and mode (as Docker), not those of the fd link."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "f").write_text("x")
    os.chown(src, 1000, 1001)
    os.chmod(src, 0o750)
    fd = os.open(src, os.O_PATH | os.O_DIRECTORY)
    try:
        copy_tree(f"/proc/self/fd/{fd}", str(dst))
    finally:
        os.close(fd)
    st = os.stat(dst)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1001, 0o750)
