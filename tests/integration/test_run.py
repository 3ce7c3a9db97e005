"""Running containers with the real Docker CLI and the Docker SDK."""
from __future__ import annotations

import ipaddress
import json
import time

import docker
import pytest

from shared import stdcopy

from .rawhttp import open_stream, read_until_closed, request


def test_docker_cli_run_rm_echo(daemon, docker_cli, client):
    before = {c.id for c in client.containers.list(all=True)}
    out = docker_cli("run", "--rm", "busybox", "echo", "hello")
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"hello\n"
    assert {c.id for c in client.containers.list(all=True)} == before  # --rm removed it


def test_docker_cli_exit_code(docker_cli):
    out = docker_cli("run", "--rm", "busybox", "sh", "-c", "exit 3")
    assert out.returncode == 3


def test_docker_cli_run_env_hostname_user_workdir(docker_cli):
    out = docker_cli("run", "--rm", "-e", "VAL=42", "-h", "mysky.com", "-u", "nobody",
                     "-w", "/tmp/newdir", "busybox", "sh", "-c",
                     'echo $VAL $(hostname) $(id -u) $(pwd) $HOME')
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [b"42", b"mysky.com", b"65534", b"/tmp/newdir", b"/"]


def test_docker_cli_stdin(docker_cli):
    out = docker_cli("run", "--rm", "-i", "busybox", "cat", input=b"from-stdin\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"from-stdin\n"


def test_docker_cli_detached_ps_logs_stop_rm(docker_cli):
    name = "cli-detached"
    out = docker_cli("run", "-d", "--name", name, "busybox", "sh", "-c",
                     "echo started; echo oops >&2; trap 'exit 0' TERM; while true; do sleep 0.1; done")
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip().decode()
    try:
        assert name in docker_cli("ps").stdout.decode()
        deadline = time.time() + 10
        while time.time() < deadline:
            logs = docker_cli("logs", name)
            if b"started" in logs.stdout:
                break
            time.sleep(0.1)
        assert logs.stdout == b"started\n" and logs.stderr == b"oops\n"
        assert docker_cli("stop", "-t", "5", name).returncode == 0
        state = json.loads(docker_cli("inspect", name).stdout)[0]["State"]
        assert state["Status"] == "exited" and state["ExitCode"] == 0
        assert docker_cli("rm", name).returncode == 0
        assert name not in docker_cli("ps", "-a").stdout.decode()
    finally:
        docker_cli("rm", "-f", cid)


def test_command_not_found_exit_codes(docker_cli):
    out = docker_cli("run", "--rm", "busybox", "/no/such/binary")
    assert out.returncode == 127
    out = docker_cli("run", "--rm", "busybox", "/etc")
    assert out.returncode == 126
    out = docker_cli("run", "--rm", "busybox:nosuchtag", "true")
    assert out.returncode == 125


def test_sdk_run_list_images(client):
    assert client.containers.run("busybox", ["echo", "sdk"], remove=True) == b"sdk\n"
    c = client.containers.run("busybox", ["sleep", "30"], detach=True, name="sdk-listed",
                              labels={"suite": "run"})
    try:
        names = [x.name for x in client.containers.list()]
        assert "sdk-listed" in names
        assert [x.name for x in client.containers.list(filters={"label": "suite=run"})] == ["sdk-listed"]
        assert [x.name for x in client.containers.list(filters={"name": "sdk-list"})] == ["sdk-listed"]
        assert client.containers.list(filters={"status": "exited", "name": "sdk-listed"}) == []
        assert "busybox:latest" in [t for i in client.images.list() for t in i.tags]
    finally:
        c.remove(force=True)


def test_sdk_image_not_found_error(client):
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nosuchimage:1", ["true"])


def test_inspect_shape(client, daemon):
    c = client.containers.create("busybox", ["sleep", "1"], name="shape", hostname="h1",
                                 labels={"a": "b"}, environment=["X=1"])
    try:
        doc = client.api.inspect_container(c.id)
        for key in ("Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                    "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
                    "Platform", "HostConfig", "GraphDriver", "Mounts", "Config",
                    "NetworkSettings"):
            assert key in doc, key
        assert doc["Name"] == "/shape"
        assert doc["Path"] == "sleep" and doc["Args"] == ["1"]
        assert doc["State"]["Status"] == "created"
        assert doc["Config"]["Image"] == "busybox"  # what the user asked for
        assert doc["Image"].startswith("sha256:")
        assert doc["Config"]["Hostname"] == "h1"
        assert "X=1" in doc["Config"]["Env"]
        assert doc["Config"]["Labels"] == {"a": "b"}
        assert doc["HostConfig"]["NetworkMode"] == "bridge"
        assert doc["GraphDriver"]["Name"] == "overlay2"
        assert "bridge" in doc["NetworkSettings"]["Networks"]
    finally:
        c.remove()


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    return stdcopy.Demuxer().feed(data)


@pytest.mark.parametrize("upgrade", [True, False])
def test_attach_hijack(daemon, client, upgrade):
    """101 with Upgrade: tcp, 200 without; stdin in and framed output out in both."""
    c = client.containers.create("busybox", ["sh", "-c", "read line; echo got:$line; echo e >&2"],
                                 stdin_open=True)
    try:
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"} if upgrade else {}
        s, status, reason, hdrs, rest = open_stream(
            daemon.sock, "POST", f"/v1.44/containers/{c.id}/attach?stream=1&stdin=1&stdout=1&stderr=1",
            headers=headers)
        if upgrade:
            assert (status, reason) == (101, "UPGRADED")
            assert hdrs["upgrade"] == "tcp"
        else:
            assert status == 200
        assert hdrs["content-type"] == "application/vnd.docker.multiplexed-stream"
        c.start()
        s.sendall(b"hello\n")
        data = rest + read_until_closed(s)
        s.close()
        frames = _frames(data)
        assert (1, b"got:hello\n") in frames
        assert (2, b"e\n") in frames
    finally:
        c.remove(force=True)


def test_attach_stdin_half_close(daemon, client):
    """A client that closes its sending side still gets the output (cat exits on EOF)."""
    import socket as socketmod
    r = request(daemon.sock, "POST", "/containers/create", headers={"Content-Type": "application/json"},
                body=json.dumps({"Image": "busybox", "Cmd": ["cat"], "OpenStdin": True,
                                 "StdinOnce": True}).encode())
    c = client.containers.get(r.json()["Id"])
    try:
        s, status, _, _, rest = open_stream(
            daemon.sock, "POST", f"/containers/{c.id}/attach?stream=1&stdin=1&stdout=1",
            headers={"Connection": "Upgrade", "Upgrade": "tcp"})
        assert status == 101
        c.start()
        s.sendall(b"piped data\n")
        s.shutdown(socketmod.SHUT_WR)
        data = rest + read_until_closed(s)
        s.close()
        assert _frames(data) == [(1, b"piped data\n")]
        assert c.wait(timeout=10)["StatusCode"] == 0
    finally:
        c.remove(force=True)


def test_attach_tty_is_raw(daemon, client):
    c = client.containers.create("busybox", ["echo", "ttyout"], tty=True)
    try:
        s, status, _, hdrs, rest = open_stream(
            daemon.sock, "POST", f"/containers/{c.id}/attach?stream=1&stdout=1&stderr=1",
            headers={"Connection": "Upgrade", "Upgrade": "tcp"})
        assert hdrs["content-type"] == "application/vnd.docker.raw-stream"
        c.start()
        data = rest + read_until_closed(s)
        s.close()
        assert data == b"ttyout\r\n"
    finally:
        c.remove(force=True)


def test_wait_sends_headers_before_exit(daemon, client):
    c = client.containers.create("busybox", ["sh", "-c", "exit 4"])
    try:
        s, status, _, hdrs, rest = open_stream(daemon.sock, "POST",
                                               f"/containers/{c.id}/wait?condition=next-exit",
                                               headers={"Connection": "close"})
        assert status == 200  # the head arrived although the container has not even started
        c.start()
        body = rest + read_until_closed(s)
        s.close()
        chunk = body.split(b"\r\n")[1] if hdrs.get("transfer-encoding") == "chunked" else body
        assert json.loads(chunk) == {"StatusCode": 4}
    finally:
        c.remove(force=True)


def test_logs_options(client, daemon):
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; "
                                          "echo err >&2"], detach=True)
    try:
        c.wait(timeout=10)
        assert c.logs(stdout=True, stderr=False) == b"line1\nline2\nline3\nline4\nline5\n"
        assert c.logs(stdout=False, stderr=True) == b"err\n"
        assert c.logs(tail=2) == b"line5\nerr\n"
        stamped = c.logs(timestamps=True, stdout=True, stderr=False).splitlines()
        assert len(stamped) == 5 and stamped[0].endswith(b" line1")
        assert stamped[0].split(b" ")[0].endswith(b"Z")
        r = request(daemon.sock, "GET", f"/containers/{c.id}/logs?stdout=1&stderr=1")
        assert r.headers["content-type"] == "application/vnd.docker.multiplexed-stream"
        frames = _frames(r.body)
        assert frames[0] == (1, b"line1\n") and frames[-1] == (2, b"err\n")
    finally:
        c.remove()


def test_logs_follow_ends_with_container(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo a; sleep 1; echo b"], detach=True)
    try:
        chunks = list(c.logs(stream=True, follow=True))
        assert b"".join(chunks) == b"a\nb\n"
    finally:
        c.remove(force=True)


def test_kill_stop_and_signals(client):
    c = client.containers.run("busybox", ["sh", "-c", "trap 'exit 42' USR1; echo ready; "
                                          "while true; do sleep 0.1; done"], detach=True)
    try:
        # sh is PID 1: a signal that comes before its trap is ignored, so wait for it
        deadline = time.time() + 10
        while b"ready" not in c.logs() and time.time() < deadline:
            time.sleep(0.02)
        c.kill(signal="SIGUSR1")
        assert c.wait(timeout=10)["StatusCode"] == 42
    finally:
        c.remove(force=True)
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    try:
        start = time.time()
        c.stop(timeout=1)  # sleep as PID 1 ignores SIGTERM: killed after the timeout
        assert time.time() - start < 8
        c.reload()
        assert c.attrs["State"]["ExitCode"] == 137
    finally:
        c.remove(force=True)


def test_network_modes(client, daemon):
    out = client.containers.run("busybox", ["ip", "-o", "-4", "addr", "show", "eth0"],
                                remove=True).decode()
    address = out.split("inet ")[1].split("/")[0]
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network(daemon.subnet)
    route = client.containers.run("busybox", ["ip", "route"], remove=True).decode()
    assert f"default via {daemon.gateway}" in route
    none = client.containers.run("busybox", ["ifconfig", "-a"], network_mode="none",
                                 remove=True).decode()
    assert "eth0" not in none and "lo" in none
    host = client.containers.run("busybox", ["ip", "link"], network_mode="host",
                                 remove=True).decode()
    assert daemon.bridge in host


def test_network_settings_while_running(client, daemon):
    c = client.containers.run("busybox", ["sleep", "30"], detach=True)
    try:
        c.reload()
        ep = c.attrs["NetworkSettings"]["Networks"]["bridge"]
        assert ep["Gateway"] == daemon.gateway
        assert ep["IPPrefixLen"] == 24
        assert c.attrs["NetworkSettings"]["IPAddress"] == ep["IPAddress"]
        assert c.attrs["NetworkSettings"]["SandboxKey"]
        net = client.api.inspect_network("bridge")
        assert net["Containers"][c.id]["IPv4Address"] == f"{ep['IPAddress']}/24"
    finally:
        c.remove(force=True)


def test_etc_files_written_by_daemon(client):
    out = client.containers.run("busybox", ["sh", "-c", "cat /etc/hostname; cat /etc/hosts; "
                                            "cat /etc/resolv.conf; ls -la /.dockerenv"],
                                hostname="filehost", dns=["192.0.2.53"],
                                extra_hosts={"extra.example": "192.0.2.7"}, remove=True).decode()
    assert out.startswith("filehost\n")
    assert "127.0.0.1\tlocalhost" in out
    assert "192.0.2.7\textra.example" in out
    assert "\tfilehost" in out
    assert "nameserver 192.0.2.53" in out
    assert ".dockerenv" in out


def test_auto_remove_and_wait_removed(daemon, client):
    c = client.containers.create("busybox", ["true"], auto_remove=True)
    s, status, _, _, rest = open_stream(daemon.sock, "POST",
                                        f"/containers/{c.id}/wait?condition=removed",
                                        headers={"Connection": "close"})
    c.start()
    body = rest + read_until_closed(s)
    s.close()
    assert b'"StatusCode":0' in body.replace(b" ", b"")
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c.id)
