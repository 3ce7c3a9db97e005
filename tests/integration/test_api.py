"""The API server: ping, version, info, versioned paths, errors, swarm routes."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from .rawhttp import request


def test_ping_carries_dockers_headers(daemon):
    for method in ("GET", "HEAD"):
        r = request(daemon.sock, method, "/_ping")
        assert r.status == 200
        assert r.headers["api-version"] == "1.44"
        assert r.headers["ostype"] == "linux"
        assert r.headers["docker-experimental"] == "false"
        assert r.headers["builder-version"] == "1"
        if method == "GET":
            assert r.body == b"OK"


def test_version_reports_api_range(daemon):
    doc = request(daemon.sock, "GET", "/v1.44/version").json()
    assert doc["ApiVersion"] == "1.44"
    assert doc["MinAPIVersion"] == "1.24"
    assert doc["Os"] == "linux"
    assert tuple(int(p) for p in doc["Version"].split(".")) >= (25, 0, 0)
    assert doc["KernelVersion"] == os.uname().release


def test_info_has_real_figures(daemon, client):
    c = client.containers.create("busybox", ["true"])
    try:
        info = request(daemon.sock, "GET", "/info").json()
        assert info["Containers"] >= 1
        assert info["ContainersStopped"] >= 1
        assert info["Images"] >= 1
        assert info["Driver"] == "overlay2"
        assert info["DockerRootDir"] == str(daemon.data_root)
        assert info["NCPU"] == os.cpu_count()
        assert info["MemTotal"] > 0
        assert info["KernelVersion"] == os.uname().release
        assert info["CgroupDriver"] == "cgroupfs"
        assert info["CgroupVersion"] in ("1", "2")
        assert "runc" in info["Runtimes"] and "crun" in info["Runtimes"]
        assert info["DefaultRuntime"] == "runc"
        # the runtime's `commit:` line, as dockerd reports it (moby's TestInfoBinaryCommits)
        commit = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["runc", "--version"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("commit:"))
        assert info["RuncCommit"] == {"ID": commit, "Expected": commit}
        assert info["Swarm"]["LocalNodeState"] == "inactive"
        assert info["LiveRestoreEnabled"] is True
        # The runtimes on this host miss known fixes: /info says so.
        assert any("runc" in w for w in info["Warnings"] or [])
    finally:
        c.remove()


def test_versioned_and_unversioned_paths(daemon):
    for path in ("/containers/json", "/v1.24/containers/json", "/v1.44/containers/json"):
        assert request(daemon.sock, "GET", path).status == 200


def test_api_version_out_of_range(daemon):
    r = request(daemon.sock, "GET", "/v1.45/version")
    assert r.status == 400
    assert r.json()["message"] == ("client version 1.45 is too new. Maximum supported API "
                                   "version is 1.44")
    r = request(daemon.sock, "GET", "/v1.23/version")
    assert r.status == 400
    assert r.json()["message"] == ("client version 1.23 is too old. Minimum supported API "
                                   "version is 1.24, please upgrade your client to a newer "
                                   "version")


def test_unknown_route_is_404_json(daemon):
    for method, path in (("GET", "/nope"), ("GET", "/v1.44/nope/deeper"),
                         ("PUT", "/containers/json")):
        r = request(daemon.sock, method, path)
        assert r.status == 404
        assert r.json() == {"message": "page not found"}


def test_swarm_routes_answer_like_a_standalone_dockerd(daemon):
    for path in ("/services", "/nodes", "/secrets", "/configs", "/tasks"):
        r = request(daemon.sock, "GET", "/v1.44" + path)
        assert r.status == 503
        assert r.json()["message"].startswith("This node is not a swarm manager.")
    r = request(daemon.sock, "GET", "/swarm")
    assert r.status == 503
    assert r.json()["message"] == "This node is not part of a swarm"
    r = request(daemon.sock, "GET", "/plugins")
    assert r.status == 200 and r.json() == []


def test_docker_cli_version_and_info(docker_cli):
    out = docker_cli("version")
    assert out.returncode == 0, out.stderr
    assert b"Server" in out.stdout and b"1.44" in out.stdout
    out = docker_cli("info")
    assert out.returncode == 0, out.stderr
    assert b"Containers" in out.stdout and b"overlay2" in out.stdout


def test_errors_are_json_with_message(daemon):
    r = request(daemon.sock, "GET", "/containers/doesnotexist/json")
    assert r.status == 404
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.body) == {"message": "No such container: doesnotexist"}


def _open_session(sock_path: str, session_id: str) -> tuple[socket.socket, bytes]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(f"POST /v1.44/session HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\n"
              f"Upgrade: h2c\r\nX-Docker-Expose-Session-Uuid: {session_id}\r\n"
              "Content-Length: 0\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    return s, head


def test_session_takes_dockerds_handshake(daemon):
    """POST /session: BuildKit's checks and words, the h2c upgrade (moby's
    TestSessionCreate, TestSessionCreateWithBadUpgrade), one session per ID
    while it is open."""
    r = request(daemon.sock, "POST", "/session")
    assert (r.status, r.json()["message"]) == (400, "no upgrade proto in request")
    r = request(daemon.sock, "POST", "/session", headers={"Upgrade": "foo"})
    assert (r.status, r.json()["message"]) == (400, "protocol foo not supported")
    conn, head = _open_session(daemon.sock, "sess-test")
    try:
        status, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        assert status == "HTTP/1.1 101 Switching Protocols"
        assert "Upgrade: h2c" in lines and "Connection: Upgrade" in lines
        r = request(daemon.sock, "POST", "/session",
                    headers={"Upgrade": "h2c", "X-Docker-Expose-Session-Uuid": "sess-test"})
        assert (r.status, r.json()["message"]) == (400, "session sess-test already exists")
        conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # read and dropped
    finally:
        conn.close()
    deadline = time.monotonic() + 5
    while True:  # the closed session's ID is free again
        again, head = _open_session(daemon.sock, "sess-test")
        again.close()
        if head.startswith(b"HTTP/1.1 101") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert head.startswith(b"HTTP/1.1 101")
