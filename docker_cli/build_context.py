"""A build context as the Docker CLI sends it: the directory as a tar (owners
set to root, `.dockerignore` applied, the Dockerfile and `.dockerignore` always
included), a Dockerfile from elsewhere added under a random name."""
from __future__ import annotations

import os
import secrets
import stat
import tarfile
from collections.abc import Iterator

from shared.ignore import Matcher, read_patterns

from .errors import CLIError


def read_ignore(context: str) -> list[str]:
    try:
        with open(os.path.join(context, ".dockerignore"), encoding="utf-8") as f:
            return read_patterns(f.read())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CLIError(f"error reading .dockerignore: {exc.strerror}", 1) from None


def context_files(context: str, patterns: list[str], keep: set[str]) -> Iterator[str]:
    """Relative paths to send, parents before children, sorted."""
    matcher = Matcher(patterns)
    exceptions = matcher.has_exclusions

    def walk(rel: str) -> Iterator[str]:
        full = os.path.join(context, rel) if rel else context
        try:
            names = sorted(os.listdir(full))
        except OSError as exc:
            raise CLIError(f"error checking context: can't stat '{full}': "
                           f"{(exc.strerror or str(exc)).lower()}", 1) from None
        for name in names:
            path = f"{rel}/{name}" if rel else name
            excluded = matcher.matches(path) and path not in keep
            is_dir = stat.S_ISDIR(os.lstat(os.path.join(context, path)).st_mode)
            if excluded and not (is_dir and exceptions):
                continue
            if not excluded:
                yield path
            if is_dir:
                yield from walk(path)
    yield from walk("")


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def context_tar(context: str, dockerfile: str | None,
                extra_dockerfile: bytes | None) -> tuple[Iterator[bytes], str | None]:
    """(tar chunks, the `dockerfile` parameter to send)."""
    if not os.path.isdir(context):
        raise CLIError(f"unable to prepare context: path \"{context}\" not found", 1)
    patterns = read_ignore(context)
    keep = {".dockerignore"}
    name = None
    if extra_dockerfile is None:
        name = os.path.relpath(os.path.abspath(dockerfile or os.path.join(context, "Dockerfile")),
                               os.path.abspath(context)) if dockerfile else "Dockerfile"
        if name.startswith(".."):
            with open(dockerfile, "rb") as f:  # type: ignore[arg-type]
                extra_dockerfile = f.read()
            name = None
        else:
            keep.add(name)
            if not os.path.exists(os.path.join(context, name)):
                raise CLIError(f"unable to prepare context: unable to evaluate symlinks in "
                               f"Dockerfile path: lstat {os.path.abspath(os.path.join(context, name))}: "
                               "no such file or directory", 1)
    extra_name = f".dockerfile.{secrets.token_hex(10)}"
    if extra_dockerfile is not None:
        name = extra_name

    def chunks() -> Iterator[bytes]:
        for rel in context_files(context, patterns, keep):
            yield from _entry(os.path.join(context, rel), rel)
        if extra_dockerfile is not None:
            info = _root_owned(tarfile.TarInfo(extra_name))
            info.size, info.mode = len(extra_dockerfile), 0o600
            yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield extra_dockerfile + _padding(len(extra_dockerfile))
        yield b"\0" * 1024  # the end of the archive (and no record padding, as Docker)
    return chunks(), name


def _padding(size: int) -> bytes:
    return b"\0" * (-size % 512)


def _entry(full: str, rel: str) -> Iterator[bytes]:
    st = os.lstat(full)
    mode = stat.S_IFMT(st.st_mode)
    info = _root_owned(tarfile.TarInfo(rel))
    info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    if mode == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
    elif mode == stat.S_IFLNK:
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
    elif mode == stat.S_IFREG:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    else:
        return  # sockets, fifos and devices stay home
    yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    if info.type != tarfile.REGTYPE:
        return
    left = st.st_size
    with open(full, "rb") as f:
        while left > 0:
            data = f.read(min(1 << 20, left)) or b"\0" * left  # a file that shrank
            left -= len(data)
            yield data
    yield _padding(st.st_size)
