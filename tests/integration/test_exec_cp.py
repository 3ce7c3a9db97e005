"""exec, docker cp and the real Docker CLI on a real terminal."""
from __future__ import annotations

import base64
import io
import json
import os
import tarfile
import time

import docker
import pexpect
import pytest

from .daemonctl import DOCKER_CLI
from .rawhttp import request

LOOP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


@pytest.fixture
def box(client):  # type: ignore[no-untyped-def]
    c = client.containers.run("busybox", LOOP, detach=True)
    yield c
    c.remove(force=True)


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def untar(chunks) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else m.linkname.encode())
                for m in tar.getmembers()}


# -- exec ---------------------------------------------------------------------------------
def test_exec_options(box):
    code, out = box.exec_run(["sh", "-c", "id -u; pwd; echo $GREETING; exit 4"],
                             user="nobody", workdir="/tmp", environment={"GREETING": "hi"})
    assert code == 4 and out.decode().split() == ["65534", "/tmp", "hi"]
    code, out = box.exec_run(["grep", "CapBnd", "/proc/self/status"], privileged=True)
    assert code == 0 and int(out.split()[1], 16) > 0xa80425fb
    code, out = box.exec_run(["grep", "CapBnd", "/proc/self/status"])
    assert int(out.split()[1], 16) == 0xa80425fb
    code, out = box.exec_run(["sh", "-c", "tty; stty size"], tty=True)
    assert code == 0 and out.decode().splitlines()[0].startswith("/dev/pts/")
    code, out = box.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert out == (b"out\n", b"err\n")


def test_exec_framing_follows_the_start_request(box, client):
    """dockerd frames an exec's output by the *start* request's Tty: created with
    a TTY and started with Tty false (the SDK's exec_start default), the TTY's
    output comes framed as stdout; created without and started with Tty true, raw."""
    api = client.api
    cmd = ["sh", "-c", "echo hello out; echo hello err >&2"]
    made = api.exec_create(box.id, cmd, tty=True)
    assert api.exec_start(made["Id"]) == b"hello out\r\nhello err\r\n"
    made = api.exec_create(box.id, cmd, tty=True)
    assert api.exec_start(made["Id"], demux=True) == (b"hello out\r\nhello err\r\n", None)
    made = api.exec_create(box.id, ["sh", "-c", "echo plain"])
    assert api.exec_start(made["Id"], tty=True) == b"plain\n"


def test_exec_term_follows_the_exec_tty(box, client):
    """dockerd gives an exec TERM=xterm when the exec has a TTY, whatever the
    container had, and none when it has not."""
    code, out = box.exec_run(["sh", "-c", "echo TERM=$TERM"], tty=True)
    assert (code, out) == (0, b"TERM=xterm\r\n")
    tty_box = client.containers.run("busybox", LOOP, detach=True, tty=True)
    try:
        code, out = tty_box.exec_run(["sh", "-c", "echo TERM=$TERM"])
        assert (code, out) == (0, b"TERM=\n")
        code, out = tty_box.exec_run(["sh", "-c", "echo TERM=$TERM"],
                                     environment={"TERM": "vt100"})
        assert out == b"TERM=vt100\n"  # the exec's own Env wins
    finally:
        tty_box.remove(force=True)


def test_exec_exit_codes_and_inspect(box, client):
    api = client.api
    exec_id = api.exec_create(box.id, ["nosuch"])["Id"]
    out = api.exec_start(exec_id)
    assert b"OCI runtime exec failed" in out and b"executable file not found" in out
    assert api.exec_inspect(exec_id)["ExitCode"] == 126  # as dockerd (run says 127)
    exec_id = api.exec_create(box.id, ["/etc"])["Id"]
    api.exec_start(exec_id)
    assert api.exec_inspect(exec_id)["ExitCode"] == 126
    exec_id = api.exec_create(box.id, ["sleep", "1"], user="nobody")["Id"]
    doc = api.exec_inspect(exec_id)
    assert doc["Running"] is False and doc["ExitCode"] is None and doc["Pid"] == 0
    api.exec_start(exec_id, detach=True)
    doc = api.exec_inspect(exec_id)
    assert doc["Running"] is True and doc["Pid"] > 0 and doc["ContainerID"] == box.id
    assert doc["ProcessConfig"] == {"tty": False, "entrypoint": "sleep", "arguments": ["1"],
                                    "privileged": False, "user": "nobody"}
    deadline = time.time() + 10
    while api.exec_inspect(exec_id)["Running"] and time.time() < deadline:
        time.sleep(0.1)
    assert api.exec_inspect(exec_id)["ExitCode"] == 0
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_start(exec_id, detach=True)
    assert err.value.status_code == 409 and "has already run" in str(err.value)
    # attached, the error arrives in the stream, as from dockerd
    assert b"has already run" in api.exec_start(exec_id)
    with pytest.raises(docker.errors.NotFound):
        api.exec_inspect("nosuchexec")
    box.reload()
    assert exec_id in box.attrs["ExecIDs"] or box.attrs["ExecIDs"] is None


def test_exec_bad_input(daemon, box, client):
    r = request(daemon.sock, "POST", f"/containers/{box.id}/exec", body=b'{"Cmd":[]}',
                headers={"Content-Type": "application/json"})
    assert r.status == 400 and "No exec command specified" in r.json()["message"]
    stopped = client.containers.create("busybox", ["true"])
    try:
        r = request(daemon.sock, "POST", f"/containers/{stopped.id}/exec",
                    body=b'{"Cmd":["true"]}', headers={"Content-Type": "application/json"})
        assert r.status == 409 and "is not running" in r.json()["message"]
    finally:
        stopped.remove()
    r = request(daemon.sock, "POST", "/exec/nosuch/resize?h=10&w=10")
    assert r.status == 404
    # dockerd reads the body before it looks for the container: 400 before 404
    for body, status in ((b'{"Cmd": ["true"', 400), (b'{"Cmd": []}', 400),
                         (b'{"Cmd": ["true"]}', 404)):
        r = request(daemon.sock, "POST", "/containers/nosuch/exec", body=body,
                    headers={"Content-Type": "application/json"})
        assert r.status == status, (body, r.body)
    # and so does the start: a malformed body is 400 before an unknown exec is 404
    r = request(daemon.sock, "POST", "/exec/nosuch/start", body=b"{invalid json",
                headers={"Content-Type": "application/json"})
    assert (r.status, r.json()["message"]) == (
        400, "invalid JSON: invalid character 'i' looking for beginning of object key string")
    r = request(daemon.sock, "POST", "/exec/nosuch/start", body=b"{}",
                headers={"Content-Type": "application/json"})
    assert (r.status, r.json()["message"]) == (404, "No such exec instance: nosuch")


def test_exec_events(client, box):
    since = time.time() - 1
    box.exec_run(["true"])
    time.sleep(0.2)
    actions = [e["Action"] for e in client.events(since=since, until=time.time(), decode=True,
                                                  filters={"container": box.id})]
    assert "exec_create: true" in actions and "exec_start: true" in actions
    assert any(a.startswith("exec_die") for a in actions)


# -- docker cp: the archive endpoints ----------------------------------------------------------
def test_archive_round_trip_and_stat_header(daemon, box):
    assert box.put_archive("/tmp", tar_of({"a/b.txt": b"hello"}))
    chunks, stat = box.get_archive("/tmp/a")
    assert stat["name"] == "a" and stat["mode"] & (1 << 31)  # Go's os.ModeDir
    assert untar(chunks)["a/b.txt"] == b"hello"
    r = request(daemon.sock, "HEAD", f"/containers/{box.id}/archive?path=/tmp/a/b.txt")
    assert r.status == 200
    header = json.loads(base64.b64decode(r.headers["x-docker-container-path-stat"]))
    assert header["size"] == 5 and header["name"] == "b.txt" and header["mode"] == 0o640
    r = request(daemon.sock, "HEAD", f"/containers/{box.id}/archive?path=/nope")
    assert r.status == 404
    r = request(daemon.sock, "GET", f"/containers/{box.id}/archive?path=/nope")
    assert r.status == 404 and r.json()["message"].startswith("Could not find the file /nope")
    r = request(daemon.sock, "GET", f"/containers/{box.id}/archive")
    assert r.status == 400
    with pytest.raises(docker.errors.APIError) as err:
        box.put_archive("/tmp/a/b.txt", tar_of({"x": b"1"}))  # not a directory
    assert err.value.status_code == 400
    with pytest.raises(docker.errors.APIError):
        box.put_archive("/tmp", b"this is not a tar archive at all" * 40)


def test_archive_members_with_absolute_names_land_below_the_target(box):
    """testcontainers' copy_into_container sends members named `/file`: dockerd
    takes them relative to the target directory."""
    assert box.put_archive("/tmp", tar_of({"/abs/in.txt": b"from testcontainers"}))
    code, out = box.exec_run(["cat", "/tmp/abs/in.txt"])
    assert (code, out) == (0, b"from testcontainers")
    code, _ = box.exec_run(["test", "-e", "/abs"])
    assert code == 1  # not at the container's root


def test_the_roots_archive_is_rebased_as_dockerd_does(box):
    """dockerd names the root's entries after its base name: `/` gives `/`,
    `/tmp/`, ...; `/.` gives `./`, `./tmp/`, ... (moby's TestCopyFromContainer),
    of a running container too."""
    box.put_archive("/", tar_of({"foo": b"hello"}))
    for path, prefix in (("/", "/"), ("/.", "./")):
        chunks, _ = box.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            names = tar.getnames()
        assert names[0] == prefix.rstrip("/")  # tarfile drops a directory's slash
        assert {prefix + "foo", prefix + "tmp"} <= set(names)
        assert all(n.startswith(prefix) for n in names[1:])
        # the kernel's proc and sys are the empty mount points of the rootfs, as dockerd
        # archives them (never /proc/kcore, never a /proc/self that cannot be read)
        assert {prefix + "proc", prefix + "sys"} <= set(names)
        assert not [n for n in names if n.startswith((prefix + "proc/", prefix + "sys/"))]


def test_a_file_taken_for_a_directory_is_dockerds_lstat_error(daemon, box):
    """`/etc/passwd/`: dockerd's Stat fails with ENOTDIR, which it answers as a
    system error (500) with the lstat's words, both ways of docker cp."""
    for method, body in (("GET", None), ("PUT", tar_of({"x": b"1"}))):
        r = request(daemon.sock, method, f"/containers/{box.id}/archive?path=/etc/passwd/",
                    body=body, headers={"Content-Type": "application/x-tar"})
        assert (r.status, r.json()["message"]) == (500, "lstat /etc/passwd/: not a directory")


def test_archive_into_a_stopped_container(client):
    c = client.containers.create("busybox", ["cat", "/tmp/in.txt"])
    try:
        c.put_archive("/tmp", tar_of({"in.txt": b"copied before start\n"}))
        c.start()
        c.wait(timeout=10)
        assert c.logs() == b"copied before start\n"
        assert untar(c.get_archive("/tmp/in.txt")[0]) == {"in.txt": b"copied before start\n"}
    finally:
        c.remove(force=True)


def test_cp_never_follows_symlinks_out_of_the_container(box, tmp_path):
    """Symlinks planted to `/`, `..` and a host path resolve inside the container."""
    host = tmp_path / "host-victim"
    host.mkdir()
    (host / "secret").write_text("host secret")
    before = sorted(os.listdir("/tmp"))
    code, _ = box.exec_run(["sh", "-c", f"ln -s / /to-root; ln -s ../../../.. /to-up; "
                                        f"ln -s {host} /to-host; mkdir -p /a; "
                                        f"ln -s / /a/b"])
    assert code == 0
    marker = f"dpy-cp-escape-{os.getpid()}"
    for target in ("/to-root/tmp", "/to-up/tmp", "/a/b/tmp"):
        box.put_archive(target, tar_of({marker: b"in"}))
    assert not os.path.exists(f"/tmp/{marker}")
    assert sorted(os.listdir("/tmp")) == before
    code, out = box.exec_run(["cat", f"/tmp/{marker}"])
    assert out == b"in"
    # CVE-2021-41089: parents made through a symlink to / land in the container
    box.put_archive("/to-root", tar_of({"made/deep/x": b"1"}))
    assert not os.path.exists("/made")
    assert box.exec_run(["cat", "/made/deep/x"]).output == b"1"
    # a symlink to a host path: that path does not exist in the container
    with pytest.raises(docker.errors.NotFound):
        box.put_archive("/to-host", tar_of({"planted": b"x"}))
    with pytest.raises(docker.errors.NotFound):
        box.get_archive("/to-host/secret")
    assert sorted(os.listdir(host)) == ["secret"]
    # the link itself is what `docker cp` copies out (no -L)
    assert untar(box.get_archive("/to-host")[0]) == {"to-host": str(host).encode()}


def test_cp_tar_entries_cannot_escape(box, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        link = tarfile.TarInfo("esc")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path)
        tar.addfile(link)
        for name in ("esc/through-link", "../../../../../" + str(tmp_path)[1:] + "/dotdot"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(docker.errors.APIError) as err:  # the link leads out: not there inside
        box.put_archive("/tmp", buf.getvalue())
    assert err.value.status_code == 400
    assert err.value.explanation == "cannot extract 'esc/through-link': No such file or directory"
    assert os.listdir(tmp_path) == []


def test_cp_does_not_run_container_binaries(box, tmp_path):
    """CVE-2026-41567 / CVE-2019-14271: a compressed upload and a GET never run the
    container's xz, gzip or libnss."""
    marker = tmp_path / "ran"
    script = f"#!/bin/sh\ntouch {marker}\nexec cat\n"
    plant = " ".join(f"printf '%s' '{script}' > /usr/bin/{name}; chmod +x /usr/bin/{name};"
                     for name in ("xz", "gzip", "unpigz"))
    box.exec_run(["sh", "-c", "mkdir -p /usr/bin /lib; " + plant +
                  " echo 'passwd: files' > /etc/nsswitch.conf; echo junk > /lib/libnss_files.so.2"])
    xz_magic = b"\xfd7zXZ\x00" + b"\x00" * 200
    with pytest.raises(docker.errors.APIError):
        box.put_archive("/tmp", xz_magic)
    box.get_archive("/etc/nsswitch.conf")
    assert not marker.exists()


def test_cp_races_a_swapping_symlink(box, tmp_path):
    """CVE-2018-15664: a container swaps a directory and a symlink to / while copies run;
    no copy may write into or read from the host."""
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    token = os.urandom(16).hex().encode()
    (sentinel / "secret").write_bytes(token)
    rel = str(sentinel)[1:]
    box.exec_run(["sh", "-c", "mkdir -p /w/d"])
    box.exec_run(["sh", "-c", "while true; do rm -rf /w/d; ln -s / /w/d; rm -f /w/d; "
                  "mkdir /w/d; done"], detach=True)
    for i in range(150):
        # whichever the container shows at the moment: written inside it, or not
        # there (the link leads to the container's own /, which has no such path)
        try:
            box.put_archive("/w/d", tar_of({f"{rel}/in{i}": b"x"}))
        except docker.errors.APIError as err:
            assert err.status_code in (400, 404), (err.status_code, err.explanation)
        try:
            assert token not in b"".join(box.get_archive(f"/w/d/{rel}/secret")[0])
        except docker.errors.NotFound:
            pass
    assert os.listdir(sentinel) == ["secret"]


# -- the real Docker CLI on a terminal ----------------------------------------------------------
def spawn_cli(daemon, *args: str) -> pexpect.spawn:  # type: ignore[no-untyped-def]
    child = pexpect.spawn(DOCKER_CLI, list(args), env=daemon.env(), timeout=15,
                          dimensions=(30, 100))
    return child


def test_docker_run_it_on_a_pty(daemon):
    child = spawn_cli(daemon, "run", "-it", "--rm", "--name", "pty-run", "busybox", "sh")
    child.expect(r"# ")
    child.sendline("tty; stty size; echo $((6*7))")
    child.expect(r"/dev/pts/\d+")
    child.expect(r"30 100")
    child.expect("42")
    child.setwinsize(40, 120)  # SIGWINCH reaches the CLI, which resizes the container
    time.sleep(0.5)
    child.sendline("stty size")
    child.expect("40 120")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


def test_docker_run_it_detach_and_exec_it(daemon):
    # cat, not sh: busybox's line editor asks an idle terminal for the cursor
    # position, and pexpect is no terminal that answers
    child = spawn_cli(daemon, "run", "-it", "--name", "pty-detach", "busybox", "cat")
    try:
        child.sendline("before-detach")
        child.expect("before-detach\r\nbefore-detach")  # the tty's echo, then cat's
        child.send("\x10\x11")  # ctrl-p ctrl-q
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        state = daemon.docker("inspect", "-f", "{{.State.Status}}", "pty-detach")
        assert state.stdout.decode().strip() == "running"
        exe = spawn_cli(daemon, "exec", "-it", "pty-detach", "sh")
        exe.expect(r"# ")
        exe.sendline("tty && echo exec-ok")
        exe.expect("exec-ok")
        exe.setwinsize(33, 77)  # the CLI resizes the exec's terminal
        time.sleep(0.5)
        exe.sendline("stty size")
        exe.expect("33 77")
        exe.sendline("exit 5")
        exe.expect(pexpect.EOF)
        exe.close()
        assert exe.exitstatus == 5
        back = spawn_cli(daemon, "attach", "pty-detach")
        time.sleep(0.5)
        back.sendline("attached-again")
        back.expect("attached-again\r\nattached-again")
        back.sendcontrol("d")  # EOF for cat: the container ends, and the attach with it
        back.expect(pexpect.EOF)
        back.close()
        assert back.exitstatus == 0
    finally:
        daemon.docker("rm", "-f", "pty-detach")


def test_docker_cli_exec_and_cp(daemon, tmp_path):
    run = daemon.docker("run", "-d", "--name", "cli-cp", "busybox", *LOOP)
    assert run.returncode == 0, run.stderr
    try:
        out = daemon.docker("exec", "-e", "X=1", "-w", "/tmp", "cli-cp", "sh", "-c", "echo $X; pwd")
        assert out.stdout.decode().split() == ["1", "/tmp"]
        assert daemon.docker("exec", "cli-cp", "nosuch").returncode == 126
        assert daemon.docker("exec", "cli-cp", "sh", "-c", "exit 7").returncode == 7
        piped = daemon.docker("exec", "-i", "cli-cp", "wc", "-c", input=b"12345")
        assert piped.stdout.strip() == b"5"
        (tmp_path / "in.txt").write_text("from host\n")
        assert daemon.docker("cp", str(tmp_path / "in.txt"), "cli-cp:/tmp/").returncode == 0
        assert daemon.docker("exec", "cli-cp", "cat", "/tmp/in.txt").stdout == b"from host\n"
        done = daemon.docker("cp", "cli-cp:/tmp/in.txt", str(tmp_path / "back.txt"))
        assert done.returncode == 0 and (tmp_path / "back.txt").read_text() == "from host\n"
        missing = daemon.docker("cp", "cli-cp:/nope", str(tmp_path))
        assert missing.returncode == 1 and b"Could not find the file /nope" in missing.stderr
    finally:
        daemon.docker("rm", "-f", "cli-cp")
