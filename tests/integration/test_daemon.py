"""The daemon process: restarts, crashes, a second instance, side-by-side
instances, systemd's notify and socket-activation protocols, configuration."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import docker
import docker.tls
import pytest

from .conftest import busybox_daemon, import_busybox, new_daemon
from .rawhttp import request


def wait_for(predicate, timeout: float = 10):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_restart_keeps_images_and_containers(fresh_daemon):
    client = fresh_daemon.client()
    client.images.get("busybox").tag("kept", "v1")
    created = client.containers.create("busybox", ["true"], name="kept-created")
    ran = client.containers.run("busybox", ["sh", "-c", "exit 6"], detach=True, name="kept-exited")
    ran.wait(timeout=10)
    fresh_daemon.restart()
    client = fresh_daemon.client()
    assert "kept:v1" in [t for i in client.images.list() for t in i.tags]
    assert client.containers.get("kept-created").status == "created"
    exited = client.containers.get("kept-exited")
    assert exited.status == "exited" and exited.attrs["State"]["ExitCode"] == 6
    assert exited.logs() == b""
    created.start()  # still usable after the restart
    assert client.containers.get("kept-created").wait(timeout=10)["StatusCode"] == 0


def test_kill_9_keeps_running_containers(fresh_daemon):
    client = fresh_daemon.client()
    runner = client.containers.run("busybox", ["sh", "-c", "i=0; while true; do echo tick$i; "
                                               "i=$((i+1)); sleep 0.2; done"],
                                   detach=True, name="survivor")
    quitter = client.containers.run("busybox", ["sh", "-c", "sleep 1; exit 9"], detach=True,
                                    name="quitter")
    runner.reload()
    pid = runner.attrs["State"]["Pid"]
    fresh_daemon.stop(signal.SIGKILL)
    time.sleep(1.5)  # the quitter exits while no daemon watches
    assert os.path.exists(f"/proc/{pid}")
    fresh_daemon.start()
    client = fresh_daemon.client()
    runner = client.containers.get("survivor")
    assert runner.status == "running" and runner.attrs["State"]["Pid"] == pid
    quitter = client.containers.get("quitter")
    assert quitter.status == "exited" and quitter.attrs["State"]["ExitCode"] == 9
    before = runner.logs().count(b"tick")
    assert wait_for(lambda: runner.logs().count(b"tick") > before, 5)
    # attach to the adopted container still works
    sock = client.api.attach_socket(runner.id, params={"stdout": 1, "stream": 1})
    sock._sock.settimeout(5)
    assert b"tick" in sock._sock.recv(4096)
    sock.close()
    assert runner.exec_run(["echo", "exec-ok"]) == (0, b"exec-ok\n")
    assert client.containers.list(filters={"name": "survivor"})[0].id == runner.id
    runner.stop(timeout=1)
    runner.reload()
    assert runner.status == "exited"
    assert not os.path.exists(f"/proc/{pid}")


def test_sigterm_with_live_restore_off_stops_containers(workdir, rootfs_tar):
    with busybox_daemon(workdir, rootfs_tar, "nolive", extra_args=["--live-restore=false"]) as d:
        c = d.client().containers.run("busybox", ["sh", "-c", "trap 'exit 0' TERM; "
                                                  "while true; do sleep 0.1; done"], detach=True)
        c.reload()
        pid = c.attrs["State"]["Pid"]
        assert d.stop() == 0
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 15)
        d.start()
        assert d.client().containers.get(c.id).status == "exited"


LOOP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


@pytest.mark.parametrize("live_restore", [True, False], ids=["live-restore", "no-live-restore"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "stop"])
def test_restart_matrix(workdir, rootfs_tar, live_restore, how):
    """moby's TestDaemonRestartKillContainers: {none, always, exited 3, created} across a
    daemon crash or stop, with live restore on and off."""
    live = f"--live-restore={str(live_restore).lower()}"
    with busybox_daemon(workdir, rootfs_tar, "matrix", extra_args=[live]) as d:
        client = d.client()
        plain = client.containers.run("busybox", LOOP, detach=True)
        always = client.containers.run("busybox", LOOP, detach=True,
                                       restart_policy={"Name": "always"})
        exited = client.containers.run("busybox", ["sh", "-c", "exit 3"], detach=True)
        exited.wait(timeout=10)
        created = client.containers.create("busybox", ["true"])
        pid = {c.id: client.containers.get(c.id).attrs["State"]["Pid"] for c in (plain, always)}
        d.stop(how)
        if not live_restore and how == signal.SIGTERM:  # a clean stop stops them
            assert not any(os.path.exists(f"/proc/{p}") for p in pid.values())
        d.start()
        client = d.client()
        state = lambda c: client.containers.get(c.id).attrs["State"]  # noqa: E731
        if live_restore:
            assert state(plain)["Status"] == "running" and state(plain)["Pid"] == pid[plain.id]
        else:  # moby's TestContainerKillOnDaemonStart: a survivor is stopped
            assert wait_for(lambda: state(plain)["Status"] == "exited", 20)
            assert not os.path.exists(f"/proc/{pid[plain.id]}")
        assert wait_for(lambda: state(always)["Status"] == "running", 20)
        assert (state(always)["Pid"] == pid[always.id]) == live_restore
        assert state(exited)["Status"] == "exited" and state(exited)["ExitCode"] == 3
        assert state(created)["Status"] == "created"
        for c in (plain, always, exited, created):
            client.containers.get(c.id).remove(force=True)
        with open("/proc/self/mountinfo") as f:
            mounts = f.read()
        assert str(d.data_root) not in mounts  # moby's TestCleanupMountsAfterDaemonCrash


def test_a_store_from_a_newer_release_stops_the_start_and_is_kept(fresh_daemon):
    """The metadata database says a newer release wrote it: the start fails with
    the versions named, one line, and the store is left for that release."""
    d = fresh_daemon
    cid = d.api().create_container("busybox", ["true"], name="kept")["Id"]
    d.stop()
    db = d.data_root / "metadata.db"
    conn = sqlite3.connect(db)
    ours = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    out = subprocess.run(d.args(), capture_output=True, timeout=60)
    assert out.returncode == 1
    assert (f"failed to start daemon: the metadata database {db} has schema version 99, "
            f"written by a newer dockerd-py; this one knows versions up to {ours}").encode() \
        in out.stderr
    assert b"Traceback" not in out.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99  # left as it was
    conn.execute(f"PRAGMA user_version = {ours}")  # as going back to that release would
    conn.commit()
    conn.close()
    d.start()
    assert d.api().inspect_container("kept")["Id"] == cid


def test_second_daemon_on_same_data_root_refuses(fresh_daemon):
    other = subprocess.run(
        [sys.executable, "-m", "dockerd_py", "-H", f"unix://{fresh_daemon.root}/second.sock",
         "--data-root", str(fresh_daemon.data_root), "--exec-root",
         str(fresh_daemon.root / "run2"), "--bridge", fresh_daemon.prefix + "x0",
         "--instance-prefix", fresh_daemon.prefix], capture_output=True, timeout=60)
    assert other.returncode == 1
    assert b"is in use by another dockerd-py" in other.stderr
    assert b"Traceback" not in other.stderr
    assert request(fresh_daemon.sock, "GET", "/_ping").status == 200
    pidfile = fresh_daemon.exec_root / "dockerd-py.pid"
    assert pidfile.exists()
    same_roots = subprocess.run(
        [sys.executable, "-m", "dockerd_py", "-H", f"unix://{fresh_daemon.root}/second.sock",
         "--data-root", str(fresh_daemon.data_root), "--exec-root", str(fresh_daemon.exec_root),
         "--bridge", fresh_daemon.prefix + "x0", "--instance-prefix", fresh_daemon.prefix],
        capture_output=True, timeout=60)
    assert same_roots.returncode == 1
    assert pidfile.read_text().strip() == str(fresh_daemon.proc.pid)  # the first one's, kept


def _second_daemon(first) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """A daemon on the first one's data root, exec root and pidfile."""
    return subprocess.run(
        [sys.executable, "-m", "dockerd_py", "-H", f"unix://{first.root}/second.sock",
         "--data-root", str(first.data_root), "--exec-root", str(first.exec_root),
         "--bridge", first.prefix + "x0", "--instance-prefix", first.prefix],
        capture_output=True, timeout=60)


def test_wedged_shutdown_keeps_a_second_daemon_out(workdir):  # type: ignore[no-untyped-def]
    """A daemon whose shutdown hangs (frozen here just before it exits, after
    everything else is done) still holds its data root and pidfile: a second
    daemon is refused for as long as the process lives, and starts once it is gone."""
    first = new_daemon(workdir, "wedged")
    try:
        first.start(env={**os.environ, "DPY_STOP_AT": "shutdown:before-exit"})
        pid = first.proc.pid
        first.proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 30
        while _proc_state(pid) != "T" and time.time() < deadline:
            time.sleep(0.05)
        assert _proc_state(pid) == "T", "the daemon did not reach the end of its shutdown"
        other = _second_daemon(first)
        assert other.returncode == 1
        assert f"is in use by another dockerd-py (pid {pid})".encode() in other.stderr
        assert (first.exec_root / "dockerd-py.pid").read_text().strip() == str(pid)
        os.kill(pid, signal.SIGCONT)
        assert first.proc.wait(30) == 0
        assert not (first.exec_root / "dockerd-py.pid").exists()
        first.start()  # the same roots are free again
        assert request(first.sock, "GET", "/_ping").status == 200
    finally:
        first.cleanup()


def test_live_pidfile_keeps_a_second_daemon_out(fresh_daemon):  # type: ignore[no-untyped-def]
    """dockerd's rule: a pidfile naming a live process is another daemon's."""
    pidfile = fresh_daemon.exec_root / "dockerd-py.pid"
    other = subprocess.run(
        [sys.executable, "-m", "dockerd_py", "-H", f"unix://{fresh_daemon.root}/third.sock",
         "--data-root", str(fresh_daemon.root / "data3"), "--exec-root",
         str(fresh_daemon.root / "run3"), "--pidfile", str(pidfile),
         "--bridge", fresh_daemon.prefix + "x3", "--instance-prefix", fresh_daemon.prefix + "3"],
        capture_output=True, timeout=60)
    assert other.returncode == 1
    assert f"pid file found, ensure docker is not running or delete {pidfile}".encode() \
        in other.stderr
    assert pidfile.read_text().strip() == str(fresh_daemon.proc.pid)


def _proc_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_two_daemons_side_by_side(workdir, rootfs_tar, daemon):
    with busybox_daemon(workdir, rootfs_tar, "side") as other:
        a = daemon.client().containers.run("busybox", ["sleep", "30"], detach=True)
        b = other.client().containers.run("busybox", ["sleep", "30"], detach=True)
        try:
            a.reload()
            b.reload()
            ip_a = a.attrs["NetworkSettings"]["IPAddress"]
            ip_b = b.attrs["NetworkSettings"]["IPAddress"]
            assert ip_a.rsplit(".", 1)[0] == daemon.subnet.rsplit(".", 1)[0]
            assert ip_b.rsplit(".", 1)[0] == other.subnet.rsplit(".", 1)[0]
            assert a.id not in [c.id for c in other.client().containers.list(all=True)]
            links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
            assert daemon.bridge in links and other.bridge in links
        finally:
            a.remove(force=True)
            b.remove(force=True)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert other.bridge not in links
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert other.prefix.upper() not in rules


def test_sigterm_shuts_down_cleanly(workdir):
    d = new_daemon(workdir, "term")
    try:
        d.start()
        pidfile = d.exec_root / "dockerd-py.pid"
        assert pidfile.read_text().strip() == str(d.proc.pid)
        assert d.stop(signal.SIGTERM) == 0
        assert not pidfile.exists()
        assert not os.path.exists(d.sock)  # the socket goes with the daemon
        assert "shutting down" in d.log()
    finally:
        d.cleanup()


def test_sd_notify_ready(workdir):
    d = new_daemon(workdir, "notify")
    path = str(d.root / "notify.sock")
    d.root.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(30)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=path)
        d.start(env=env)
        assert listener.recv(64) == b"READY=1"
        d.stop()
        assert listener.recv(64) == b"STOPPING=1"
    finally:
        listener.close()
        d.cleanup()


def test_socket_activation(workdir):
    """Hand the daemon a listening socket as systemd does: fd 3, LISTEN_FDS, LISTEN_PID."""
    d = new_daemon(workdir, "sockact")
    d.root.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(d.sock)
    listener.listen(16)
    fd = listener.fileno()
    args = d.args()
    args[args.index("-H") + 1] = "fd://"
    shell = (f"exec 3<&{fd}; exec {fd}<&-; LISTEN_FDS=1 LISTEN_PID=$$ "
             "exec " + " ".join(f"'{a}'" for a in args))
    try:
        d.start(args=["bash", "-c", shell], pass_fds=(fd,))
        listener.close()
        assert request(d.sock, "GET", "/_ping").status == 200
        import_busybox(d, Path(workdir) / "busybox-rootfs.tar")
        c = d.client().containers.run("busybox", ["sh", "-c", "ls -l /proc/1/fd"], detach=True)
        c.wait(timeout=10)
        # the activation socket (fd 3 of the daemon) reaches neither conmon nor the container
        assert "socket" not in c.logs().decode()
        c.remove()
    finally:
        listener.close()
        d.cleanup()


def test_config_file_and_flag_conflict(workdir):
    root = Path(workdir) / "conf"
    root.mkdir(exist_ok=True)
    conf = root / "daemon.json"
    conf.write_text(json.dumps({"data-root": str(root / "data"), "bridge": "confbr0"}))
    out = subprocess.run([sys.executable, "-m", "dockerd_py", "--config-file", str(conf),
                          "--bridge", "other0", "--validate"], capture_output=True, timeout=60)
    assert out.returncode == 1
    assert b"the following directives are specified both as a flag and in the configuration " \
           b"file: bridge: (from flag: other0, from file: confbr0)" in out.stderr
    conf.write_text(json.dumps({"no-such-key": 1}))
    out = subprocess.run([sys.executable, "-m", "dockerd_py", "--config-file", str(conf),
                          "--validate"], capture_output=True, timeout=60)
    assert out.returncode == 1
    assert b"don't match any configuration option: no-such-key" in out.stderr
    conf.write_text(json.dumps({"bridge": "confbr0", "live-restore": False}))
    out = subprocess.run([sys.executable, "-m", "dockerd_py", "--config-file", str(conf),
                          "--validate"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_verify():
    units = Path(__file__).resolve().parents[2] / "systemd"
    if not os.path.exists("/usr/local/bin/dockerd-py"):
        pytest.skip("the units name /usr/local/bin/dockerd-py, which is not installed")
    out = subprocess.run(["systemd-analyze", "verify", str(units / "dockerd-py.socket"),
                          str(units / "dockerd-py.service")], capture_output=True, text=True,
                         timeout=60)
    problems = [line for line in out.stderr.splitlines()
                if "dockerd-py" in line and "Unknown" not in line]
    assert out.returncode == 0 or not problems, out.stderr
    service = (units / "dockerd-py.service").read_text()
    assert "Type=notify" in service and "KillMode=process" in service
    assert "ListenStream=/run/dockerd-py.sock" in (units / "dockerd-py.socket").read_text()


def test_sighup_reloads_what_dockerd_reloads(workdir):
    """SIGHUP re-reads daemon.json: labels, live-restore… change, with a log line;
    a broken file changes nothing; the daemon keeps serving."""
    d = new_daemon(workdir, "hup")
    conf = d.root / "daemon.json"
    d.root.mkdir(parents=True, exist_ok=True)
    conf.write_text('{"labels": ["a=1"]}')
    d.extra_args = ["--config-file", str(conf)]
    try:
        d.start()
        assert request(d.sock, "GET", "/info").json()["Labels"] == ["a=1"]
        conf.write_text('{"labels": ["b=2"], "live-restore": false, "mtu": 1400}')
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "reloaded the configuration" not in d.log() and time.time() < deadline:
            time.sleep(0.05)
        info = request(d.sock, "GET", "/info").json()
        assert info["Labels"] == ["b=2"] and info["LiveRestoreEnabled"] is False
        assert "labels, live_restore" in d.log()  # mtu needs a restart: not reloaded
        conf.write_text("{not json")
        d.proc.send_signal(signal.SIGHUP)
        while "keeping the running one" not in d.log() and time.time() < deadline:
            time.sleep(0.05)
        assert request(d.sock, "GET", "/info").json()["Labels"] == ["b=2"]
        assert d.proc.poll() is None
    finally:
        d.cleanup()


def test_kill_9_during_a_load_leaves_nothing_after_restart(fresh_daemon):
    """A load streamed slowly is cut by kill -9 while its spool exists; the next
    start removes the spool, and nothing half-loaded shows in the API."""
    d = fresh_daemon
    before_images = {i["Id"] for i in d.api().images(all=True)}
    layer_dir = d.data_root / "image" / "overlay2" / "layerdb" / "sha256"
    before_layers = set(os.listdir(layer_dir))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(d.sock)
    sock.sendall(b"POST /images/load?quiet=1 HTTP/1.1\r\nHost: d\r\n"
                 b"Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n")
    import io
    import tarfile
    head = io.BytesIO()
    info = tarfile.TarInfo("blobs/sha256/" + "a" * 64)
    info.size = 10 << 20
    head.write(info.tobuf())
    part = head.getvalue() + os.urandom(1 << 20)
    sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    tmp = d.data_root / "tmp"
    deadline = time.time() + 10
    while time.time() < deadline and not (tmp.exists() and any(
            n.startswith("load-") for n in os.listdir(tmp))):
        time.sleep(0.05)
    assert any(n.startswith("load-") for n in os.listdir(tmp)), "the load did not start"
    (tmp / "build-left-by-a-crash").mkdir()
    d.stop(signal.SIGKILL)
    sock.close()
    d.start()
    assert os.listdir(tmp) == []
    assert {i["Id"] for i in d.api().images(all=True)} == before_images
    assert set(os.listdir(layer_dir)) == before_layers


def test_sigterm_does_not_wait_for_an_attached_exec(fresh_daemon):
    """`docker exec -it` attached: SIGTERM ends the daemon at once (the stream is
    closed; with live restore the container keeps running)."""
    pexpect = pytest.importorskip("pexpect")
    from .daemonctl import DOCKER_CLI
    if not os.path.exists(DOCKER_CLI):
        pytest.skip("the Docker CLI is not installed")
    d = fresh_daemon
    api = d.api()
    ctr = api.create_container("busybox", ["sleep", "300"])
    api.start(ctr)
    child = pexpect.spawn(DOCKER_CLI, ["exec", "-it", ctr["Id"], "sh"], env=d.env(), timeout=10)
    try:
        child.expect("#")
        child.sendline("echo attached")
        child.expect("attached")
        started = time.monotonic()
        assert d.stop(signal.SIGTERM, timeout=20) == 0
        assert time.monotonic() - started < 10
        assert not os.path.exists(d.sock)
    finally:
        child.close(force=True)
    d.start()
    assert d.api().inspect_container(ctr["Id"])["State"]["Running"]
    d.api().remove_container(ctr, force=True)


def test_two_daemons_with_default_names_keep_apart(workdir, rootfs_tar):
    """Only sockets and data roots differ: each daemon derives its own prefix
    (chains, cgroups, links) and bridge, and a restart of one leaves the other's
    rules alone."""
    from dockerd_py.config import default_prefix
    daemons = []
    try:
        for name in ("apart-a", "apart-b"):
            d = new_daemon(workdir, name)
            d.prefix = default_prefix(str(d.data_root))
            daemons.append(d)
            d.start(args=[sys.executable, "-m", "dockerd_py", "-H", d.url, "--data-root",
                          str(d.data_root), "--exec-root", str(d.exec_root)])
            import_busybox(d, rootfs_tar)
        a, b = daemons
        assert a.prefix != b.prefix
        ips = []
        for d in daemons:
            api = d.api()
            ctr = api.create_container("busybox", ["sleep", "60"])
            api.start(ctr)
            ips.append(api.inspect_container(ctr)["NetworkSettings"]["IPAddress"])
            assert api.inspect_network("bridge")["Options"].get(
                "com.docker.network.bridge.name", d.prefix + "0") == d.prefix + "0"
        assert all(ips) and ips[0] != ips[1]
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        for d in daemons:
            assert f":{d.prefix.upper()}-FORWARD" in rules
        a.stop()
        a.start(args=[sys.executable, "-m", "dockerd_py", "-H", a.url, "--data-root",
                      str(a.data_root), "--exec-root", str(a.exec_root)])
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert f"-A {b.prefix.upper()}-POSTROUTING" in rules or \
            f"-A {b.prefix.upper()}-FORWARD" in rules     # b's rules survived a's restart
    finally:
        for d in daemons:
            d.cleanup()


def test_a_connection_that_sends_no_request_head_is_closed(workdir):
    """No header timeout would let idle or half-sent connections pile up; the
    deadline is 60 s, shortened here with DPY_HEADER_TIMEOUT."""
    d = new_daemon(workdir, "headers")
    try:
        d.start(env={**os.environ, "DPY_HEADER_TIMEOUT": "1.5"})
        for sent in (b"", b"GET /_ping HTTP/1.1\r\nHost: d\r\n"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(d.sock)
            sock.settimeout(20)
            sock.sendall(sent)
            started = time.monotonic()
            assert sock.recv(100) == b""            # closed, not answered
            assert 1 <= time.monotonic() - started < 10
            sock.close()
        assert request(d.sock, "GET", "/_ping").status == 200
    finally:
        d.cleanup()


def test_tcp_with_tlsverify_needs_a_client_certificate(workdir, tmp_path, monkeypatch):
    """-H tcp:// with --tlsverify: the real Docker CLI and the SDK get in with a
    certificate the CA signed, and nothing gets in without one; a TCP listener
    without TLS is refused unless the operator says --tls=false."""
    trustme = pytest.importorskip("trustme")
    from .daemonctl import DOCKER_CLI
    from .registries import free_port
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests lets these beat our CA
        monkeypatch.delenv(var, raising=False)
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(tmp_path / "server-cert.pem"))
    server.private_key_pem.write_to_path(str(tmp_path / "server-key.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    port = free_port()
    d = new_daemon(workdir, "tls")
    refused = subprocess.run(d.args() + ["-H", f"tcp://127.0.0.1:{port}"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "without TLS" in refused.stderr + refused.stdout
    try:
        d.start(args=d.args() + ["-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
                                 "--tlscacert", str(tmp_path / "ca.pem"),
                                 "--tlscert", str(tmp_path / "server-cert.pem"),
                                 "--tlskey", str(tmp_path / "server-key.pem")])
        tls = docker.tls.TLSConfig(client_cert=(str(tmp_path / "cert.pem"),
                                                str(tmp_path / "key.pem")),
                                   ca_cert=str(tmp_path / "ca.pem"), verify=True)
        remote = docker.APIClient(base_url=f"https://127.0.0.1:{port}", tls=tls)
        assert remote.version()["ApiVersion"] == "1.44"
        with pytest.raises(docker.errors.DockerException):   # no client certificate
            docker.APIClient(base_url=f"https://127.0.0.1:{port}",
                             tls=docker.tls.TLSConfig(ca_cert=str(tmp_path / "ca.pem"),
                                                      verify=True)).version()
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        env["DOCKER_CERT_PATH"] = str(tmp_path)
        ours = subprocess.run([sys.executable, "-m", "docker_cli", "--tlsverify", "-H",
                               f"tcp://127.0.0.1:{port}", "ps"], capture_output=True, text=True,
                              env=env, timeout=30)
        assert ours.returncode == 0 and ours.stdout.startswith("CONTAINER ID"), ours.stderr
        if os.path.exists(DOCKER_CLI):
            ok = subprocess.run([DOCKER_CLI, "--tlsverify", "-H", f"tcp://127.0.0.1:{port}",
                                 "version", "--format", "{{.Server.APIVersion}}"],
                                capture_output=True, text=True, env=env, timeout=30)
            assert ok.stdout.strip() == "1.44", ok.stderr
            (tmp_path / "cert.pem").unlink()
            (tmp_path / "key.pem").unlink()
            bad = subprocess.run([DOCKER_CLI, "--tls", "--tlscacert", str(tmp_path / "ca.pem"),
                                  "-H", f"tcp://127.0.0.1:{port}", "version"],
                                 capture_output=True, text=True, env=env, timeout=30)
            assert bad.returncode != 0
    finally:
        d.cleanup()
