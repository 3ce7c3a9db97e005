"""What a container cannot do: reach the daemon's files and sockets, become root
through its image's user database, make namespaces or mounts, or run host tools
of its choosing (reliability notes 1c, 1d)."""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import docker
import pytest

LOOP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


def image_with(client, tag: str, setup: str = "true",  # type: ignore[no-untyped-def]
               files: dict[str, bytes] | None = None, changes: list[str] | None = None) -> str:
    """busybox plus a shell setup step, some files and --change instructions."""
    c = client.containers.run("busybox", ["sh", "-c", setup], detach=True)
    try:
        assert c.wait(timeout=30)["StatusCode"] == 0, c.logs()
        if files:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for name, data in files.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
            c.put_archive("/", buf.getvalue())
        repo, _, version = tag.partition(":")
        c.commit(repository=repo, tag=version or "latest", changes=changes)
    finally:
        c.remove(force=True)
    return tag


def fd_targets(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return out


def socket_inodes(pid: int) -> set[str]:
    return {t for t in fd_targets(pid) if t.startswith("socket:")}


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("PPid:")).split()[1])


# -- file descriptors (CVE-2024-21626, CVE-2016-9962) -----------------------------------------
def test_no_daemon_fds_reach_containers_execs_or_conmon(daemon, client):
    c = client.containers.run("busybox", LOOP, detach=True)
    try:
        c.reload()
        init = c.attrs["State"]["Pid"]
        conmon = parent_of(init)
        exec_id = client.api.exec_create(c.id, ["sleep", "30"])["Id"]
        client.api.exec_start(exec_id, detach=True)
        exec_pid = client.api.exec_inspect(exec_id)["Pid"]
        roots = (str(daemon.data_root), str(daemon.exec_root), daemon.sock)
        for pid in (init, exec_pid):
            for target in fd_targets(pid):
                assert target in ("/dev/null",) or target.startswith(
                    ("pipe:", "/dev/pts/", "anon_inode:")), (pid, target)
        daemon_sockets = socket_inodes(daemon.proc.pid)
        assert not socket_inodes(conmon) & daemon_sockets  # nothing inherited
        private = {str(daemon.data_root / name) for name in
                   ("metadata.db", "metadata.db-wal", "metadata.db-shm", "dockerd-py.lock")}
        for target in fd_targets(conmon):
            assert target not in private and target != daemon.sock, target
            assert not target.startswith(roots) or c.id in target, target
        # what a user would look at: the container's own view
        listing = c.exec_run(["ls", "-l", "/proc/1/fd", "/proc/self/fd"]).output.decode()
        assert "metadata" not in listing and str(daemon.data_root) not in listing
    finally:
        c.remove(force=True)


@pytest.mark.parametrize("fd", range(3, 10))
def test_workdir_in_proc_self_fd_does_not_escape(client, fd):
    marker = Path(f"/dpy-escape-marker-{os.getpid()}")
    marker.mkdir(exist_ok=True)
    try:  # runc refuses a working directory that is no directory of the container's
        with pytest.raises(docker.errors.APIError) as err:
            client.containers.run("busybox", ["sh", "-c", "ls -a ../../../ ../../../../"],
                                  working_dir=f"/proc/self/fd/{fd}", remove=True)
        assert err.value.status_code == 400
        assert err.value.explanation.startswith(
            f"unable to start container process: error during container init: "
            f"mkdir /proc/self/fd/{fd}: "), err.value.explanation
    finally:
        marker.rmdir()


# -- users from the image (CVE-2024-40635, CVE-2016-3697, CVE-2022-36109) ------------------------
@pytest.fixture(scope="module")
def users_image(daemon):  # type: ignore[no-untyped-def]
    client = daemon.client()
    passwd = b"".join(f"{name}:x:0:0::/:/bin/sh\n".encode() for name in
                      ("root", "2147483648", "4294967296", "99999999999", "1000")) + \
        b"nobody:x:65534:65534::/:/bin/sh\n"
    group = b"root:x:0:\nnogroup:x:65534:\nextra:x:1234:nobody\nmore:x:1235:other,nobody\n"
    tag = image_with(client, "users-test:1", files={"etc/passwd": passwd, "etc/group": group})
    yield tag
    client.images.remove(tag, force=True)


@pytest.mark.parametrize("user", ["2147483648", "4294967296", "99999999999", "0:4294967296"])
def test_out_of_range_users_are_errors_never_root(client, users_image, user):
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.run(users_image, ["id", "-u"], user=user, remove=True)
    assert "uids and gids must be in range 0-2147483647" in str(err.value)


def test_numeric_user_is_a_uid_never_a_name(client, users_image):
    # /etc/passwd has a user *named* 1000 with uid 0: a number is always a uid
    out = client.containers.run(users_image, ["id", "-u"], user="1000", remove=True)
    assert out.strip() == b"1000"


def test_supplementary_groups_from_the_image(client, users_image):
    run = lambda **kw: client.containers.run(users_image, ["id", "-G"], remove=True,  # noqa: E731
                                             **kw).split()
    assert run(user="nobody") == [b"65534", b"1234", b"1235"]
    assert run(user="65534") == [b"65534", b"1234", b"1235"]
    assert run(user="nobody:extra") == [b"1234"]  # an explicit group: no others
    assert run(user="nobody", group_add=["4000"]) == [b"65534", b"1234", b"1235", b"4000"]


def test_hostile_passwd_files_fail_fast(client, tmp_path):
    host = tmp_path / "passwd"
    host.write_text("evil:x:4242:4242::/:/bin/sh\n")
    fifo = image_with(client, "passwd-fifo:1", "rm /etc/passwd && mkfifo /etc/passwd")
    zero = image_with(client, "passwd-zero:1", "rm /etc/passwd && ln -s /dev/zero /etc/passwd")
    hosted = image_with(client, "passwd-host:1", f"rm /etc/passwd && ln -s {host} /etc/passwd")
    try:
        refusals = {fifo: "unable to read etc/passwd in the container: not a regular file",
                    zero: "unable to find user nobody: no matching entries in passwd file",
                    hosted: "unable to find user evil: no matching entries in passwd file"}
        for image, message in refusals.items():
            start = time.time()
            with pytest.raises(docker.errors.APIError) as err:
                client.containers.run(image, ["id"], user="evil" if image == hosted else "nobody",
                                      remove=True)
            assert (err.value.status_code, err.value.explanation) == (400, message)
            assert time.time() - start < 10, image
    finally:
        for image in (fifo, zero, hosted):
            client.images.remove(image, force=True)


def test_image_volumes_stay_in_the_container(client):
    target = Path(f"/tmp/dpy-volume-escape-{os.getpid()}")
    tag = image_with(client, "volume-escape:1",
                     changes=[f'VOLUME ["/../../../..{target}"]'])
    try:
        client.containers.run(tag, ["true"], remove=True)  # its volume is the container's own
        assert not target.exists()
    finally:
        client.images.remove(tag, force=True)


# -- namespaces, mounts, host tools ------------------------------------------------------------
def test_namespaces_and_mounts_need_sys_admin(client):
    out = client.containers.run("busybox", ["sh", "-c", "unshare -U true 2>&1; unshare -n true 2>&1; "
                                            "mount -t tmpfs none /mnt 2>&1; echo done"],
                                remove=True).decode()
    assert out.count("Operation not permitted") == 2 and "permission denied" in out
    out = client.containers.run("busybox", ["sh", "-c", "unshare -n true && echo ok"],
                                cap_add=["SYS_ADMIN"], remove=True)
    assert out.strip() == b"ok"
    # ordinary processes still start (clone without namespace flags)
    assert client.containers.run("busybox", ["sh", "-c", "(echo sub)"], remove=True) == b"sub\n"


def test_top_runs_the_hosts_ps(client, tmp_path):
    """CVE-2022-1227: `docker top` never runs a binary of the container's."""
    marker = tmp_path / "ran"
    c = client.containers.run("busybox", LOOP, detach=True)
    try:
        c.exec_run(["sh", "-c", f"rm /bin/ps; printf '#!/bin/sh\\ntouch {marker}\\n' > /bin/ps; "
                                "chmod +x /bin/ps"])
        top = c.top()
        assert top["Titles"][0] == "UID" and len(top["Processes"]) >= 1
        assert not marker.exists()
    finally:
        c.remove(force=True)


def test_other_users_cannot_reach_the_daemon(daemon):
    def as_nobody(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(["python3", "-c", code], capture_output=True, text=True,
                              user=65534, group=65534, extra_groups=[], timeout=30)
    probe = as_nobody(f"""
import os, socket
for path in ({str(daemon.data_root)!r}, {str(daemon.exec_root)!r}):
    try:
        os.listdir(path); print("listed", path)
    except PermissionError:
        print("denied")
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({daemon.sock!r}); print("connected")
except PermissionError:
    print("denied")
""")
    assert probe.stdout.split() == ["denied"] * 3, probe.stdout + probe.stderr


def test_no_abstract_sockets_of_ours(daemon, client):
    """CVE-2020-15257: a host-network container sees no abstract socket of the
    daemon's or of a conmon's."""
    c = client.containers.run("busybox", LOOP, detach=True)
    try:
        c.reload()
        ours = socket_inodes(daemon.proc.pid) | socket_inodes(parent_of(c.attrs["State"]["Pid"]))
        table = client.containers.run("busybox", ["cat", "/proc/net/unix"], network_mode="host",
                                      remove=True).decode().splitlines()[1:]
        abstract = {f"socket:[{row.split()[6]}]" for row in table
                    if len(row.split()) > 7 and row.split()[7].startswith("@")}
        assert not abstract & ours
    finally:
        c.remove(force=True)


def test_control_sockets_are_private(daemon, client):
    c = client.containers.run("busybox", LOOP, detach=True)
    try:
        for dirpath, _dirs, filenames in os.walk(daemon.exec_root):
            for name in filenames:
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                if (st.st_mode & 0o170000) == 0o140000:  # a socket
                    assert st.st_mode & 0o007 == 0, path
        assert os.stat(daemon.exec_root).st_mode & 0o077 == 0
    finally:
        c.remove(force=True)
