"""Registries that ask who is pulling: htpasswd Basic auth, token auth with a
token server of the tests' own, mutual TLS from certs.d, mirrors, and
credential helpers; with the real Docker CLI, the SDK and docker-py."""
from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .conftest import busybox_daemon
from .daemonctl import DOCKER_CLI
from .registries import REGISTRY, Registry

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY),
                                reason="docker-registry is not installed")


# -- authentication -----------------------------------------------------------------------
PASSWORD = "s3cret-Pa55-do-not-log"


@pytest.fixture(scope="module")
def basic_registry() -> Iterator[Registry]:
    reg = Registry(Path(tempfile.mkdtemp(prefix="dpy-reg-basic-")),
                   htpasswd={"alice": PASSWORD}).start()
    yield reg
    reg.stop()


def test_basic_auth_login_push_and_pull(daemon, basic_registry):
    if not os.path.exists(DOCKER_CLI):
        pytest.skip("the Docker CLI is not installed")
    reg = basic_registry
    with tempfile.TemporaryDirectory() as config_dir:
        env = {"DOCKER_CONFIG": config_dir}
        bad = daemon.docker("login", "-u", "alice", "--password-stdin", reg.host,
                            input=b"wrong\n", env=env)
        assert bad.returncode == 1
        assert (f"login attempt to http://{reg.host}/v2/ failed with status: 401 Unauthorized"
                in bad.stderr.decode())
        good = daemon.docker("login", "-u", "alice", "--password-stdin", reg.host,
                             input=PASSWORD.encode() + b"\n", env=env)
        assert good.returncode == 0, good.stderr
        assert "Login Succeeded" in good.stdout.decode()
        ref = f"{reg.host}/private/bb:v1"
        daemon.docker("tag", "busybox:latest", ref)
        pushed = daemon.docker("push", ref, env=env)
        assert pushed.returncode == 0, pushed.stderr
        daemon.docker("rmi", ref)
        assert daemon.docker("pull", ref, env=env).returncode == 0
        daemon.docker("rmi", ref)
    anonymous = daemon.api()
    with pytest.raises(docker.errors.APIError) as err:
        anonymous.pull(f"{reg.host}/private/bb", tag="v1")
    assert "unauthorized" in err.value.explanation
    # the daemon logs at debug level here: the password never reaches the log
    assert PASSWORD not in daemon.log_path.read_text(errors="replace")


def test_token_auth_flow(workdir, daemon):
    from .registries import TokenServer
    root = Path(tempfile.mkdtemp(prefix="dpy-reg-token-"))
    tokens = TokenServer(root, {"bob": PASSWORD}).start()
    reg = Registry(root / "reg", token=tokens.registry_auth())
    try:
        reg.start()
        api = daemon.api()
        auth = {"username": "bob", "password": PASSWORD, "serveraddress": reg.host}
        assert api.login("bob", PASSWORD, registry=reg.host, reauth=True)["Status"] == \
            "Login Succeeded"
        with pytest.raises(docker.errors.APIError) as err:
            api.login("bob", "nope", registry=reg.host, reauth=True)
        assert err.value.status_code == 401
        ref = f"{reg.host}/team/bb"
        api.tag("busybox:latest", ref, "t1")
        events = list(api.push(ref, tag="t1", stream=True, decode=True, auth_config=auth))
        assert not any("error" in e for e in events), events
        asked = [r for r in tokens.requests if r["user"] == "bob" and r["ok"]]
        assert any("repository:team/bb:pull,push" in r["scope"] for r in asked)
        api.remove_image(f"{ref}:t1")
        # anonymous pull is granted by this token server; pushes are not (a new
        # client: the SDK keeps what login was given)
        anonymous = daemon.api()
        anonymous.pull(ref, tag="t1")
        anonymous.tag("busybox:latest", ref, "t2")
        events = list(anonymous.push(ref, tag="t2", stream=True, decode=True))
        assert events[-1]["error"] == "unauthorized: authentication required"
    finally:
        for tag in ("t1", "t2"):
            try:
                daemon.api().remove_image(f"{reg.host}/team/bb:{tag}")
            except docker.errors.APIError:
                pass
        reg.stop()
        tokens.stop()


def test_docker_py_login_push_pull_logout_as_docker_does(daemon, basic_registry):
    reg = basic_registry
    ref = f"{reg.host}/ours/bb:v1"
    with tempfile.TemporaryDirectory() as config_dir:
        env = {"DOCKER_CONFIG": config_dir}
        bad = daemon.docker_py("login", "-u", "alice", "--password-stdin", reg.host,
                               input=b"wrong\n", env=env)
        assert bad.returncode == 1
        assert bad.stderr.decode().strip() == (
            f"Error response from daemon: login attempt to http://{reg.host}/v2/ failed "
            "with status: 401 Unauthorized")
        good = daemon.docker_py("login", "-u", "alice", "--password-stdin", reg.host,
                                input=PASSWORD.encode() + b"\n", env=env)
        assert good.returncode == 0 and good.stdout.decode().strip() == "Login Succeeded"
        saved = json.loads(Path(config_dir, "config.json").read_text())
        assert saved["auths"][reg.host]["auth"] == \
            base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        assert oct(os.stat(Path(config_dir, "config.json")).st_mode & 0o777) == "0o600"
        daemon.docker_py("tag", "busybox:latest", ref)
        pushed = daemon.docker_py("push", ref, env=env)
        assert pushed.returncode == 0, pushed.stderr
        assert "v1: digest: sha256:" in pushed.stdout.decode()
        daemon.docker_py("rmi", ref)
        pulled = daemon.docker_py("pull", ref, env=env)
        assert pulled.returncode == 0, pulled.stderr
        assert pulled.stdout.decode().splitlines()[-1] == ref
        if os.path.exists(DOCKER_CLI):   # the real CLI reads what we saved
            daemon.docker("rmi", ref)
            assert daemon.docker("pull", ref, env=env).returncode == 0
        out = daemon.docker_py("logout", reg.host, env=env)
        assert out.stdout.decode().strip() == f"Removing login credentials for {reg.host}"
        assert reg.host not in json.loads(Path(config_dir, "config.json").read_text())["auths"]
        missing = daemon.docker_py("pull", f"{reg.host}/ours/bb:nope", env=env)
        assert missing.returncode == 1
        daemon.docker_py("rmi", ref)


# -- TLS and mirrors ----------------------------------------------------------------------
def test_tls_client_certificates_from_certs_d_and_mirrors_with_fallback(
        workdir, rootfs_tar, daemon, registry):
    import trustme
    root = Path(tempfile.mkdtemp(prefix="dpy-reg-tls-"))
    server_ca, client_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
    client_ca.cert_pem.write_to_path(str(root / "client-ca.pem"))
    tls = Registry(root / "reg", tls=(str(root / "server.pem"), str(root / "server.pem")),
                   client_ca=str(root / "client-ca.pem"))
    certs = root / "certs.d"
    host_dir = certs / tls.host
    host_dir.mkdir(parents=True)
    server_ca.cert_pem.write_to_path(str(host_dir / "ca.crt"))
    client = client_ca.issue_cert("dockerd-py-client")
    client.cert_chain_pems[0].write_to_path(str(host_dir / "client.cert"))
    client.private_key_pem.write_to_path(str(host_dir / "client.key"))
    # the mirror serves Docker Hub names; the first mirror is down, so the second is used
    dead = f"http://127.0.0.1:{tls.port + 1 if tls.port < 65535 else tls.port - 1}"
    api = daemon.api()
    try:
        tls.start()
        api.tag("busybox:latest", f"{registry.host}/library/hubonly", "latest")
        assert "error" not in list(api.push(f"{registry.host}/library/hubonly", tag="latest",
                                            stream=True, decode=True))[-1]
        with busybox_daemon(workdir, rootfs_tar, "tls", extra_args=[
                "--registry-certs-dir", str(certs), "--registry-mirror", dead,
                "--registry-mirror", registry.url]) as d:
            own = d.api()
            mirrors = own.info()["RegistryConfig"]
            assert mirrors["Mirrors"] == [dead + "/", registry.url + "/"]
            assert "127.0.0.0/8" in mirrors["InsecureRegistryCIDRs"]
            own.pull("hubonly", tag="latest")
            assert own.inspect_image("hubonly:latest")["RepoDigests"][0].startswith(
                "hubonly@sha256:")
            ref = f"{tls.host}/secure/bb"
            own.tag("busybox:latest", ref, "v1")
            events = list(own.push(ref, tag="v1", stream=True, decode=True))
            assert "error" not in events[-1], events[-1]
            own.remove_image(f"{ref}:v1")
            own.pull(ref, tag="v1")
            # without the client certificate the registry refuses the handshake
            (host_dir / "client.cert").unlink()
            (host_dir / "client.key").unlink()
            with pytest.raises(docker.errors.APIError):
                own.pull(ref, tag="v1")
            assert own.ping()
    finally:
        try:
            api.remove_image(f"{registry.host}/library/hubonly:latest")
        except docker.errors.APIError:
            pass
        tls.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_credentials_from_a_docker_credential_helper(daemon, basic_registry, tmp_path):
    """A `docker-credential-*` program (the real protocol: get/store/erase on
    stdin and stdout) of the test's own."""
    store = tmp_path / "store.json"
    helper = tmp_path / "bin" / "docker-credential-dpytest"
    helper.parent.mkdir()
    helper.write_text(f"""#!{sys.executable}
import json, sys
path = {str(store)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action, payload = sys.argv[1], sys.stdin.read().strip()
if action == "store":
    doc = json.loads(payload)
    data[doc["ServerURL"]] = doc
    json.dump(data, open(path, "w"))
elif action == "get":
    if payload not in data:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps(data[payload]))
elif action == "erase":
    data.pop(payload, None)
    json.dump(data, open(path, "w"))
""")
    helper.chmod(0o755)
    reg = basic_registry
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"credsStore": "dpytest"}))
    env = {"DOCKER_CONFIG": str(config_dir),
           "PATH": f"{helper.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    login = daemon.docker_py("login", "-u", "alice", "--password-stdin", reg.host,
                             input=PASSWORD.encode(), env=env)
    assert login.returncode == 0, login.stderr
    assert json.loads(store.read_text())[reg.host]["Secret"] == PASSWORD
    assert PASSWORD not in (config_dir / "config.json").read_text()
    ref = f"{reg.host}/helper/bb:v1"
    daemon.docker_py("tag", "busybox:latest", ref)
    pushed = daemon.docker_py("push", ref, env=env)
    assert pushed.returncode == 0, pushed.stderr
    daemon.docker_py("rmi", ref)
    assert daemon.docker_py("pull", ref, env=env).returncode == 0
    assert daemon.docker_py("logout", reg.host, env=env).returncode == 0
    assert reg.host not in json.loads(store.read_text())
    daemon.docker_py("rmi", ref)


def _build(daemon, dockerfile: str, auth: dict) -> str:  # type: ignore[no-untyped-def]
    """POST /build (nocache) with its own X-Registry-Config; the stream's text."""
    import io
    import tarfile

    from .rawhttp import request
    data = dockerfile.encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    out = request(daemon.sock, "POST", "/build?rm=1&nocache=1", buf.getvalue(),
                  {"Content-Type": "application/x-tar", "X-Registry-Config": header},
                  timeout=120)
    assert out.status == 200, out.body
    return out.body.decode()


def test_two_builds_at_once_pull_with_their_own_credentials(daemon):
    """Each build's credentials belong to its request: alice's build pulls as
    alice while bob's, sent at the same moment with a wrong password, fails;
    never the other way round (they were kept on the shared build service).
    The token server records whose credentials each pull came with."""
    import threading
    import time

    from .conftest import RACE_ROUNDS
    from .registries import TokenServer
    root = Path(tempfile.mkdtemp(prefix="dpy-reg-two-"))
    tokens = TokenServer(root, {"alice": PASSWORD, "bob": PASSWORD + "-bob"}).start()
    reg = Registry(root / "reg", token=tokens.registry_auth())
    ref = f"{reg.host}/shared/base:v1"
    api = daemon.api()
    try:
        reg.start()
        alice = {"username": "alice", "password": PASSWORD, "serveraddress": reg.host}
        api.tag("busybox:latest", ref)
        events = list(api.push(ref, stream=True, decode=True, auth_config=alice))
        assert not any("error" in e for e in events), events
        tokens.requests.clear()
        # alice's build pulls after a first stage has run a while: time enough for
        # bob's request to arrive and, were credentials shared, to replace hers
        slow = (f"FROM busybox AS first\nRUN sleep 0.3 && echo hi > /x\n"
                f"FROM {ref}\nCOPY --from=first /x /x\n")
        quick = f"FROM {ref}\nRUN true\n"
        for _ in range(RACE_ROUNDS):
            api.remove_image(ref)  # each round's FROM pulls
            results: dict[str, str] = {}
            barrier = threading.Barrier(2)

            def run(who: str, dockerfile: str, creds: dict) -> None:  # type: ignore[type-arg]
                barrier.wait()
                if who == "bob":
                    time.sleep(0.1)  # while alice's first stage runs
                results[who] = _build(daemon, dockerfile, {reg.host: creds})
            threads = [threading.Thread(target=run, args=("alice", slow, alice)),
                       threading.Thread(target=run, args=("bob", quick, {
                           "username": "bob", "password": "wrong"}))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            assert "Successfully built" in results["alice"], results["alice"]
            assert "Successfully built" not in results["bob"], results["bob"]
            assert "unauthorized: authentication required" in results["bob"], results["bob"]
        granted = {r["user"] for r in tokens.requests if r["ok"]}
        refused = {r["user"] for r in tokens.requests if not r["ok"]}
        assert granted == {"alice"} and refused == {"bob"}, tokens.requests
    finally:
        try:
            api.remove_image(ref)
        except docker.errors.APIError:
            pass
        reg.stop()
        tokens.stop()
