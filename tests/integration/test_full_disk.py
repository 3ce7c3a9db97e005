"""The data root on a small filesystem that fills up: Docker's "no space left on
device" texts, nothing half-written kept, removals still work (the space
reserve), the daemon keeps serving, and all is well once space is freed —
also across a restart."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest

from . import archives
from .conftest import import_busybox
from .daemonctl import Daemon


def test_a_full_disk_fails_cleanly_and_recovers(workdir, rootfs_tar):
    root = Path(tempfile.mkdtemp(prefix="full-", dir=workdir))
    d = Daemon(root=root)
    d.data_root.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(d.data_root)],
                   check=True)
    try:
        d.start()
        import_busybox(d, rootfs_tar)
        api = d.api()
        keep = api.create_container("busybox", ["true"])
        filler = d.data_root / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=100"],
                       capture_output=True)
        overlay_before = set(os.listdir(d.data_root / "overlay2"))
        with pytest.raises(docker.errors.APIError) as err:
            api.create_container("busybox", ["true"])
        assert "no space left on device" in err.value.explanation
        layers = [archives.layer_tar({"big": os.urandom(4 << 20)})]
        resp = list(api.load_image(archives.legacy_archive(
            layers, archives.image_config(layers, ["sh"]), ["full/load:1"])))
        assert "no space left on device" in json.dumps(resp)
        assert set(os.listdir(d.data_root / "overlay2")) == overlay_before  # nothing kept
        # removals free space even now
        api.remove_container(keep)
        assert api.containers(all=True) == []
        assert api.ping()
        filler.unlink()
        ctr = api.create_container("busybox", ["echo", "space again"])
        api.start(ctr)
        api.wait(ctr)
        assert api.logs(ctr) == b"space again\n"
        d.restart()
        assert d.api().inspect_container(ctr["Id"])["State"]["ExitCode"] == 0
    finally:
        d.cleanup()
