"""Published ports as a user reaches them: on 127.0.0.1, on the host's other
addresses, from a client outside the host (another network namespace behind a
veth), from the container itself (hairpin); `-P`, UDP, ports in use, and what a
daemon restart keeps."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

import docker
import pytest

from .rawhttp import request

HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]


def http_get(host: str, port: int, timeout: float = 3) -> bytes:
    """The answer; retried while the server is not up yet: a refused connection,
    or (through the userland proxy, which accepts at once) one closed unanswered."""
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(b"GET /passwd HTTP/1.0\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            if data or time.time() > deadline:
                return data
        except OSError:
            if time.time() > deadline:
                raise
        time.sleep(0.1)


def host_port(c, key: str = "80/tcp") -> int:  # type: ignore[no-untyped-def]
    c.reload()
    return int(c.attrs["NetworkSettings"]["Ports"][key][0]["HostPort"])


@contextlib.contextmanager
def outside_client(prefix: str, subnet_octet: int) -> Iterator[tuple[str, str]]:
    """A network namespace behind a veth: a client that is not on the host.
    Yields (namespace, the host's address as the client sees it)."""
    ns, host_if, peer = f"{prefix}cl", f"{prefix}h0", f"{prefix}h1"
    host_ip, client_ip = f"10.249.{subnet_octet}.1", f"10.249.{subnet_octet}.2"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    try:
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", ns)
        run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{client_ip}/30", "dev", peer)
        run("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up")
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def our_nat_rules(daemon) -> list[str]:  # type: ignore[no-untyped-def]
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    chain = daemon.prefix.upper()
    return [line for line in out.splitlines() if line.startswith(f"-A {chain}-DNAT")]


def test_published_port_is_reachable_every_way(client, daemon):
    c = client.containers.run("busybox", HTTPD, detach=True, ports={"80/tcp": None})
    try:
        port = host_port(c)
        assert 32768 <= port <= 60999
        assert b"root:x:0:0" in http_get("127.0.0.1", port)             # the userland proxy
        assert b"root:x:0:0" in http_get(daemon.gateway, port)          # a host address: DNAT
        with outside_client(daemon.prefix, 1) as (ns, host_ip):         # from outside: DNAT
            out = subprocess.run(["ip", "netns", "exec", ns, "busybox", "wget", "-qO-",
                                  f"http://{host_ip}:{port}/passwd"],
                                 capture_output=True, timeout=20)
            assert out.stdout.startswith(b"root:"), out.stderr
        hairpin = c.exec_run(["sh", "-c", f"timeout -s KILL 5 wget -qO- "
                                          f"http://{daemon.gateway}:{port}/passwd; exit $?"])
        assert hairpin.exit_code == 0 and hairpin.output.startswith(b"root:")
        assert any(f"--dport {port} -j DNAT" in rule for rule in our_nat_rules(daemon))
    finally:
        c.remove(force=True)
    assert not any(f"--dport {port} -j DNAT" in rule for rule in our_nat_rules(daemon))
    with pytest.raises(OSError):
        http_get("127.0.0.1", port, timeout=0.5)


def test_publish_all_loopback_only_and_port_command(client, daemon, docker_cli):
    c = client.containers.run("busybox", HTTPD, detach=True, publish_all_ports=True,
                              ports={"3333/tcp": ("127.0.0.1", None)})
    try:
        c.reload()
        ports = c.attrs["NetworkSettings"]["Ports"]
        assert ports["3333/tcp"][0]["HostIp"] == "127.0.0.1"
        out = docker_cli("port", c.id)
        assert out.returncode == 0
        assert f"3333/tcp -> 127.0.0.1:{ports['3333/tcp'][0]['HostPort']}" in out.stdout.decode()
        summary = client.api.containers(filters={"id": c.id})[0]["Ports"]
        assert {"IP": "127.0.0.1", "PrivatePort": 3333,
                "PublicPort": int(ports["3333/tcp"][0]["HostPort"]), "Type": "tcp"} in summary
    finally:
        c.remove(force=True)


def test_host_port_zero_is_any_free_port(client, daemon):
    """`HostPort: "0"` (what `-p 0:80` sends) picks a free port, as dockerd does."""
    c = client.containers.run("busybox", HTTPD, detach=True,
                              ports={"80/tcp": ("127.0.0.1", 0)})
    try:
        port = host_port(c)
        assert port > 0
        assert b"root:x:0:0" in http_get("127.0.0.1", port)
        assert c.attrs["HostConfig"]["PortBindings"] == {
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]}  # as the client sent it
    finally:
        c.remove(force=True)


def test_fixed_port_in_use_and_released(client, daemon):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    busy = blocker.getsockname()[1]
    blocker.listen(1)
    c = client.containers.create("busybox", HTTPD, ports={"80/tcp": ("127.0.0.1", busy)})
    try:
        with pytest.raises(docker.errors.APIError) as err:
            c.start()
        assert "driver failed programming external connectivity" in str(err.value)
        assert "address already in use" in str(err.value)
        c.reload()
        assert c.status == "created"  # not left half-started
        assert not c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    finally:
        blocker.close()
    c.start()  # the port is free now
    assert b"root:" in http_get("127.0.0.1", busy)
    twin = client.containers.create("busybox", HTTPD, ports={"80/tcp": ("127.0.0.1", busy)})
    try:
        with pytest.raises(docker.errors.APIError) as err:
            twin.start()
        assert f"Bind for 127.0.0.1:{busy} failed: port is already allocated" in str(err.value)
        c.stop(timeout=0)
        twin.start()  # released by the stop
        assert b"root:" in http_get("127.0.0.1", busy)
    finally:
        twin.remove(force=True)
        c.remove(force=True)


def test_udp_port_is_held_and_forwarded(client, daemon):
    """busybox has no UDP server to answer from inside; the relay itself is tested
    end to end in tests/unit/test_proxy.py. Here: the host port is held and the
    DNAT rule is there, and both go with the container."""
    c = client.containers.run("busybox", ["sleep", "60"], detach=True,
                              ports={"5353/udp": None})
    try:
        port = host_port(c, "5353/udp")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            with pytest.raises(OSError):
                s.bind(("0.0.0.0", port))
        assert any(f"-p udp -m udp --dport {port} -j DNAT" in r for r in our_nat_rules(daemon))
    finally:
        c.remove(force=True)
    assert not any(f"--dport {port} -j DNAT" in r for r in our_nat_rules(daemon))


def test_bad_port_requests(daemon):
    import json
    for bindings, text in (({"abc/tcp": [{}]}, "invalid containerPort: abc"),
                           ({"80/xyz": [{}]}, "invalid proto: xyz"),
                           ({"80/tcp": [{"HostPort": "99999"}]}, "invalid hostPort: 99999")):
        r = request(daemon.sock, "POST", "/containers/create", body=json.dumps({
            "Image": "busybox", "Cmd": ["true"],
            "HostConfig": {"PortBindings": bindings}}).encode(),
            headers={"Content-Type": "application/json"})
        assert r.status == 400 and text in r.json()["message"]


def test_ports_and_names_survive_a_daemon_restart(fresh_daemon):
    client = fresh_daemon.client()
    client.networks.create("keepnet")
    idle = client.networks.create("idlenet")  # its bridge is made, then nobody uses it
    client.containers.run("busybox", ["true"], network="idlenet", remove=True)
    c = client.containers.run("busybox", HTTPD, detach=True, name="keeper",
                              ports={"80/tcp": ("127.0.0.1", None)}, network="keepnet")
    port = host_port(c)
    fresh_daemon.restart()
    client = fresh_daemon.client()
    assert b"root:" in http_get("127.0.0.1", port)
    out = client.containers.run("busybox", ["nslookup", "keeper"], network="keepnet",
                                remove=True).decode()
    c.reload()
    assert c.attrs["NetworkSettings"]["Networks"]["keepnet"]["IPAddress"] in out
    c.remove(force=True)
    client.networks.get("keepnet").remove()
    client.networks.get(idle.id).remove()  # its bridge was made before the restart
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert f"{fresh_daemon.prefix}br-" not in links


def host_traces(daemon) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the daemon may leave on the host: links, rules, mounts, NAT entries."""
    chain = daemon.prefix.upper()
    rules = []
    for table in ("filter", "nat"):
        out = subprocess.run(["iptables-save", "-t", table], capture_output=True,
                             text=True).stdout
        rules += [line for line in out.splitlines()
                  if line.startswith("-A") and chain in line]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    ours = sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
                  if line.split(":")[1].strip().startswith(daemon.prefix))
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if str(daemon.root) in line]
    with open("/proc/net/nf_conntrack") as f:  # flows NATed to a container of the cycles
        nat = [line for line in f if "dport=" in line
               and " src=10.250." in line.split("dport=", 1)[1]]
    return {"rules": sorted(rules), "links": ours, "mounts": len(mounts), "nat": len(nat)}


def test_network_cycles_leave_nothing(daemon, client):
    """Network create, a container with a published port on it, a request through
    the port, removal: N times (DPY_CYCLES, default 20; the issue's soak is 200).
    Afterwards the host has what it had: no link, rule, mount or NAT entry of ours."""
    import os
    cycles = int(os.environ.get("DPY_CYCLES", "20"))
    before = host_traces(daemon)
    for i in range(cycles):
        net = client.networks.create(f"cycle{i}", ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=f"10.250.{i % 200}.0/24")]))
        c = client.containers.run("busybox", HTTPD, detach=True, network=net.name,
                                  ports={"80/tcp": None})
        port = host_port(c)
        assert b"root:" in http_get("127.0.0.1", port)       # through the proxy
        assert b"root:" in http_get(daemon.gateway, port)    # NATed
        c.remove(force=True)
        net.remove()
    after = host_traces(daemon)
    assert after["rules"] == before["rules"]
    assert after["links"] == before["links"]
    assert after["mounts"] == before["mounts"]
    assert after["nat"] == 0


def test_without_userland_proxy_loopback_goes_through_nat(workdir, rootfs_tar):
    """--userland-proxy=false: no proxy holds the port; 127.0.0.1 reaches the
    container by DNAT (route_localnet on the bridge, loopback sources masqueraded)."""
    from .conftest import busybox_daemon
    with busybox_daemon(workdir, rootfs_tar, "noproxy",
                        extra_args=["--userland-proxy=false"]) as d:
        client = d.client()
        c = client.containers.run("busybox", HTTPD, detach=True,
                                  ports={"80/tcp": ("127.0.0.1", None)})
        try:
            port = host_port(c)
            with socket.socket() as s:  # nobody listens: the port is not held by a proxy
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
            assert b"root:x:0:0" in http_get("127.0.0.1", port)
            with open(f"/proc/sys/net/ipv4/conf/{d.bridge}/route_localnet") as f:
                assert f.read().strip() == "1"
        finally:
            c.remove(force=True)


def test_default_gateway_option(workdir, rootfs_tar):
    """--default-gateway: containers on the default bridge route through it."""
    from .conftest import busybox_daemon, new_daemon
    probe = new_daemon(workdir, "gwprobe")
    gateway = probe.subnet.rsplit(".", 1)[0] + ".254"
    with busybox_daemon(workdir, rootfs_tar, "defgw", subnet=probe.subnet,
                        extra_args=["--default-gateway", gateway]) as d:
        out = d.client().containers.run("busybox", ["ip", "route"], remove=True).decode()
        assert f"default via {gateway} dev eth0" in out


def test_loopback_ports_answer_while_the_daemon_is_down(fresh_daemon):
    """The userland proxy stops with the daemon; the containers (live restore) and
    their ports on 127.0.0.1 go on answering through NAT until the next start,
    which takes loopback back for the proxy."""
    d = fresh_daemon
    client = d.client()
    c = client.containers.run("busybox", HTTPD, detach=True,
                              ports={"80/tcp": ("127.0.0.1", None)})
    port = host_port(c)
    client.close()
    assert b"root:x:0:0" in http_get("127.0.0.1", port)
    d.stop()
    assert b"root:x:0:0" in http_get("127.0.0.1", port)      # nobody but the kernel now
    d.start()
    with socket.socket() as s:                                # the proxy holds it again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError):
            s.bind(("127.0.0.1", port))
    assert b"root:x:0:0" in http_get("127.0.0.1", port)
    with open(f"/proc/sys/net/ipv4/conf/{d.bridge}/route_localnet") as f:
        assert f.read().strip() == "0"
    nat = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    hooks = [line for line in nat.splitlines()
             if line.startswith("-A OUTPUT") and f"{d.prefix.upper()}-DNAT" in line]
    assert hooks == [f"-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL "
                     f"-j {d.prefix.upper()}-DNAT"]
    d.client().containers.get(c.id).remove(force=True)
