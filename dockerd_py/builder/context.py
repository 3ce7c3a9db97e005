"""The build context: the request's tar (plain or compressed) unpacked into a
private directory with the same confined extraction as image layers, the
Dockerfile found in it, and `.dockerignore` applied to the Dockerfile and to
itself (the CLI sends both; the daemon drops them when they are excluded)."""
from __future__ import annotations

import os
import posixpath
from typing import BinaryIO

from shared.ignore import Matcher, read_patterns

from ..errors import InvalidParameter
from ..storage.confined import Root, remove_at
from ..storage.extract import Extractor, Whiteouts
from ..storage.tarstream import ArchiveError, TarReader

DEFAULT_DOCKERFILE = "Dockerfile"
MAX_DOCKERFILE = 10 << 20


def unpack(stream: BinaryIO, dest: str) -> None:
    """Unpack a context tar into dest (which must exist and be empty)."""
    try:
        Extractor(dest, Whiteouts.KEEP, None, same_owner=True).run(TarReader(stream))
    except ArchiveError as exc:
        raise InvalidParameter(f"failed to read the build context: {exc.message}") from None


def read_dockerfile(context: str, name: str | None) -> tuple[bytes, str]:
    """(contents, name): the Dockerfile inside the context, by its relative path."""
    name = name or DEFAULT_DOCKERFILE
    clean = posixpath.normpath(name.lstrip("/"))
    if clean.startswith(".."):
        raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}")
    with Root(context) as root:
        try:
            data = root.read_file(clean, limit=MAX_DOCKERFILE)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            if name == DEFAULT_DOCKERFILE:
                try:  # Docker also takes a lowercase dockerfile
                    return root.read_file("dockerfile", limit=MAX_DOCKERFILE), "dockerfile"
                except OSError:
                    pass
            raise InvalidParameter(f"Cannot locate specified Dockerfile: {name}") from None
        except OSError as exc:
            raise InvalidParameter(f"Cannot read the Dockerfile {name}: {exc.strerror}") from None
    return data, clean


def drop_ignored_specials(context: str, dockerfile: str) -> None:
    """Remove the Dockerfile and .dockerignore from the context when .dockerignore
    excludes them (they were sent only so the daemon could read them)."""
    with Root(context) as root:
        try:
            patterns = read_patterns(root.read_file(".dockerignore").decode("utf-8", "replace"))
        except OSError:
            return
        matcher = Matcher(patterns)
        for name in (dockerfile, ".dockerignore"):
            if matcher.matches(name):
                parent, base = root.open_parent(name)
                try:
                    remove_at(parent, base)
                finally:
                    os.close(parent)
