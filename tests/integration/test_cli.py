"""docker-py, our own CLI: Docker's commands, tables and exit codes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pexpect
import pytest

from .daemonctl import DOCKER_CLI


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
    assert out.stderr == b"unknown flag: --no-such-flag\n"
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


def test_container_commands(cli, tmp_path):
    out = cli("run", "-d", "--name", "clicmd", "-l", "suite=cli", "busybox", "sh", "-c",
              "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done")
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip().decode()
    try:
        out = cli("exec", "-e", "X=1", "-w", "/tmp", "clicmd", "sh", "-c", "echo $X $PWD; exit 3")
        assert out.returncode == 3 and out.stdout == b"1 /tmp\n"
        assert cli("exec", "clicmd", "/no/such").returncode == 126  # docker exec: 126
        assert cli("exec", "-i", "clicmd", "wc", "-c", input=b"1234").stdout.strip() == b"4"
        (tmp_path / "in.txt").write_text("copied\n")
        assert cli("cp", str(tmp_path / "in.txt"), "clicmd:/tmp/").returncode == 0
        assert cli("cp", "clicmd:/tmp/in.txt", str(tmp_path / "out.txt")).returncode == 0
        assert (tmp_path / "out.txt").read_text() == "copied\n"
        out = cli("cp", "clicmd:/nope", str(tmp_path))
        assert out.returncode == 1 and b"Could not find the file /nope" in out.stderr
        top = cli("top", "clicmd").stdout.decode().splitlines()
        assert top[0].split()[:3] == ["UID", "PID", "PPID"] and "while true" in top[1]
        stats = cli("stats", "--no-stream", "clicmd").stdout.decode().splitlines()
        assert stats[0].split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
        assert stats[1].split()[1] == "clicmd"
        assert cli("rename", "clicmd", "clicmd2").returncode == 0
        assert cli("update", "--memory", "64m", "--memory-swap", "128m", "clicmd2").returncode == 0
        assert cli("inspect", "-f", "{{.HostConfig.Memory}}", "clicmd2").stdout == b"67108864\n"
        out = cli("update", "--memory", "1", "clicmd2")
        assert out.returncode == 1 and out.stderr.count(b"\n") == 1
        assert cli("pause", "clicmd2").stdout == b"clicmd2\n"
        assert b"(Paused)" in cli("ps", "--filter", "name=clicmd2").stdout
        assert cli("unpause", "clicmd2").returncode == 0
        assert cli("restart", "-t", "1", "clicmd2").returncode == 0
        assert cli("ps", "-q", "--filter", "label=suite=cli", "--filter", "status=running"
                   ).stdout.decode().split() == [cid[:12]]
        sized = cli("ps", "-s", "--filter", "id=" + cid).stdout.decode().splitlines()
        assert sized[0].split()[-1] == "SIZE" and "virtual" in sized[1]
        assert cli("logs", "--tail", "1", "clicmd2").stdout == b"tick\n"
        assert cli("stop", "-t", "1", "clicmd2").returncode == 0
        assert cli("wait", "clicmd2").stdout == b"0\n"
        assert cli("container", "ls", "-a", "-q", "--filter", "name=clicmd2").stdout.strip() \
            == cid[:12].encode()
        pruned = cli("container", "prune", "-f", "--filter", "label=suite=cli")
        assert cid in pruned.stdout.decode() and b"Total reclaimed space" in pruned.stdout
        assert cli("ps", "-aq", "--filter", "id=" + cid).stdout == b""
    finally:
        cli("rm", "-f", cid)
    out = cli("kill", "-s", "NOPE", "nosuch")
    assert out.returncode == 1 and out.stderr.count(b"\n") == 1


def test_run_it_on_a_pty(daemon):
    child = pexpect.spawn(sys.executable, ["-m", "docker_cli", "run", "-it", "--rm", "busybox",
                                           "sh"], env=daemon.env(), timeout=15,
                          dimensions=(25, 90))
    child.expect(r"# ")
    child.sendline("stty size; echo $((6*7))")
    child.expect("25 90")
    child.expect("42")
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def _spawn(daemon, *args: str) -> pexpect.spawn:  # type: ignore[no-untyped-def]
    return pexpect.spawn(sys.executable, ["-m", "docker_cli", *args], env=daemon.env(),
                         timeout=15, dimensions=(25, 90))


def _sizes_follow(child: pexpect.spawn) -> None:
    """The shell inside sees the window's size, and each new one (SIGWINCH)."""
    child.expect(r"# ")
    child.sendline("stty size")
    child.expect("25 90")
    for rows, cols in ((40, 120), (12, 33)):
        child.setwinsize(rows, cols)
        deadline = time.monotonic() + 5
        while True:  # the resize is asynchronous: ask until it shows (or time is up)
            child.sendline("stty size")
            index = child.expect([f"{rows} {cols}", r"\d+ \d+"])
            if index == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert index == 0


def test_the_terminal_size_follows_the_window(daemon):
    """run -it, exec -it, attach and start -ai resize the container's terminal at
    every SIGWINCH, as the docker CLI's monitorTtySize."""
    child = _spawn(daemon, "run", "-it", "--name", "winch", "busybox", "sh")
    try:
        _sizes_follow(child)
        child.sendline("exit 0")
        child.expect(pexpect.EOF)
        for args in (("start", "-ai", "winch"),
                     ("exec", "-it", "winch", "sh")):
            child = _spawn(daemon, *args)
            _sizes_follow(child)
            if args[0] == "exec":
                child.sendline("exit")
                child.expect(pexpect.EOF)
        child = _spawn(daemon, "attach", "winch")
        child.sendline("")
        _sizes_follow(child)
        child.sendline("exit 0")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
        daemon.docker_py("rm", "-f", "winch")


def test_attach_detached_by_the_escape_keys_says_so_as_docker(daemon):
    """docker attach left with ctrl-p ctrl-q: `read escape sequence`, exit 1, the
    container still running; the same through both CLIs."""
    from .daemonctl import DOCKER_CLI
    assert daemon.docker_py("run", "-dit", "--name", "esc", "busybox", "sh").returncode == 0
    try:
        for program, args in ((DOCKER_CLI, ["attach", "esc"]),
                              (sys.executable, ["-m", "docker_cli", "attach", "esc"])):
            child = pexpect.spawn(program, args, env=daemon.env(), timeout=15)
            try:
                child.sendline("echo attached-$((40+2))")
                child.expect("attached-42")
                child.send("\x10\x11")
                child.expect("read escape sequence")
                child.expect(pexpect.EOF)
                child.close()
                assert child.exitstatus == 1, program
                assert daemon.api().inspect_container("esc")["State"]["Running"]
            finally:
                child.close(force=True)
    finally:
        daemon.docker_py("rm", "-f", "esc")


def test_a_failed_build_step_is_the_exit_code_as_docker(daemon, tmp_path):
    """docker build (classic builder) exits with the failed step's code; -q with 1."""
    from .daemonctl import DOCKER_CLI
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    env = {**daemon.env(), "DOCKER_BUILDKIT": "0"}
    for quiet, code in (([], 3), (["-q"], 1)):
        theirs = subprocess.run([DOCKER_CLI, "build", *quiet, str(tmp_path)], env=env,
                                capture_output=True)
        ours = daemon.docker_py("build", *quiet, str(tmp_path))
        assert (theirs.returncode, ours.returncode) == (code, code), (theirs.stderr, ours.stderr)
        assert ours.stderr.decode().strip().splitlines()[-1].endswith(
            "The command '/bin/sh -c exit 3' returned a non-zero code: 3")


def test_run_d_prints_the_id_even_when_the_start_fails(daemon):
    """docker run -d writes the new container's ID before it starts it: a taken
    host port still shows the ID, then the daemon's error, exit 125."""
    holder = daemon.docker_py("run", "-d", "-p", "127.0.0.1:18999:80", "busybox", "top")
    assert holder.returncode == 0
    try:
        out = daemon.docker_py("run", "-d", "-p", "127.0.0.1:18999:80", "busybox", "top")
        cid = out.stdout.decode().strip()
        assert out.returncode == 125 and len(cid) == 64
        assert "port is already allocated" in out.stderr.decode()
        assert daemon.api().inspect_container(cid)["State"]["Status"] == "created"
        daemon.docker_py("rm", cid)
    finally:
        daemon.docker_py("rm", "-f", holder.stdout.decode().strip())


def test_cp_on_a_terminal_says_what_it_copied_as_docker(daemon, tmp_path):
    """On a terminal, docker cp ends with `Successfully copied <size> to <dest>`
    (the archive's size: the same archive as the docker CLI's), -q says nothing."""
    from .daemonctl import DOCKER_CLI
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "f").write_text("hi\n")
    assert daemon.docker_py("run", "-d", "--name", "cpt", "busybox", "top").returncode == 0
    try:
        for args in (["cp", "cpt:/etc/hostname", str(tmp_path / "out")],
                     ["cp", str(tmp_path / "dir"), "cpt:/tmp/"],
                     ["cp", f"{tmp_path / 'dir'}/.", "cpt:/tmp/d2"],
                     ["cp", "-q", "cpt:/etc/hostname", str(tmp_path / "out")]):
            said = []
            for program, argv in ((DOCKER_CLI, args),
                                  (sys.executable, ["-m", "docker_cli", *args])):
                (tmp_path / "out").unlink(missing_ok=True)
                child = pexpect.spawn(program, argv, env=daemon.env(), timeout=15)
                child.expect(pexpect.EOF)
                child.close()
                assert child.exitstatus == 0, (program, child.before)
                said.append(child.before.decode().strip())
            assert said[0] == said[1], (args, said)
            assert said[1] == ("" if "-q" in args else f"Successfully copied {said[1].split()[2]} "
                               f"to {args[-1]}")
    finally:
        daemon.docker_py("rm", "-f", "cpt")


def test_build_refuses_a_bad_tag_before_sending_as_docker(daemon, tmp_path):
    from .daemonctl import DOCKER_CLI
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    words = ('invalid argument "Bad:Tag" for "-t, --tag" flag: invalid reference format: '
             "repository name (library/Bad) must be lowercase")
    theirs = subprocess.run([DOCKER_CLI, "build", "-t", "Bad:Tag", str(tmp_path)],
                            env={**daemon.env(), "DOCKER_BUILDKIT": "0"}, capture_output=True)
    ours = daemon.docker_py("build", "-t", "Bad:Tag", str(tmp_path))
    assert (theirs.returncode, ours.returncode) == (125, 125)
    assert words in theirs.stderr.decode() and ours.stderr.decode().strip() == words


def test_run_mount_device_group_and_health_flags(cli, tmp_path):
    (tmp_path / "f").write_text("bound\n")
    out = cli("run", "--rm", "--mount", f"type=bind,source={tmp_path},target=/m,readonly",
              "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "--device", "/dev/null:/dev/n2",
              "--group-add", "777", "busybox", "sh", "-c",
              "cat /m/f; touch /m/x 2>/dev/null || echo ro; df -k /t | tail -1; ls /dev/n2; id -G")
    lines = out.stdout.decode().splitlines()
    assert lines[0] == "bound" and lines[1] == "ro" and lines[2].split()[1] == "1024"
    assert lines[3] == "/dev/n2" and "777" in lines[4].split()
    out = cli("run", "-d", "--health-cmd", "true", "--health-interval", "200ms", "busybox",
              "sleep", "30")
    cid = out.stdout.strip().decode()
    try:
        deadline = time.time() + 10
        while b"(healthy)" not in cli("ps", "--filter", f"id={cid}").stdout:
            assert time.time() < deadline
            time.sleep(0.2)
    finally:
        cli("rm", "-f", cid)
    for args in (["--mount", "bogus"], ["--health-interval", "5x"],
                 ["--no-healthcheck", "--health-cmd", "true"]):
        out = cli("run", "--rm", *args, "busybox", "true")
        assert out.returncode == 125 and out.stderr.count(b"\n") == 1, (args, out.stderr)


def test_network_commands_match_docker(daemon, docker_cli):
    """docker-py network ... prints what the docker command prints, same state."""
    cli = daemon.docker_py
    out = cli("network", "create", "--subnet", "10.236.0.0/24", "--gateway", "10.236.0.254",
              "--ip-range", "10.236.0.128/25", "--label", "k=v", "clinet")
    assert out.returncode == 0, out.stderr
    net_id = out.stdout.decode().strip()
    try:
        for args in (["network", "ls"], ["network", "ls", "-q", "--filter", "name=clinet"],
                     ["network", "ls", "--format", "{{.Name}} {{.Driver}}"],
                     ["network", "inspect", "-f", "{{json .IPAM.Config}} {{.Labels}}", "clinet"]):
            ours, theirs = cli(*args), docker_cli(*args)
            assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
        assert cli("run", "-d", "--name", "clirun", "--net", "clinet", "--network-alias", "al",
                   "--ip", "10.236.0.200", "-p", "127.0.0.1::80", "busybox", "sleep",
                   "60").returncode == 0
        inspect = json.loads(cli("inspect", "clirun").stdout)[0]
        endpoint = inspect["NetworkSettings"]["Networks"]["clinet"]
        assert endpoint["IPAddress"] == "10.236.0.200"
        assert endpoint["Aliases"] == ["al", inspect["Id"][:12]]  # API < 1.45 adds the ID
        ours, theirs = cli("port", "clirun"), docker_cli("port", "clirun")
        assert ours.stdout == theirs.stdout and b"80/tcp -> 127.0.0.1:" in ours.stdout
        out = cli("network", "rm", "clinet")
        assert out.returncode == 1 and b"has active endpoints" in out.stderr
        assert cli("rm", "-f", "clirun").returncode == 0
        for bad in (["-p", "80:80:80:80"], ["-p", "abc"], ["-p", "80/xyz"]):
            out = cli("run", "--rm", *bad, "busybox", "true")
            assert out.returncode == 125 and out.stderr.count(b"\n") == 1, (bad, out.stderr)
    finally:
        cli("rm", "-f", "clirun")
        cli("network", "rm", "clinet")
    assert cli("network", "inspect", net_id).returncode == 1
    out = cli("network", "prune", "-f")
    assert out.returncode == 0


def test_cli_regressions_against_docker(daemon, docker_cli):
    """--version, `top CONTAINER ps-options`, and `run -it` without a terminal."""
    cli = daemon.docker_py
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith(b"docker-py version ")
    c = cli("run", "-d", "--name", "topme", "busybox", "sleep", "60")
    assert c.returncode == 0
    try:
        ours, theirs = cli("top", "topme", "-o", "pid,comm"), docker_cli("top", "topme", "-o",
                                                                          "pid,comm")
        assert ours.returncode == theirs.returncode == 0, ours.stderr
        assert ours.stdout.split(b"\n")[0].split() == [b"PID", b"COMMAND"]
        assert b"sleep" in ours.stdout
    finally:
        cli("rm", "-f", "topme")
    ours = cli("run", "--rm", "-it", "busybox", "true")
    theirs = docker_cli("run", "--rm", "-it", "busybox", "true")
    assert ours.returncode == theirs.returncode == 1
    assert b"the input device is not a TTY" in ours.stderr
    assert b"the input device is not a TTY" in theirs.stderr


def test_format_escapes_json_and_unknown_fields(daemon, docker_cli):
    cli = daemon.docker_py
    assert cli("run", "-d", "--name", "fmtme", "busybox", "sleep", "60").returncode == 0
    try:
        args = ["ps", "--filter", "name=fmtme", "--format", r"{{.Names}}\t{{.Image}}"]
        ours, theirs = cli(*args), docker_cli(*args)
        assert ours.stdout == theirs.stdout == b"fmtme\tbusybox\n"
        out = cli("ps", "--filter", "name=fmtme", "--format", "json")
        doc = json.loads(out.stdout.splitlines()[0])
        assert doc["Names"] == "fmtme" and doc["Image"] == "busybox"
        ours = cli("ps", "--format", "{{.Nope}}")
        theirs = docker_cli("ps", "--format", "{{.Nope}}")
        assert ours.returncode == theirs.returncode != 0
        assert b"can't evaluate field Nope" in ours.stderr
        assert b"can't evaluate field Nope" in theirs.stderr
    finally:
        cli("rm", "-f", "fmtme")


def test_system_df_and_prune(fresh_daemon):
    """On a daemon of its own: a prune must not take other tests' objects."""
    if not os.path.exists(DOCKER_CLI):
        pytest.skip(f"the Docker CLI ({DOCKER_CLI}) is not installed")
    cli, docker_cli = fresh_daemon.docker_py, fresh_daemon.docker
    ours, theirs = cli("system", "df"), docker_cli("system", "df")
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    first = [line.split()[:1] for line in ours.stdout.decode().splitlines()]
    assert first == [line.split()[:1] for line in theirs.stdout.decode().splitlines()]
    totals = [line.split()[1:3] for line in ours.stdout.decode().splitlines()[1:]]
    assert totals == [line.split()[1:3] for line in theirs.stdout.decode().splitlines()[1:]]
    assert cli("create", "--name", "prunable", "busybox", "true").returncode == 0
    out = cli("system", "prune", "-f")
    assert out.returncode == 0 and b"Deleted Containers:" in out.stdout
    assert b"Total reclaimed space:" in out.stdout
    assert cli("inspect", "prunable").returncode == 1
    assert cli("system", "info").returncode == 0


def test_shell_completion_of_object_names(daemon, cli):
    import os
    import subprocess
    import sys
    assert cli("run", "--name", "complete-me", "busybox", "true").returncode == 0
    try:
        def complete(words: str, cword: int) -> list[str]:
            env = dict(daemon.env(), COMP_WORDS=words, COMP_CWORD=str(cword),
                       _DOCKER_PY_COMPLETE="bash_complete")
            out = subprocess.run([sys.executable, "-m", "docker_cli"], env=env,
                                 capture_output=True, text=True, timeout=30).stdout
            return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]
        assert complete("docker-py rm complete", 2) == ["complete-me"]
        assert complete("docker-py container logs complete", 3) == ["complete-me"]
        assert "busybox:latest" in complete("docker-py rmi busy", 2)
        assert "bridge" in complete("docker-py network inspect br", 3)
        assert os.environ.get("_DOCKER_PY_COMPLETE") is None
    finally:
        cli("rm", "complete-me")


def test_run_it_detaches_with_the_keys_and_returns_at_once(daemon, tmp_path):
    """Ctrl-P Ctrl-Q (or --detach-keys, or config.json's detachKeys) gives the
    terminal back at once with exit 0; the container goes on running."""
    import json as _json
    import time
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "config.json").write_text(_json.dumps({"detachKeys": "ctrl-x,x"}))
    cases = ((["--detach-keys", "ctrl-a,b"], {}, "\x01b"),
             ([], {"DOCKER_CONFIG": str(tmp_path)}, "\x18x"), ([], {}, "\x10\x11"))
    for n, (flags, extra, keys) in enumerate(cases):
        name = f"detach-{n}"
        child = pexpect.spawn(sys.executable, ["-m", "docker_cli", "run", "-it", "--name", name,
                                               *flags, "busybox", "sh"],
                              env={**daemon.env(), **extra}, timeout=15)
        try:
            child.expect("#")
            child.sendline("echo attached")
            child.expect("attached")
            started = time.monotonic()
            child.send(keys)
            child.expect(pexpect.EOF, timeout=10)
            child.close()
            assert child.exitstatus == 0 and time.monotonic() - started < 5
            assert daemon.api().inspect_container(name)["State"]["Running"]
        finally:
            child.close(force=True)
            daemon.docker_py("rm", "-f", name)
