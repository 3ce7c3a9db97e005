"""The local volume driver's removal: an empty volume, one with data, and one
still mounted (a tmpfs volume a crashed daemon left mounted) all go whole."""
from __future__ import annotations

import os
import subprocess

import pytest

from dockerd_py.storage import mounts
from dockerd_py.volumes.drivers.local import LocalDriver

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


@pytest.mark.parametrize("content,mounted", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_remove_leaves_nothing(tmp_path, content, mounted):
    driver = LocalDriver(str(tmp_path / "volumes"))
    driver.create("v", {})
    data = driver.path("v")
    if mounted:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", data], check=True)
    try:
        if content:
            os.makedirs(os.path.join(data, "sub"))
            with open(os.path.join(data, "sub", "f"), "w") as f:
                f.write("x")
        driver.remove("v")
        assert not os.path.exists(tmp_path / "volumes" / "v")
        assert not mounts.is_mountpoint(data)
    finally:
        if mounts.is_mountpoint(data):
            mounts.umount(data)
