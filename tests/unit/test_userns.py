"""--userns-remap: the ID map, the subordinate ID files, the setting's forms,
and layers stored shifted but archived as the container sees them."""
from __future__ import annotations

import asyncio
import io
import os
import tarfile

import pytest

from dockerd_py.storage.extract import Whiteouts, extract
from dockerd_py.storage.tarstream import ArchiveError, TarReader
from dockerd_py.storage.tarwriter import tar_tree
from dockerd_py.userns import IDENTITY, IdMap, IdMapError, IdRange, UsernsError, next_free_start, read_ranges, setup

MAP = IdMap((IdRange(0, 100000, 1000), IdRange(1000, 300000, 64536)),
            (IdRange(0, 200000, 65536),))


def test_container_ids_map_to_the_ranges_in_order_and_back():
    assert MAP.root == (100000, 200000)
    assert MAP.to_host(999, 5) == (100999, 200005)
    assert MAP.to_host(1000, 0) == (300000, 200000)   # the second range follows the first
    assert MAP.to_container(300001, 200002) == (1001, 2)
    assert MAP.to_container(0, 0) == (65534, 65534)   # the host's root is nobody inside
    with pytest.raises(IdMapError, match="Container ID 65536 cannot be mapped to a host ID"):
        MAP.to_host(65536, 0)
    assert MAP.oci()["uidMappings"][1] == {"containerID": 1000, "hostID": 300000, "size": 64536}
    assert IDENTITY.to_host(5, 6) == IDENTITY.to_container(5, 6) == (5, 6)
    assert not IDENTITY.remapped and MAP.remapped


def test_subid_files_and_the_next_free_range(tmp_path):
    path = tmp_path / "subuid"
    path.write_text("# comment\nalice:100000:65536\nbroken line\nbob:200000:65536\n"
                    "1005:300000:10\n")
    ranges = read_ranges(str(path))
    assert ranges == [("alice", 100000, 65536), ("bob", 200000, 65536), ("1005", 300000, 10)]
    assert next_free_start(ranges) == 300010  # the gaps before are too small for 65536
    assert next_free_start(ranges[:1]) == 165536
    assert next_free_start([]) == 100000
    assert next_free_start([("x", 165536, 10)]) == 100000  # room below the first range


@pytest.mark.parametrize("setting,message", [
    ("a:b:c", "Invalid user/group specification"),
    ("no-such-user-here", 'Error during uid lookup for "no-such-user-here"'),
    ("root", "root cannot be remapped with itself"),
    ("4242424", "Uid 4242424 has no entry in /etc/passwd"),
    ("nobody:no-such-group-here", 'Error during gid lookup for "no-such-group-here"'),
])
def test_bad_settings_are_refused_with_dockerds_texts(setting, message):
    with pytest.raises(UsernsError, match=message):
        asyncio.run(setup(setting))


def test_a_user_without_ranges_is_refused(tmp_path):
    (tmp_path / "subuid").write_text("someone-else:100000:65536\n")
    (tmp_path / "subgid").write_text("")
    with pytest.raises(UsernsError, match='no subuid ranges found for user "nobody"'):
        asyncio.run(setup("nobody:nogroup", str(tmp_path / "subuid"),
                          str(tmp_path / "subgid")))


def test_a_user_with_ranges(tmp_path):
    (tmp_path / "subuid").write_text("nobody:100000:65536\n")
    (tmp_path / "subgid").write_text("nogroup:300000:65536\n")
    idmap = asyncio.run(setup("nobody:nogroup", str(tmp_path / "subuid"),
                              str(tmp_path / "subgid")))
    assert idmap.root == (100000, 300000)


def _tar(entries: list[tuple[str, int, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, uid, gid in entries:
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.size = uid, gid, 1
            tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


@pytest.mark.skipif(os.geteuid() != 0, reason="extraction sets owners: needs root")
def test_layers_are_stored_shifted_and_archived_as_the_container_sees_them(tmp_path):
    root = tmp_path / "layer"
    root.mkdir()
    extract(TarReader(io.BytesIO(_tar([("d/root-file", 0, 0), ("d/user-file", 1500, 7)]))),
            str(root), Whiteouts.APPLY, idmap=MAP)
    assert (os.stat(root / "d/root-file").st_uid, os.stat(root / "d/root-file").st_gid) == \
        (100000, 200000)
    assert os.stat(root / "d/user-file").st_uid == 300500
    assert os.stat(root / "d").st_uid == 100000  # a parent the archive left out: root's
    out = tarfile.open(fileobj=io.BytesIO(b"".join(tar_tree(str(root), idmap=MAP))))
    assert {m.name: (m.uid, m.gid) for m in out} == {
        "d": (0, 0), "d/root-file": (0, 0), "d/user-file": (1500, 7)}
    with pytest.raises(ArchiveError, match="Container ID 70000 cannot be mapped"):
        extract(TarReader(io.BytesIO(_tar([("far", 70000, 0)]))), str(root),
                Whiteouts.APPLY, idmap=MAP)
