"""Hostile layer tars (reliability notes §1b): each case extracts into `dest/` next to
a `victim/` (and a `dest-evil/`) that must stay untouched. Ported from the cases
of containerd's TestBreakouts and moby/go-archive's untar tests."""
from __future__ import annotations

import bz2
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from dockerd_py.storage.extract import Whiteouts, extract
from dockerd_py.storage.tarstream import ArchiveError, TarReader

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="extraction sets owners: needs root")


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "",
          mode: int = 0o644) -> tuple:
    return (name, kind, data, link, mode)


def build(entries: list[tuple]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.mode = mode
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


@pytest.fixture
def sandbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    dest = tmp_path / "dest"
    victim = tmp_path / "victim"
    evil = tmp_path / "dest-evil"
    for d in (dest, victim, evil):
        d.mkdir()
    (victim / "f").write_text("victim\n")
    os.chmod(victim / "f", 0o600)
    (evil / "secret").write_text("secret\n")

    def snapshot() -> dict:
        out = {}
        for root in (victim, evil):
            for p in sorted(root.rglob("*")):
                st = p.lstat()
                out[str(p)] = (st.st_mode, st.st_size, st.st_mtime_ns,
                               p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        return out

    before = snapshot()
    yield dest, victim
    assert snapshot() == before, "something outside dest/ changed"


def apply(dest: Path, raw: bytes, mode: Whiteouts = Whiteouts.OVERLAY):  # type: ignore[no-untyped-def]
    return extract(TarReader(io.BytesIO(raw)), str(dest), mode)


REFUSED = {
    "hardlink down and out": [entry("h", tarfile.LNKTYPE, link="../victim/f")],
    "hardlink to sibling prefix": [entry("h", tarfile.LNKTYPE, link="../dest-evil/secret")],
    "whiteout of parent": [entry(".wh..", data=b"")],
    "whiteout of dotdot": [entry(".wh...", data=b"")],
    "whiteout current dir nested": [entry("etc", tarfile.DIRTYPE, mode=0o755),
                                    entry("etc/.wh..", data=b"")],
    "hardlink to missing": [entry("h", tarfile.LNKTYPE, link="nowhere")],
}


@pytest.mark.parametrize("case", sorted(REFUSED))
@pytest.mark.parametrize("mode", [Whiteouts.OVERLAY, Whiteouts.APPLY])
def test_refused(sandbox, case, mode):
    dest, _ = sandbox
    with pytest.raises(ArchiveError):
        apply(dest, build(REFUSED[case]), mode)
    assert not Path("/tmp/abs-written").exists()


# Names dockerd unpacks chrooted into the destination: a `..` above it stays at it.
UNCLEAN = {
    "parent traversal": ([entry("../victim/f", data=b"inside")], "victim/f"),
    "deep traversal": ([entry("a/../../victim/f", data=b"inside")], "victim/f"),
    "sibling prefix": ([entry("../dest-evil/secret", data=b"inside")], "dest-evil/secret"),
    "dotdot alone": ([entry("..", tarfile.DIRTYPE), entry("../f", data=b"inside")], "f"),
}


@pytest.mark.parametrize("case", sorted(UNCLEAN))
@pytest.mark.parametrize("mode", [Whiteouts.OVERLAY, Whiteouts.APPLY])
def test_unclean_names_stay_inside(sandbox, case, mode):
    dest, _ = sandbox  # the fixture checks that nothing outside dest/ changed
    entries, landed = UNCLEAN[case]
    apply(dest, build(entries), mode)
    assert (dest / landed).read_bytes() == b"inside"


def test_absolute_names_land_inside_the_destination(sandbox):
    """dockerd joins a member name to the destination: `/tmp/abs-written` and
    `/../up` are written below dest/, never at the host's paths."""
    dest, _ = sandbox
    apply(dest, build([entry("/tmp/abs-written", data=b"inside"),
                       entry("/../up", data=b"root-level")]))
    assert (dest / "tmp" / "abs-written").read_bytes() == b"inside"
    assert (dest / "up").read_bytes() == b"root-level"
    assert not Path("/tmp/abs-written").exists()


def _victim_abs(sandbox) -> str:  # type: ignore[no-untyped-def]
    return str(sandbox[1])


CONFINED = {
    "symlink up and out": lambda v: [entry("link", tarfile.SYMTYPE, link="../victim"),
                                     entry("link/newfile", data=b"pwned")],
    "symlink absolute": lambda v: [entry("link", tarfile.SYMTYPE, link=v),
                                   entry("link/newfile", data=b"pwned")],
    "symlink to root then file": lambda v: [entry("root", tarfile.SYMTYPE, link="/"),
                                            entry(f"root{v}/f", data=b"pwned")],
    "two-hop symlink": lambda v: [entry("inner", tarfile.DIRTYPE, mode=0o755),
                                  entry("inner/go_up", tarfile.SYMTYPE, link=".."),
                                  entry("inner/go_up/escape", tarfile.SYMTYPE, link="../victim"),
                                  entry("inner/go_up/escape/newfile", data=b"pwned")],
    "symlink overrides directory": lambda v: [entry("d", tarfile.DIRTYPE, mode=0o755),
                                              entry("d", tarfile.SYMTYPE, link=v),
                                              entry("d/f", data=b"pwned")],
    "hardlink to symlink then chmod": lambda v: [
        entry("s", tarfile.SYMTYPE, link=f"{v}/f"),
        entry("h", tarfile.LNKTYPE, link="s"),
        entry("h", data=b"replaced", mode=0o777)],
    "whiteout through symlinked parent": lambda v: [entry("link", tarfile.SYMTYPE, link=v),
                                                    entry("link/.wh.f")],
    "whiteout through dead symlink parent": lambda v: [
        entry("dead", tarfile.SYMTYPE, link="/nonexistent/dir"), entry("dead/.wh.f")],
    "opaque through symlinked parent": lambda v: [entry("link", tarfile.SYMTYPE, link=v),
                                                  entry("link/.wh..wh..opq")],
    "file through absolute symlink chain": lambda v: [
        entry("a", tarfile.SYMTYPE, link="/b"), entry("b", tarfile.SYMTYPE, link=v),
        entry("a/f", data=b"pwned")],
}


# What the extractor answers for each case (absent: the archive is applied, every
# entry confined): exact, so that a crash or another error fails the test.
NO_PARENT = "cannot extract '{}': No such file or directory"
CONFINED_REFUSALS = {
    ("file through absolute symlink chain", "OVERLAY"): NO_PARENT.format("a/f"),
    ("file through absolute symlink chain", "APPLY"): NO_PARENT.format("a/f"),
    ("opaque through symlinked parent", "OVERLAY"): NO_PARENT.format("link/.wh..wh..opq"),
    ("symlink absolute", "OVERLAY"): NO_PARENT.format("link/newfile"),
    ("symlink absolute", "APPLY"): NO_PARENT.format("link/newfile"),
    ("symlink overrides directory", "OVERLAY"): NO_PARENT.format("d/f"),
    ("symlink overrides directory", "APPLY"): NO_PARENT.format("d/f"),
    ("symlink up and out", "OVERLAY"): NO_PARENT.format("link/newfile"),
    ("symlink up and out", "APPLY"): NO_PARENT.format("link/newfile"),
    ("whiteout through dead symlink parent", "OVERLAY"): NO_PARENT.format("dead/.wh.f"),
    ("whiteout through symlinked parent", "OVERLAY"): NO_PARENT.format("link/.wh.f"),
}


@pytest.mark.parametrize("case", sorted(CONFINED))
@pytest.mark.parametrize("mode", [Whiteouts.OVERLAY, Whiteouts.APPLY])
def test_confined(sandbox, case, mode):
    """Links are created as they are, but whatever goes through them stays in dest/
    (a path through a link that leads out is not there, inside the root: refused);
    the sandbox checks that nothing outside dest/ changed."""
    dest, victim = sandbox
    refusal = CONFINED_REFUSALS.get((case, mode.name))
    if refusal is None:
        apply(dest, build(CONFINED[case](str(victim))), mode)
    else:
        with pytest.raises(ArchiveError) as err:
            apply(dest, build(CONFINED[case](str(victim))), mode)
        assert str(err.value) == refusal


def test_size_bomb_is_bounded(tmp_path):
    """A bzip2 stream that expands thousands of times is stopped, not extracted."""
    payload = b"\0" * (300 << 20)
    raw = build([entry("zeros", data=payload)])
    bomb = bz2.compress(raw, 9)
    assert len(raw) / len(bomb) > 2000
    (tmp_path / "dest").mkdir()
    with pytest.raises(ArchiveError, match="bomb"):
        apply(tmp_path / "dest", bomb)


def test_trailing_padding_is_bounded(tmp_path):
    raw = build([entry("f", data=b"x")]) + b"\0" * (3 << 20)
    (tmp_path / "dest").mkdir()
    with pytest.raises(ArchiveError, match="after the end of the archive"):
        apply(tmp_path / "dest", raw)


def test_invalid_compressed_stream_fails_fast(tmp_path):
    (tmp_path / "dest").mkdir()
    for junk in (b"\x1f\x8b" + os.urandom(4000), b"\xfd7zXZ\x00" + os.urandom(4000)):
        with pytest.raises(ArchiveError):
            apply(tmp_path / "dest", junk)


def test_digest_covers_padding(tmp_path):
    raw = build([entry("f", data=b"x")]) + b"\0" * 4096
    (tmp_path / "dest").mkdir()
    result = apply(tmp_path / "dest", raw)
    assert result.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
