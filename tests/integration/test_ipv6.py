"""IPv6 networks as a user asks for them (`--ipv6 --subnet`, `--ip6`, a default
bridge with `--fixed-cidr-v6`): addresses and routes in the container, names
answered with AAAA records, ports published on [::] and reachable over IPv6
from outside the host, ip6tables rules that come and go with their network,
and dockerd's answers to bad requests."""
from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import subprocess
from collections.abc import Iterator

import docker
import pytest

from dockerd_py.network.ipam import host_routes

from .conftest import busybox_daemon
from .test_ports import HTTPD, host_port, http_get

pytestmark = pytest.mark.skipif(
    open("/proc/sys/net/ipv6/conf/all/disable_ipv6").read().strip() != "0",
    reason="this host has IPv6 disabled")


def free_v6_subnet() -> str:
    """A /64 of its own in fd00::/8 that no host route uses."""
    busy = [n for n in host_routes() if n.version == 6]
    while True:
        candidate = ipaddress.IPv6Network((0xFD << 120 | random.getrandbits(56) << 64, 64))
        if not any(candidate.overlaps(b) for b in busy):
            return str(candidate)


def our_ip6_rules(prefix: str) -> list[str]:
    out = subprocess.run(["ip6tables-save"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if prefix.upper() in line and line.startswith("-A")]


@contextlib.contextmanager
def outside_v6_client(prefix: str) -> Iterator[tuple[str, str]]:
    """A network namespace behind a veth, speaking IPv6 only: a client that is
    not on the host. Yields (namespace, the host's address as the client sees it)."""
    ns, host_if, peer = f"{prefix}c6", f"{prefix}g0", f"{prefix}g1"
    net = ipaddress.IPv6Network(free_v6_subnet())
    host_ip, client_ip = str(net[1]), str(net[2])
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    try:
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", peer)
        run("ip", "link", "set", peer, "netns", ns)
        run("ip", "addr", "add", f"{host_ip}/64", "dev", host_if, "nodad")
        run("ip", "link", "set", host_if, "up")
        run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{client_ip}/64", "dev", peer,
            "nodad")
        run("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up")
        yield ns, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def v6net(client):  # type: ignore[no-untyped-def]
    subnet = free_v6_subnet()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.233.0.0/24"),
                                                 docker.types.IPAMPool(subnet=subnet)])
    net = client.networks.create("v6net", enable_ipv6=True, ipam=ipam)
    yield net, ipaddress.IPv6Network(subnet)
    try:
        for c in client.networks.get(net.id).containers:
            c.remove(force=True)
        net.remove()
    except docker.errors.NotFound:
        pass  # the test removed it


def test_ipv6_network_addresses_routes_and_names(client, v6net):
    net, subnet = v6net
    doc = client.networks.get(net.id).attrs
    assert doc["EnableIPv6"] is True
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.233.0.0/24", "Gateway": "10.233.0.1"},
                                     {"Subnet": str(subnet)}]
    static = str(subnet[0x99])
    server = client.containers.run(
        "busybox", ["sleep", "300"], name="v6-server", detach=True, network="v6net",
        networking_config={"v6net": client.api.create_endpoint_config(ipv6_address=static,
                                                                       aliases=["svc6"])})
    other = client.containers.run("busybox", ["sleep", "300"], name="v6-client", detach=True,
                                  network="v6net")
    server.reload()
    other.reload()
    ep = server.attrs["NetworkSettings"]["Networks"]["v6net"]
    assert (ep["GlobalIPv6Address"], ep["GlobalIPv6PrefixLen"], ep["IPv6Gateway"]) == \
        (static, 64, str(subnet[1]))
    mine = other.attrs["NetworkSettings"]["Networks"]["v6net"]["GlobalIPv6Address"]
    assert ipaddress.IPv6Address(mine) in subnet and mine != static
    members = client.networks.get(net.id).attrs["Containers"]
    assert members[server.id]["IPv6Address"] == f"{static}/64"

    addr = other.exec_run(["ip", "-6", "addr", "show", "eth0"]).output.decode()
    route = other.exec_run(["ip", "-6", "route"]).output.decode()
    assert f"{mine}/64" in addr and f"default via {subnet[1]}" in route
    assert f"{mine}\t" in other.exec_run(["cat", "/etc/hosts"]).output.decode()
    for name in ("v6-server", "svc6"):   # AAAA answers from the embedded DNS
        ping = other.exec_run(["ping", "-6", "-c", "1", "-W", "3", name])
        assert ping.exit_code == 0 and f"({static})" in ping.output.decode(), ping.output
    looked = other.exec_run(["nslookup", "-type=aaaa", "v6-server", "127.0.0.11"]).output
    assert static.encode() in looked
    v4 = other.exec_run(["nslookup", "-type=a", "v6-server", "127.0.0.11"]).output
    assert ep["IPAddress"].encode() in v4 and static.encode() not in v4


def test_ipv6_bad_requests_as_dockerd_answers(client, v6net):
    net, subnet = v6net
    with pytest.raises(docker.errors.APIError) as err:
        client.containers.run("busybox", ["true"], network="v6net", networking_config={
            "v6net": client.api.create_endpoint_config(ipv6_address="fd00:dead::1")})
    assert err.value.status_code == 400
    assert "no configured subnet or ip-range contain the IP address fd00:dead::1" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:   # the network's subnet again
        client.networks.create("v6dup", enable_ipv6=True, ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=str(subnet))]))
    assert err.value.status_code == 403 and "Pool overlaps" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:   # Docker has no IPv6 default pool
        client.networks.create("v6none", enable_ipv6=True)
    assert err.value.status_code == 400
    assert "non-overlapping IPv6 address pool" in str(err.value)
    with pytest.raises(docker.errors.APIError) as err:
        client.networks.create("v6bad", enable_ipv6=True, ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet="fd00:1::/129")]))
    assert err.value.status_code == 400 and "invalid CIDR address" in str(err.value)
    plain = client.networks.create("v4only")
    try:
        with pytest.raises(docker.errors.APIError) as err:
            client.containers.create("busybox", ["true"], network="v4only", networking_config={
                "v4only": client.api.create_endpoint_config(ipv6_address=str(subnet[5]))})
        assert err.value.status_code == 400
        assert "user specified IP address is supported only" in str(err.value)
    finally:
        plain.remove()
    names = {n.name for n in client.networks.list()}
    assert not {"v6dup", "v6none", "v6bad"} & names   # nothing half-made


def test_ipv6_published_port_from_outside_and_rules_removed(client, daemon, v6net):
    net, subnet = v6net
    c = client.containers.run("busybox", HTTPD, detach=True, network="v6net",
                              ports={"80/tcp": None})
    c.reload()
    bindings = c.attrs["NetworkSettings"]["Ports"]["80/tcp"]
    port = host_port(c)
    assert bindings == [{"HostIp": "0.0.0.0", "HostPort": str(port)},
                        {"HostIp": "::", "HostPort": str(port)}]
    container_ip6 = c.attrs["NetworkSettings"]["Networks"]["v6net"]["GlobalIPv6Address"]
    assert b"root:x:0:0" in http_get("::1", port)       # the proxy, on [::]
    with outside_v6_client(daemon.prefix) as (ns, host_ip):   # DNAT in ip6tables
        out = subprocess.run(["ip", "netns", "exec", ns, "busybox", "wget", "-qO-",
                              f"http://[{host_ip}]:{port}/passwd"],
                             capture_output=True, timeout=20)
        assert out.stdout.startswith(b"root:"), out.stderr
    rules = " ".join(our_ip6_rules(daemon.prefix))
    assert f"--dport {port} -j DNAT --to-destination [{container_ip6}]:80" in rules
    assert f"-s {subnet} ! -o" in rules and "MASQUERADE" in rules
    c.remove(force=True)
    assert f"--dport {port}" not in " ".join(our_ip6_rules(daemon.prefix))
    net.remove()
    assert str(subnet) not in " ".join(our_ip6_rules(daemon.prefix))


def test_default_bridge_with_fixed_cidr_v6(workdir, rootfs_tar):
    subnet = ipaddress.IPv6Network(free_v6_subnet())
    with busybox_daemon(workdir, rootfs_tar, "v6bridge",
                        extra_args=["--ipv6", "--fixed-cidr-v6", str(subnet)]) as d:
        client = d.client()
        bridge = client.networks.get("bridge").attrs
        assert bridge["EnableIPv6"] is True
        assert {"Subnet": str(subnet)} in bridge["IPAM"]["Config"]
        c = client.containers.run("busybox", ["sleep", "60"], detach=True)
        c.reload()
        settings = c.attrs["NetworkSettings"]
        assert ipaddress.IPv6Address(settings["GlobalIPv6Address"]) in subnet
        assert settings["IPv6Gateway"] == str(subnet[1])   # the top level mirrors the bridge
        reach = c.exec_run(["ping", "-6", "-c", "1", "-W", "3", str(subnet[1])])
        assert reach.exit_code == 0, reach.output
        c.remove(force=True)
        client.close()
    assert not our_ip6_rules(d.prefix)


def test_ipv6_subnets_from_default_address_pools(workdir, rootfs_tar):
    """`--ipv6` without a subnet takes the next /64 of an IPv6 entry of
    `default-address-pools`, skipping ones in use; IPv4 comes from its own entry."""
    base = ipaddress.IPv6Network(free_v6_subnet()).supernet(new_prefix=56)
    conf = workdir / f"pools-{random.getrandbits(32):08x}.json"
    conf.write_text(json.dumps({"default-address-pools": [
        {"base": "10.236.0.0/16", "size": 24}, {"base": str(base), "size": 64}]}))
    with busybox_daemon(workdir, rootfs_tar, "v6pools",
                        extra_args=["--config-file", str(conf)]) as d:
        client = d.client()
        first = client.networks.create("p1", enable_ipv6=True)
        second = client.networks.create("p2", enable_ipv6=True)
        subnets = [[c["Subnet"] for c in client.networks.get(n.id).attrs["IPAM"]["Config"]]
                   for n in (first, second)]
        v6 = [ipaddress.IPv6Network(s[1]) for s in subnets]
        assert all(n.subnet_of(base) and n.prefixlen == 64 for n in v6) and v6[0] != v6[1]
        assert all(ipaddress.IPv4Network(s[0]).subnet_of(ipaddress.IPv4Network("10.236.0.0/16"))
                   for s in subnets)
        out = client.containers.run("busybox", ["ip", "-6", "addr", "show", "eth0"],
                                    network="p1", remove=True).decode()
        assert str(v6[0][2]) in out
        client.close()


def test_ipv6_asked_the_ways_dockerd_20_10_ignores(client):
    """Checked against dockerd 20.10.24 on this machine: the driver option
    com.docker.network.enable_ipv6 is kept as an option and enables nothing; an
    IPv6 subnet without EnableIPv6 is kept in IPAM (beside a default IPv4 pool),
    and no container gets an IPv6 address from it."""
    made = []
    try:
        made.append(client.networks.create(
            "v6-by-option", options={"com.docker.network.enable_ipv6": "true"}))
        made.append(client.networks.create("v6-pool-only", ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet="fd00:77::/64")])))
        by_option = client.api.inspect_network("v6-by-option")
        assert by_option["EnableIPv6"] is False
        assert by_option["Options"] == {"com.docker.network.enable_ipv6": "true"}
        assert [":" in c["Subnet"] for c in by_option["IPAM"]["Config"]] == [False]
        pool_only = client.api.inspect_network("v6-pool-only")
        assert pool_only["EnableIPv6"] is False
        configs = pool_only["IPAM"]["Config"]
        assert [":" in c["Subnet"] for c in configs] == [False, True]
        assert configs[1] == {"Subnet": "fd00:77::/64"}
        for name in ("v6-by-option", "v6-pool-only"):
            out = client.containers.run("busybox", ["sh", "-c", "ip -6 addr show eth0 | grep -c global; true"],
                                        network=name, remove=True, stderr=True)
            assert out.strip() == b"0"
    finally:
        for net in made:
            net.remove()
