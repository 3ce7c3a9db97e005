"""User-defined networks, as the Docker SDK and CLI use them: IPAM, names
between containers, connect and disconnect, isolation, and dockerd's answers to
bad requests (nothing half-made)."""
from __future__ import annotations

import json
import subprocess
import time

import docker
import pytest

from .rawhttp import request


def post_json(daemon, path: str, doc: dict):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", path, body=json.dumps(doc).encode(),
                   headers={"Content-Type": "application/json"})


def our_links(prefix: str) -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
            if line.split(":")[1].strip().startswith(prefix)}


def probe(ip: str) -> list[str]:
    """wget with a deadline (busybox's own -T crashes, and `timeout` must not end
    up as PID 1, which ignores the signal: so sh stays, and passes the status on)."""
    return ["sh", "-c", f"timeout -s KILL 3 wget -qO- http://{ip}/passwd; exit $?"]


@pytest.fixture
def net(client):  # type: ignore[no-untyped-def]
    made = []

    def make(name: str, **kw):  # type: ignore[no-untyped-def]
        n = client.networks.create(name, **kw)
        made.append(n)
        return n
    yield make
    for n in made:
        try:
            for c in client.networks.get(n.id).containers:
                c.remove(force=True)
            n.remove()
        except docker.errors.NotFound:
            pass


def test_create_with_ipam_and_labels(client, net):
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.231.0.0/16", gateway="10.231.0.254", iprange="10.231.7.0/24",
        aux_addresses={"router": "10.231.7.1"})])
    n = net("ipamnet", ipam=ipam, labels={"team": "a"}, options={"x": "y"})
    doc = client.networks.get(n.id).attrs
    assert doc["Driver"] == "bridge" and doc["Scope"] == "local"
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.231.0.0/16", "Gateway": "10.231.0.254",
                                      "IPRange": "10.231.7.0/24",
                                      "AuxiliaryAddresses": {"router": "10.231.7.1"}}]
    assert doc["Labels"] == {"team": "a"} and doc["Options"] == {"x": "y"}
    assert [x.id for x in client.networks.list(filters={"label": "team=a"})] == [n.id]
    assert [x.id for x in client.networks.list(filters={"name": "ipamnet"})] == [n.id]
    assert client.networks.list(filters={"type": "custom", "name": "ipamnet"})
    out = client.containers.run("busybox", ["ip", "-4", "-o", "addr", "show", "eth0"],
                                network="ipamnet", remove=True).decode()
    assert "10.231.7.2/16" in out  # from the range, past the aux address


def test_any_name_dockerd_takes(client, net):
    """libnetwork takes any name that is not blank: spaces, a leading `_`."""
    spaced, private = net("my net"), net("_private")
    for n, name in ((spaced, "my net"), (private, "_private")):
        assert client.networks.get(n.id).name == name
        out = client.containers.run("busybox", ["ip", "-4", "-o", "addr", "show", "eth0"],
                                    network=name, remove=True).decode()
        assert " inet " in out


def test_names_aliases_and_round_robin(client, net):
    net("dnsnet")
    a = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"],
                              name="dns-a", detach=True, network="dnsnet")
    client.api.disconnect_container_from_network(a.id, "dnsnet")
    client.api.connect_container_to_network(a.id, "dnsnet", aliases=["svc"])
    b = client.containers.create("busybox", ["sleep", "60"], name="dns-b")
    client.api.disconnect_container_from_network(b.id, "bridge")
    client.api.connect_container_to_network(b.id, "dnsnet", aliases=["svc"])
    b.start()
    a.reload()
    b.reload()
    ip_a = a.attrs["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]
    ip_b = b.attrs["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]
    assert a.attrs["NetworkSettings"]["Networks"]["dnsnet"]["DNSNames"] == \
        ["dns-a", "svc", a.id[:12]]  # buildEndpointDNSNames' order (hostname = short ID)
    # API < 1.45: inspect's Aliases carry the short ID and the hostname too
    assert a.attrs["NetworkSettings"]["Networks"]["dnsnet"]["Aliases"] == ["svc", a.id[:12]]

    def lookup(name: str) -> str:
        return client.containers.run("busybox", ["nslookup", name], network="dnsnet",
                                     remove=True).decode()
    assert ip_a in lookup("dns-a")
    assert ip_b in lookup(b.id[:12])
    both = lookup("svc")
    assert ip_a in both and ip_b in both
    page = client.containers.run("busybox", ["wget", "-qO-", "http://dns-a/passwd"],
                                 network="dnsnet", remove=True)
    assert page.startswith(b"root:")
    resolv = client.containers.run("busybox", ["cat", "/etc/resolv.conf"], network="dnsnet",
                                   remove=True).decode()
    assert "nameserver 127.0.0.11" in resolv
    # the default bridge has no embedded DNS and no names
    plain = client.containers.run("busybox", ["cat", "/etc/resolv.conf"], remove=True).decode()
    assert "127.0.0.11" not in plain


def test_the_embedded_dns_answers_a_containers_hostname(client, net):
    """dockerd's DNSNames end with the container's hostname: a container is found
    by it on its user-defined networks."""
    net("hostnet")
    c = client.containers.run("busybox", ["sleep", "60"], name="dns-h", hostname="myhost",
                              detach=True, network="hostnet")
    c.reload()
    ep = c.attrs["NetworkSettings"]["Networks"]["hostnet"]
    assert ep["DNSNames"] == ["dns-h", c.id[:12], "myhost"]
    out = client.containers.run("busybox", ["nslookup", "myhost"], network="hostnet",
                                remove=True).decode()
    assert ep["IPAddress"] in out


def test_connect_disconnect_and_static_address(client, net):
    n = net("cnet", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.232.0.0/24")]))
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    assert b"127.0.0.11" not in c.exec_run(["cat", "/etc/resolv.conf"]).output
    n.connect(c, ipv4_address="10.232.0.50", aliases=["extra"])
    out = c.exec_run(["ip", "-4", "-o", "addr"]).output.decode()
    assert "eth1" in out and "10.232.0.50/24" in out
    # its first user network: the embedded DNS answers it from now on
    assert b"nameserver 127.0.0.11" in c.exec_run(["cat", "/etc/resolv.conf"]).output
    assert b"10.232.0.50" in c.exec_run(["nslookup", "extra"]).output
    inspect = client.networks.get(n.id).attrs["Containers"]
    assert inspect[c.id]["IPv4Address"] == "10.232.0.50/24"
    with pytest.raises(docker.errors.APIError) as err:
        n.connect(c)
    assert err.value.status_code == 403 and "already exists in network cnet" in str(err.value)
    taken = client.containers.create("busybox", ["true"])
    with pytest.raises(docker.errors.APIError) as err:
        n.connect(taken, ipv4_address="10.232.0.50")
        taken.start()
    assert "Address already in use" in str(err.value)
    taken.remove(force=True)
    n.disconnect(c)
    assert "10.232.0.50" not in c.exec_run(["ip", "-4", "-o", "addr"]).output.decode()
    assert c.id not in client.networks.get(n.id).attrs["Containers"]
    with pytest.raises(docker.errors.APIError) as err:
        n.disconnect(c)
    assert err.value.status_code == 403
    c.stop(timeout=0)
    n.connect(c, ipv4_address="10.232.0.60")  # a stopped container: at its next start
    c.start()
    assert "10.232.0.60/24" in c.exec_run(["ip", "-4", "-o", "addr"]).output.decode()
    c.remove(force=True)


def test_networks_are_isolated_and_internal_stays_inside(client, net, daemon):
    net("iso-a")
    net("iso-b")
    net("iso-int", internal=True)
    target = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"],
                                   detach=True, network="iso-b", name="iso-target")
    target.reload()
    ip = target.attrs["NetworkSettings"]["Networks"]["iso-b"]["IPAddress"]
    same = client.containers.run("busybox", probe(ip),
                                 network="iso-b", remove=True)
    assert same.startswith(b"root:")
    with pytest.raises(docker.errors.ContainerError):
        client.containers.run("busybox", probe(ip),
                              network="iso-a", remove=True)
    with pytest.raises(docker.errors.ContainerError):  # internal: not even the host's bridge
        client.containers.run("busybox", probe(ip),
                              network="iso-int", remove=True)
    target.remove(force=True)


def test_icc_false_keeps_containers_of_a_network_apart(client, net):
    net("icc-off", options={"com.docker.network.bridge.enable_icc": "false"})
    target = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"],
                                   detach=True, network="icc-off")
    try:
        target.reload()
        ip = target.attrs["NetworkSettings"]["Networks"]["icc-off"]["IPAddress"]
        with pytest.raises(docker.errors.ContainerError):
            client.containers.run("busybox", probe(ip), network="icc-off", remove=True)
    finally:
        target.remove(force=True)


@pytest.mark.parametrize("body,status,text", [
    ({"Name": "bridge"}, 403, "operation is not permitted on predefined bridge network"),
    ({"Name": "x1", "Driver": "nosuch"}, 404, 'plugin "nosuch" not found'),
    ({"Name": "x2", "Driver": "overlay"}, 403, "This node is not a swarm manager"),
    ({"Name": "x3", "IPAM": {"Config": [{"Subnet": "10.0.0.0/33"}]}}, 400,
     "invalid CIDR address: 10.0.0.0/33"),
    ({"Name": "x4", "IPAM": {"Config": [{"Subnet": "10.233.0.0/24", "Gateway": "10.9.9.9"}]}},
     400, "no matching subnet for gateway 10.9.9.9"),
    ({"Name": "x5", "IPAM": {"Config": [{"Subnet": "10.233.0.0/24",
                                         "IPRange": "10.234.0.0/24"}]}},
     400, "no matching subnet for range 10.234.0.0/24"),
    ({"Name": "   "}, 400, "invalid name:    "),
    ({"Name": "x6", "Driver": "macvlan", "Options": {"parent": "nosuchlink0"}}, 400,
     "-o parent interface was not found on the host: nosuchlink0"),
])
def test_bad_creates(daemon, body, status, text):
    before = our_links(daemon.prefix)
    r = post_json(daemon, "/networks/create", body)
    assert r.status == status, r.body
    assert text in r.json()["message"]
    names = [n["Name"] for n in request(daemon.sock, "GET", "/networks").json()]
    assert body["Name"] not in names or body["Name"] == "bridge"
    assert our_links(daemon.prefix) == before


def test_duplicates_overlaps_and_removals(client, net, daemon):
    n = net("dup", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.235.0.0/24")]))
    r = post_json(daemon, "/networks/create", {"Name": "dup"})
    assert r.status == 409 and r.json()["message"] == "network with name dup already exists"
    r = post_json(daemon, "/networks/create", {
        "Name": "over", "IPAM": {"Config": [{"Subnet": "10.235.0.128/25"}]}})
    assert r.status == 403
    assert r.json()["message"] == "Pool overlaps with other one on this address space"
    for name in ("bridge", "host", "none"):
        r = request(daemon.sock, "DELETE", f"/networks/{name}")
        assert r.status == 403
        assert r.json()["message"] == f"{name} is a pre-defined network and cannot be removed"
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, network="dup")
    r = request(daemon.sock, "DELETE", f"/networks/{n.id}")
    assert r.status == 403 and "has active endpoints" in r.json()["message"]
    c.remove(force=True)
    r = request(daemon.sock, "DELETE", "/networks/nosuchnet")
    assert r.status == 404 and r.json()["message"] == "network nosuchnet not found"
    r = post_json(daemon, "/containers/create", {
        "Image": "busybox", "Cmd": ["true"], "NetworkingConfig": {"EndpointsConfig": {
            "bridge": {"IPAMConfig": {"IPv4Address": "10.1.2.3"}}}}})
    assert r.status == 400
    assert r.json()["message"] == ("user specified IP address is supported on user defined "
                                   "networks only")


def test_prune_and_events(client, daemon):
    since = time.time()
    keep = client.networks.create("prune-keep", labels={"keep": "1"})
    gone = client.networks.create("prune-gone")
    used = client.networks.create("prune-used")
    c = client.containers.create("busybox", ["true"], network="prune-used")
    try:
        result = client.networks.prune(filters={"label!": "keep=1"})
        assert "prune-gone" in result["NetworksDeleted"]
        assert "prune-keep" not in result["NetworksDeleted"]
        assert "prune-used" not in result["NetworksDeleted"]
    finally:
        c.remove(force=True)
        keep.remove()
        used.remove()
    events = list(client.events(since=since, until=time.time() + 1, decode=True,
                                filters={"type": "network"}))
    actions = {(e["Action"], e["Actor"]["Attributes"].get("name")) for e in events}
    assert ("create", "prune-gone") in actions and ("destroy", "prune-gone") in actions
    assert gone.id not in [n.id for n in client.networks.list()]


def test_legacy_links_on_the_default_bridge(client, docker_cli):
    db = client.containers.run("busybox", ["sleep", "60"], detach=True, name="link-db",
                               environment={"SECRET": "s3"}, ports={"5432/tcp": None})
    try:
        db.reload()
        ip = db.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        out = docker_cli("run", "--rm", "--link", "link-db:dbalias", "busybox", "sh", "-c",
                         "cat /etc/hosts; env")
        text = out.stdout.decode()
        assert out.returncode == 0, out.stderr
        assert f"{ip}\tdbalias {db.id[:12]} link-db" in text
        assert f"DBALIAS_PORT_5432_TCP=tcp://{ip}:5432" in text
        assert f"DBALIAS_PORT=tcp://{ip}:5432" in text
        assert "DBALIAS_ENV_SECRET=s3" in text and "DBALIAS_NAME=/" in text
        db.stop(timeout=0)
        out = docker_cli("run", "--rm", "--link", "link-db:dbalias", "busybox", "true")
        assert out.returncode != 0
        assert b"Cannot link to a non running container: /link-db AS /" in out.stderr
    finally:
        db.remove(force=True)


def test_a_link_names_its_child_as_dockerds_link_index_does(client, daemon):
    """A link registers `/parent/alias` for its child, by ID: ps lists it among the
    child's names, inspect shows HostConfig.Links as `/child:/parent/alias`, the
    name finds the child (even after the parent's rename), it follows the child
    across a rename of its own, and `rm --link` removes it (moby's
    TestLinksContainerNames, TestRenameLinkedContainer, TestRenameContainerWithLinkedContainer)."""
    api = client.api
    run = lambda name, **kw: client.containers.run(  # noqa: E731
        "busybox", ["top"], detach=True, name=name, **kw)
    made = [run("lk-a0"), run("lk-db")]
    try:
        made.append(run("lk-b0", links={"lk-a0": "lk-a0"}))
        made.append(run("lk-app1", links={"lk-db": "/mysql"}))
        listed = api.containers(filters={"name": "lk-a0"})
        assert listed[0]["Names"] == ["/lk-a0", "/lk-b0/lk-a0"]
        assert api.inspect_container("lk-b0")["HostConfig"]["Links"] == ["/lk-a0:/lk-b0/lk-a0"]
        made[3].rename("lk-app2")
        assert api.inspect_container("lk-app2/mysql")["Id"] == made[1].id
        assert api.inspect_container("lk-app2")["HostConfig"]["Links"] == [
            "/lk-db:/lk-app2/mysql"]
        made[0].rename("lk-a1")  # the link stays the old child's, under its new name
        assert api.inspect_container("lk-b0")["HostConfig"]["Links"] == ["/lk-a1:/lk-b0/lk-a0"]
        made.append(run("lk-a0"))
        made[2].remove(force=True)
        made.append(run("lk-b0", links={"lk-a0": "lk-a0"}))
        assert api.inspect_container("lk-b0")["HostConfig"]["Links"] == ["/lk-a0:/lk-b0/lk-a0"]
        assert api.inspect_container("lk-b0/lk-a0")["Id"] == made[4].id
        r = request(daemon.sock, "DELETE", "/v1.44/containers/lk-b0/lk-a0?link=1")
        assert r.status == 204
        assert api.inspect_container("lk-b0")["HostConfig"]["Links"] is None
        assert api.containers(filters={"name": "lk-a0"})[0]["Names"] == ["/lk-a0"]
        r = request(daemon.sock, "DELETE", "/v1.44/containers/lk-a0?link=1")
        assert (r.status, r.json()["message"]) == (
            500, "Conflict, cannot remove the default link name of the container")
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass


def test_a_shared_network_namespace_shares_the_name_files(client):
    """--network container:X: X's /etc/hosts, /etc/resolv.conf and hostname, as
    dockerd's initializeNetworkingPaths gives them; X's own files are untouched."""
    host = client.containers.run("busybox", ["top"], detach=True, hostname="hx-host",
                                 extra_hosts={"extra.example": "192.0.2.7"})
    try:
        before = host.exec_run(["cat", "/etc/hosts"]).output
        out = client.containers.run("busybox", ["sh", "-c", "cat /etc/hosts; hostname"],
                                    network_mode=f"container:{host.id}", remove=True).decode()
        assert "192.0.2.7\textra.example" in out and out.split()[-1] == "hx-host"
        joiner = client.containers.run("busybox", ["top"], detach=True,
                                       network_mode=f"container:{host.id}")
        try:
            joiner.reload()
            host.reload()
            for key in ("HostsPath", "ResolvConfPath", "HostnamePath"):
                assert joiner.attrs[key] == host.attrs[key]
            assert joiner.attrs["Config"]["Hostname"] == "hx-host"
        finally:
            joiner.remove(force=True)
        assert host.exec_run(["cat", "/etc/hosts"]).output == before
    finally:
        host.remove(force=True)


def test_a_missing_network_fails_the_start_not_the_create(client, daemon):
    """As dockerd: create keeps the network by name, the start looks it up (a 404
    at create would make the docker CLI pull the image); created later, it works."""
    c = client.containers.create("busybox", ["true"], network="later-net")
    try:
        assert list(c.attrs["NetworkSettings"]["Networks"]) == ["later-net"]
        r = request(daemon.sock, "POST", f"/v1.44/containers/{c.id}/start")
        assert (r.status, r.json()["message"]) == (404, "network later-net not found")
        net = client.networks.create("later-net")
        try:
            c.start()
            assert c.wait()["StatusCode"] == 0
            c.reload()
            assert c.attrs["NetworkSettings"]["Networks"]["later-net"]["NetworkID"] == net.id
        finally:
            c.remove(force=True)
            net.remove()
    finally:
        try:
            c.remove(force=True)
        except docker.errors.NotFound:
            pass
    out = daemon.docker("run", "--rm", "--network", "no-such-net", "busybox", "true")
    assert out.returncode == 125
    assert out.stderr.decode().splitlines()[0] == (
        "docker: Error response from daemon: network no-such-net not found")


def _create(daemon, version, body):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", f"/{version}/containers/create",
                   body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("version, kept, warnings", [
    ("v1.43", "02:42:ac:11:00:99", []),
    ("v1.44", None, ["The container-wide MacAddress field is now deprecated. It should be "
                     "specified in EndpointsConfig instead."])])
def test_the_container_wide_mac_address_goes_to_the_main_endpoint(daemon, client, version,
                                                                   kept, warnings):
    """dockerd's handleMACAddressBC: Config.MacAddress (the SDK's mac_address) is the
    main network's endpoint address; kept in the config before API 1.44, dropped
    with a warning from 1.44."""
    r = _create(daemon, version, {"Image": "busybox", "Cmd": ["top"],
                                  "MacAddress": "02:42:ac:11:00:99"})
    assert r.status == 201, r.body
    assert r.json()["Warnings"] == warnings
    cid = r.json()["Id"]
    try:
        client.api.start(cid)
        doc = client.api.inspect_container(cid)
        assert doc["NetworkSettings"]["Networks"]["bridge"]["MacAddress"] == "02:42:ac:11:00:99"
        assert doc["Config"].get("MacAddress") == kept
        out = client.api.exec_start(client.api.exec_create(cid, ["cat",
                                                                 "/sys/class/net/eth0/address"]))
        assert out.decode().strip() == "02:42:ac:11:00:99"
    finally:
        client.api.remove_container(cid, force=True)


def test_container_wide_mac_address_refusals(daemon):
    r = _create(daemon, "v1.43", {"Image": "busybox", "MacAddress": "02:42:ac:11:00:99",
                                  "HostConfig": {"NetworkMode": "host"}})
    assert (r.status, r.json()["message"]) == (
        400, "conflicting options: mac-address and the network mode")
    r = _create(daemon, "v1.44", {"Image": "busybox", "MacAddress": "02:42:ac:11:00:99",
                                  "NetworkingConfig": {"EndpointsConfig": {
                                      "bridge": {"MacAddress": "02:42:ac:11:00:98"}}}})
    assert (r.status, r.json()["message"]) == (
        400, "the container-wide MAC address must match the endpoint-specific MAC address for "
             "the main network, or be left empty")


def test_links_on_a_user_defined_network_are_names_for_the_linker_alone(client, daemon):
    """As dockerd (checked against 20.10.24 on this machine): `--link target:alias`
    on a user-defined network is a DNS name of the target for the linking
    container only; no /etc/hosts entry, no HostConfig.Links, the endpoint's Links."""
    net = client.networks.create("un-links")
    made = []
    try:
        made.append(client.containers.run("busybox", ["top"], detach=True, name="un-target",
                                          network="un-links"))
        # the docker CLI puts the link in the endpoint's settings (EndpointsConfig.Links)
        out = daemon.docker("run", "-d", "--name", "un-linker", "--network", "un-links",
                            "--link", "un-target:alias", "busybox", "top")
        assert out.returncode == 0, out.stderr
        made.append(client.containers.get("un-linker"))
        ip = client.api.inspect_container("un-target")["NetworkSettings"]["Networks"][
            "un-links"]["IPAddress"]
        out = made[1].exec_run(["nslookup", "alias"]).output.decode()
        assert f"Address: {ip}" in out, out
        assert b"alias" not in made[1].exec_run(["cat", "/etc/hosts"]).output
        doc = client.api.inspect_container("un-linker")
        assert doc["HostConfig"]["Links"] is None
        assert doc["NetworkSettings"]["Networks"]["un-links"]["Links"] == ["un-target:alias"]
        other = client.containers.run("busybox", ["nslookup", "alias"], network="un-links",
                                      detach=True)
        made.append(other)
        other.wait()
        assert b"can't find alias: NXDOMAIN" in other.logs()  # for anyone else
    finally:
        for c in made:
            c.remove(force=True)
        net.remove()


def test_the_network_list_answers_with_a_trailing_slash(daemon):
    """dockerd routes GET /networks/ to the list as well (and no other route)."""
    plain = request(daemon.sock, "GET", "/networks").json()
    slash = request(daemon.sock, "GET", "/v1.44/networks/")
    assert slash.status == 200
    assert {n["Id"] for n in slash.json()} == {n["Id"] for n in plain}
    assert request(daemon.sock, "GET", "/volumes/").status == 404
