"""The tar reader and the skeleton: a layer regenerates byte for byte."""
import hashlib
import io
import os
import tarfile

import pytest

from dockerd_py.storage.extract import Whiteouts, extract
from dockerd_py.storage.tarsplit import SkeletonWriter, regenerate
from dockerd_py.storage.tarstream import ArchiveError, TarReader

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="extraction sets owners: needs root")


def build_tar(entries, fmt=tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mtime = 1700000000
            if kind == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = data.decode()
                info.mode = 0o755
                tar.addfile(info)
    return buf.getvalue()


def test_regenerates_byte_for_byte(tmp_path):
    long_name = "d/" + "x" * 150
    raw = build_tar([("d", tarfile.DIRTYPE, b""), ("d/a.txt", tarfile.REGTYPE, b"hello"),
                     (long_name, tarfile.REGTYPE, b"long"), ("d/link", tarfile.SYMTYPE, b"a.txt"),
                     ("d/hard", tarfile.LNKTYPE, b"d/a.txt"),
                     ("d/a.txt", tarfile.REGTYPE, b"second version")])
    root = tmp_path / "root"
    root.mkdir()
    sk = SkeletonWriter(str(tmp_path / "skel"), str(tmp_path / "side"))
    result = extract(TarReader(io.BytesIO(raw)), str(root), Whiteouts.OVERLAY, sk)
    sk.close()
    assert result.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (root / "d/a.txt").read_bytes() == b"second version"
    assert (root / long_name).read_bytes() == b"long"
    regenerated = b"".join(regenerate(str(tmp_path / "skel"), str(root), str(tmp_path / "side")))
    assert regenerated == raw


def test_gzip_layers_are_decompressed_in_process(tmp_path):
    import gzip
    raw = build_tar([("f", tarfile.REGTYPE, b"x" * 1000)])
    root = tmp_path / "r"
    root.mkdir()
    result = extract(TarReader(io.BytesIO(gzip.compress(raw))), str(root), Whiteouts.APPLY)
    assert result.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (root / "f").read_bytes() == b"x" * 1000


def test_truncated_tar_is_an_error(tmp_path):
    raw = build_tar([("f", tarfile.REGTYPE, b"x" * 5000)])
    with pytest.raises(ArchiveError, match="truncated"):
        extract(TarReader(io.BytesIO(raw[:1536])), str(tmp_path), Whiteouts.APPLY)
