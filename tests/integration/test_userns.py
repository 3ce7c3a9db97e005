"""`--userns-remap=default`: root in a container is the dockremap user's
subordinate range on the host; the container's files, volumes, copies, builds
and commits follow the map, and what leaves the daemon (cp, save, export) is
as the container sees it. The Docker CLI drives a daemon of the module's own."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockerd_py.userns import read_ranges, user_exists

from .conftest import busybox_daemon
from .daemonctl import Daemon

SUBID_FILES = ("/etc/subuid", "/etc/subgid")


@pytest.fixture(scope="module")
def remapped(workdir: Path, rootfs_tar: Path) -> Iterator[Daemon]:
    """A daemon with --userns-remap=default; the dockremap user and its ranges,
    when this test made them, are removed afterwards."""
    made_user = not user_exists("dockremap")
    before = {p: Path(p).read_text() if os.path.exists(p) else None for p in SUBID_FILES}

    def searchable(d: Daemon) -> None:  # mkdtemp makes 0700 directories
        for path in (workdir, d.root):
            os.chmod(path, 0o711)
    try:
        with busybox_daemon(workdir, rootfs_tar, "userns", prepare=searchable,
                            extra_args=["--userns-remap", "default"]) as d:
            yield d
    finally:
        if made_user and user_exists("dockremap"):
            subprocess.run(["userdel", "dockremap"], capture_output=True)
            for path, text in before.items():
                if text is None:
                    Path(path).unlink(missing_ok=True)
                else:
                    Path(path).write_text(text)


def _start(file: str) -> int:
    return next(start for name, start, _ in read_ranges(file) if name == "dockremap")


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_root_in_the_container_is_the_subordinate_range_on_the_host(remapped):
    uid0, gid0 = _start("/etc/subuid"), _start("/etc/subgid")
    cid = _ok(remapped.docker("run", "-d", "busybox", "sleep", "60")).strip()
    try:
        pid = int(_ok(remapped.docker("inspect", "-f", "{{.State.Pid}}", cid)))
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()
        assert int(uids[1]) == uid0  # not the host's root
        inside = _ok(remapped.docker("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map"))
        assert inside.split() == ["0", "0", str(uid0), "65536"]
        # a container sharing its network shares its user namespace
        assert _ok(remapped.docker("run", "--rm", "--network", f"container:{cid}", "busybox",
                                   "cat", "/proc/self/uid_map")).split() == ["0", str(uid0),
                                                                             "65536"]
    finally:
        remapped.docker("rm", "-f", cid)
    info = json.loads(_ok(remapped.docker("info", "--format", "{{json .}}")))
    assert "name=userns" in info["SecurityOptions"]
    assert info["DockerRootDir"] == str(remapped.data_root / f"{uid0}.{gid0}")


def test_files_volumes_and_copies_follow_the_map(remapped, tmp_path):
    uid0, gid0 = _start("/etc/subuid"), _start("/etc/subgid")
    _ok(remapped.docker("volume", "create", "uv"))
    cid = _ok(remapped.docker(
        "run", "-d", "-v", "uv:/data", "busybox", "sh", "-c",
        "touch /data/f /made && mkdir -p /home/u && echo x > /home/u/f && "
        "chown -R 1000:1000 /home/u && sleep 60")).strip()
    try:
        _ok(remapped.docker("exec", cid, "ls", "/home/u/f"))
        volume = Path(_ok(remapped.docker("volume", "inspect", "-f", "{{.Mountpoint}}", "uv"))
                      .strip())
        assert (os.stat(volume / "f").st_uid, os.stat(volume).st_uid) == (uid0, uid0)
        upper = Path(_ok(remapped.docker("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}",
                                         cid)).strip())
        assert (os.stat(upper / "made").st_uid, os.stat(upper / "made").st_gid) == (uid0, gid0)
        assert os.stat(upper / "home/u/f").st_uid == uid0 + 1000
        # docker cp out: the owners the container sees
        out = subprocess.run(["/usr/local/bin/docker", "cp", f"{cid}:/home/u", "-"],
                             env=remapped.env(), capture_output=True, check=True).stdout
        owners = {m.name: (m.uid, m.gid) for m in tarfile.open(fileobj=io.BytesIO(out))}
        assert owners == {"u": (1000, 1000), "u/f": (1000, 1000)}
        # docker cp in: the container's root, stored shifted
        (tmp_path / "in.txt").write_text("in")
        _ok(remapped.docker("cp", str(tmp_path / "in.txt"), f"{cid}:/tmp/"))
        assert _ok(remapped.docker("exec", cid, "stat", "-c", "%u:%g", "/tmp/in.txt")).strip() \
            == "0:0"
        assert os.stat(upper / "tmp/in.txt").st_uid == uid0
        # export and commit: no host IDs leak into archives
        exported = tarfile.open(fileobj=io.BytesIO(subprocess.run(
            ["/usr/local/bin/docker", "export", cid], env=remapped.env(), capture_output=True,
            check=True).stdout))
        assert max(m.uid for m in exported) < 65536
        _ok(remapped.docker("commit", cid, "userns-commit:1"))
        layers = _layer_tars(remapped, "userns-commit:1")
        top = {m.name: (m.uid, m.gid) for m in layers[-1]}
        assert top["home/u/f"] == (1000, 1000) and top["made"] == (0, 0)
    finally:
        remapped.docker("rm", "-f", cid)
        remapped.docker("rmi", "userns-commit:1")
        remapped.docker("volume", "rm", "uv")


def _save(daemon: Daemon, ref: str) -> dict[str, bytes]:
    out = subprocess.run(["/usr/local/bin/docker", "save", ref], env=daemon.env(),
                         capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _layer_tars(daemon: Daemon, ref: str) -> list[tarfile.TarFile]:
    files = _save(daemon, ref)
    manifest = json.loads(files["manifest.json"])[0]
    return [tarfile.open(fileobj=io.BytesIO(files[name])) for name in manifest["Layers"]]


def test_images_keep_their_ids_and_bytes_across_the_map(remapped, daemon):
    """An image loaded into a remapped daemon has the same ID, and saves to the
    same layer bytes, as on a daemon without the map."""
    plain = subprocess.run(["/usr/local/bin/docker", "save", "busybox"], env=daemon.env(),
                           capture_output=True, check=True).stdout
    _ok(remapped.docker("load", "-q", input=plain))
    plain_id = _ok(daemon.docker("images", "-q", "--no-trunc", "busybox")).strip()
    assert _ok(remapped.docker("images", "-q", "--no-trunc", "busybox")).strip() == plain_id

    def digests(files: dict[str, bytes]) -> set[str]:
        return {hashlib.sha256(data).hexdigest() for name, data in files.items()
                if name.startswith("blobs/")}
    assert digests(_save(remapped, "busybox")) == digests(_save(daemon, "busybox"))


def test_host_files_are_out_of_the_containers_reach(remapped):
    shared = remapped.root / "shared"  # on a path the remapped root may search
    shared.mkdir()
    (shared / "readable").write_text("hello\n")
    (shared / "secret").write_text("root only\n")
    os.chmod(shared / "secret", 0o600)
    run = remapped.docker("run", "--rm", "-v", f"{shared}:/b", "busybox", "sh", "-c",
                          "cat /b/readable; cat /b/secret; touch /b/new")
    assert run.stdout.decode() == "hello\n"
    assert run.returncode == 1
    assert "Permission denied" in run.stderr.decode()
    assert not (shared / "new").exists()


@pytest.mark.parametrize("flags,message", [
    (["--privileged"], "privileged mode is incompatible with user namespaces"),
    (["--network", "host"], "cannot share the host's network namespace when user namespaces "
                            "are enabled"),
    (["--pid", "host"], "cannot share the host PID namespace when user namespaces are enabled"),
])
def test_host_namespaces_need_userns_host(remapped, flags, message):
    refused = remapped.docker("run", "--rm", *flags, "busybox", "true")
    assert refused.returncode == 125 and message in refused.stderr.decode()
    allowed = remapped.docker("run", "--rm", "--userns", "host", *flags, "busybox",
                              "cat", "/proc/self/uid_map")
    assert _ok(allowed).split() == ["0", "0", "4294967295"]


def test_a_shared_ipc_namespace_works_remapped(remapped):
    """--ipc shareable and container:X under the map: the daemon's shm tmpfs is
    the remapped root's, and the joiner enters the donor's user namespace too."""
    donor = _ok(remapped.docker("run", "-d", "--ipc", "shareable", "busybox", "top")).strip()
    try:
        _ok(remapped.docker("exec", donor, "sh", "-c", "printf shared > /dev/shm/x"))
        out = remapped.docker("run", "--rm", "--ipc", f"container:{donor}", "busybox",
                              "sh", "-c", "cat /dev/shm/x; echo; touch /dev/shm/y && echo w")
        assert _ok(out).split() == ["shared", "w"]
    finally:
        remapped.docker("rm", "-f", donor)


def test_builds_store_shifted_and_commit_as_the_container_sees(remapped, tmp_path):
    (tmp_path / "f.txt").write_text("content\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nCOPY f.txt /app/f.txt\nCOPY --chown=1000:1000 f.txt /app/g.txt\n"
        "WORKDIR /newdir\nRUN touch /app/run.txt && id -u > /app/who\n")
    _ok(remapped.docker("build", "-q", "-t", "userns-build:1", str(tmp_path)))
    try:
        inside = _ok(remapped.docker("run", "--rm", "userns-build:1", "sh", "-c",
                                     "stat -c '%n %u:%g' /app/* /newdir; cat /app/who"))
        assert inside.split("\n")[:6] == ["/app/f.txt 0:0", "/app/g.txt 1000:1000",
                                          "/app/run.txt 0:0", "/app/who 0:0", "/newdir 0:0",
                                          "0"]
        owners = {(m.uid, m.gid) for layer in _layer_tars(remapped, "userns-build:1")
                  for m in layer}
        assert owners <= {(0, 0), (1000, 1000)}
    finally:
        remapped.docker("rmi", "userns-build:1")


def test_running_containers_survive_a_daemon_restart(remapped):
    """Live restore with the map: the container runs on, and the restarted daemon
    (same remapped root) still execs into it and stops it."""
    cid = _ok(remapped.docker("run", "-d", "busybox", "sleep", "300")).strip()
    try:
        remapped.restart()
        assert _ok(remapped.docker("exec", cid, "id", "-u")).strip() == "0"
        _ok(remapped.docker("stop", "-t", "1", cid))
        assert _ok(remapped.docker("inspect", "-f", "{{.State.Status}}", cid)).strip() == "exited"
    finally:
        remapped.docker("rm", "-f", cid)
