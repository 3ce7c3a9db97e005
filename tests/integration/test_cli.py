"""docker-py, our own CLI: Docker's commands, tables and exit codes."""
from __future__ import annotations

import json
import re

import pytest


@pytest.fixture
def cli(daemon):  # type: ignore[no-untyped-def]
    return daemon.docker_py


def test_version_and_info(cli):
    out = cli("version")
    assert out.returncode == 0, out.stderr
    assert b"Server: dockerd-py" in out.stdout and b"API version:      1.44" in out.stdout
    out = cli("info")
    assert out.returncode == 0 and b"Storage Driver: overlay2" in out.stdout
    out = cli("version", "--format", "{{.Server.ApiVersion}}")
    assert out.stdout == b"1.44\n"


def test_host_flag_and_env(daemon):
    out = daemon.docker_py("-H", "unix:///nonexistent.sock", "ps")
    assert out.returncode == 1
    assert b"Cannot connect to the Docker daemon at unix:///nonexistent.sock" in out.stderr
    assert out.stderr.count(b"\n") == 1
    assert daemon.docker_py("-H", daemon.url, "ps").returncode == 0


def test_run_exit_codes(cli):
    assert cli("run", "--rm", "busybox", "echo", "hi").stdout == b"hi\n"
    assert cli("run", "--rm", "busybox", "sh", "-c", "exit 5").returncode == 5
    out = cli("run", "--rm", "busybox", "/no/such")
    assert out.returncode == 127 and out.stderr.count(b"\n") == 1
    assert cli("run", "--rm", "busybox", "/etc").returncode == 126
    out = cli("run", "--no-such-flag", "busybox")
    assert out.returncode == 125
    assert out.stderr.startswith(b"docker-py run: unknown flag: --no-such-flag")
    assert out.stderr.count(b"\n") == 1
    out = cli("run", "--rm", "-m", "1", "busybox", "true")
    assert out.returncode == 125 and b"Minimum memory limit allowed is 6MB" in out.stderr
    out = cli("run", "--rm", "-i", "busybox", "cat", input=b"piped\n")
    assert out.stdout == b"piped\n"


def test_create_start_stop_kill_rm_logs_inspect(cli):
    out = cli("create", "--name", "clic", "-e", "K=V", "busybox", "sh", "-c",
              "echo out; echo err >&2; trap 'exit 0' TERM; while true; do sleep 0.1; done")
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip().decode()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    try:
        assert cli("start", "clic").stdout == b"clic\n"
        ps = cli("ps").stdout.decode().splitlines()
        assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                 "PORTS", "NAMES"]
        row = next(line for line in ps if line.endswith("clic"))
        assert row.startswith(cid[:12]) and "Up " in row
        assert cli("ps", "-q").stdout.decode().split() [0] == cid[:12]
        assert cli("ps", "--no-trunc", "-q").stdout.decode().split()[0] == cid
        assert cli("ps", "--format", "{{.Names}}:{{.State}}").stdout == b"clic:running\n"
        logs = cli("logs", "clic")
        assert logs.stdout == b"out\n" and logs.stderr == b"err\n"
        env = json.loads(cli("inspect", "clic").stdout)[0]["Config"]["Env"]
        assert "K=V" in env
        assert cli("inspect", "-f", "{{.State.Running}}", "clic").stdout == b"true\n"
        out = cli("rm", "clic")
        assert out.returncode == 1 and b"container is running" in out.stderr
        assert cli("stop", "-t", "5", "clic").stdout == b"clic\n"
        assert cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "clic").stdout == \
            b"exited 0\n"
        assert cli("start", "clic").returncode == 0
        assert cli("kill", "clic").stdout == b"clic\n"
        assert cli("inspect", "-f", "{{.State.ExitCode}}", "clic").stdout == b"137\n"
        assert cli("rm", "clic").stdout == b"clic\n"
        assert b"clic" not in cli("ps", "-a").stdout
    finally:
        cli("rm", "-f", cid)
    out = cli("rm", "clic")
    assert out.returncode == 1
    assert out.stderr == b"Error response from daemon: No such container: clic\n"
    out = cli("inspect", "clic")
    assert out.returncode == 1 and b"No such object: clic" in out.stderr


def test_images_import_rmi(cli, rootfs_tar):
    out = cli("import", "-c", 'CMD ["echo", "imported"]', "-m", "by test", str(rootfs_tar),
              "clitest/img:v1")
    assert out.returncode == 0, out.stderr
    image_id = out.stdout.strip().decode()
    assert image_id.startswith("sha256:")
    table = cli("images").stdout.decode().splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(line for line in table if line.startswith("clitest/img"))
    assert row.split()[1] == "v1" and row.split()[2] == image_id[7:19]
    assert cli("run", "--rm", "clitest/img:v1").stdout == b"imported\n"
    assert image_id[7:19] in cli("images", "-q").stdout.decode().split()
    assert cli("tag", "clitest/img:v1", "clitest/img:v2").returncode == 0
    out = cli("rmi", "clitest/img:v2")
    assert out.stdout == b"Untagged: clitest/img:v2\n"
    out = cli("rmi", "clitest/img:v1")
    assert out.stdout.decode().splitlines()[0] == "Untagged: clitest/img:v1"
    assert f"Deleted: {image_id}" in out.stdout.decode()
    out = cli("rmi", "clitest/img:v1")
    assert out.returncode == 1
    assert out.stderr == b"Error response from daemon: No such image: clitest/img:v1\n"
    out = cli("import", "/no/such/file.tar")
    assert out.returncode == 1 and out.stderr.count(b"\n") == 1
