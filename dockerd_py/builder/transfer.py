"""COPY and ADD: sources from the context, an earlier stage, an image or a URL;
the cache key from their content; the files written into the step's container
(ADD unpacks local archives)."""
from __future__ import annotations

import asyncio
import functools
import os
import posixpath
import tempfile
from collections.abc import Awaitable, Callable, Iterator

from ..errors import InvalidParameter
from ..storage.confined import Root
from . import copy as copying
from .parser import Instruction
from .shell import split_words
from .state import StageState
from .step import StepHost

Release = Callable[[], Awaitable[None]]


async def copy_step(b: StepHost, state: StageState, ins: Instruction) -> None:
    what = ins.keyword
    env = state.env_map()
    words = ins.json_args
    words = [b.lexer.process_word(w, env) for w in words] if words is not None else \
        [b.lexer.process_word(w, env) for w in split_words(ins.args, b.lexer.escape)]
    if len(words) < 2:
        raise InvalidParameter(f"{what} requires at least two arguments, but only one was "
                               "provided. Destination could not be determined.")
    sources, dest = words[:-1], words[-1]
    if not dest.startswith("/"):
        dest = posixpath.join(state.run_config.get("WorkingDir") or "/", dest) + \
            ("/" if dest.endswith("/") or dest in (".", "./") else "")
    chmod = _chmod(ins.flags.get("chmod"))
    urls = [s for s in sources if s.startswith(("http://", "https://"))]
    if urls and what == "COPY":
        raise InvalidParameter("source can't be a URL for COPY")
    if urls and ins.flags.get("from"):
        raise InvalidParameter("ADD --from is not supported")
    root, release = await _source_root(b, state, ins.flags.get("from"), env)
    try:
        local = [s for s in sources if s not in urls]
        found = await asyncio.to_thread(copying.resolve_sources, root, local, what) \
            if local else []
        downloads = [await b.backend.download(url, _download_dir(b, dest)) for url in urls]
        count = len(found) + len(downloads)
        if count > 1 and not dest.endswith("/"):
            raise InvalidParameter(f"When using {what} with more than one source file, the "
                                   "destination must be a directory and end with a /")
        digest = await asyncio.to_thread(copying.checksum, root, found) if found else ""
        for path, _, _ in downloads:
            digest += await asyncio.to_thread(
                copying.checksum, os.path.dirname(path),
                [copying.Source(os.path.basename(path), False)])
        probe = b.probe(state, state.shell + [f"#(nop) {what} {digest} in {dest} "])
        if await b.from_cache(state, probe):
            return
        cid = await b.backend.create(state.image, probe, b.options.run)
        try:
            await _write(b, cid, ins, root, found, downloads, dest, chmod)
        except BaseException:
            await b.backend.remove(cid)
            raise
        await b.commit(state, cid, probe, announce_removal=False)
    finally:
        if release is not None:
            await release()


async def _write(b: StepHost, cid: str, ins: Instruction, root: str,
                 found: list[copying.Source], downloads: list[tuple[str, str, float]],
                 dest: str, chmod: int | None) -> None:
    chown = ins.flags.get("chown")
    owner = await b.backend.resolve_owner(cid, chown) if chown else (0, 0)
    into_dir = dest.endswith("/") or await b.backend.is_dir(cid, dest)
    plain = []
    for source in found:
        if ins.keyword == "ADD" and await asyncio.to_thread(copying.is_archive, root, source):
            await b.backend.copy_in(cid, functools.partial(_file_chunks, root, source.path),
                                    owner if chown else None, base=dest)
        else:
            plain.append(source)
    if plain:
        single_dir = len(plain) == 1 and plain[0].is_dir
        await b.backend.copy_in(cid, lambda: copying.copy_tar(
            root, plain, dest, into_dir and not single_dir, chmod), owner)
    for path, name, mtime in downloads:
        target = posixpath.join(dest, name) if into_dir else dest
        await b.backend.copy_in(cid, functools.partial(
            copying.single_file_tar, target.lstrip("/"), path,
            chmod if chmod is not None else 0o600, mtime), owner)


def _file_chunks(root_path: str, path: str) -> Iterator[bytes]:
    with Root(root_path) as root:
        fd = root.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def _chmod(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidParameter(f"invalid chmod parameter: {text}") from None
    if mode > 0o7777:
        raise InvalidParameter(f"invalid chmod parameter: {text}")
    return mode


def _download_dir(b: StepHost, dest: str) -> str:
    os.makedirs(b.scratch_dir, mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(dir=b.scratch_dir)


async def _source_root(b: StepHost, state: StageState, source: str | None,
                       env: dict[str, str]) -> tuple[str, Release | None]:
    """The context, or the filesystem of a stage or image (mounted for the step)."""
    if not source:
        return b.context, None
    ref = b.lexer.process_word(source, b.args.meta_env())
    image = b.stage_image(ref)
    if image is False:
        image = await b.backend.image(ref, False, b.options.platform, b.out)
    cid = await b.backend.create(image or None, {"Cmd": ["true"]}, b.options.run)
    try:
        path, unmount = await b.backend.mount(cid)
    except BaseException:
        await b.backend.remove(cid)
        raise

    async def release() -> None:
        await unmount()
        await b.backend.remove(cid)
    return path, release
