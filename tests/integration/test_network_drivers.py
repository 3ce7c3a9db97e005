"""The shared network driver suite: for every driver in the registry, a container
on a network of that driver starts, sees the namespace and interfaces the driver
promises, reports them in inspect, and leaves nothing on the host when it goes."""
from __future__ import annotations

import os
import subprocess

import pytest

from dockerd_py.network.drivers import NETWORK_DRIVERS

from .rawhttp import request

DRIVERS = sorted(NETWORK_DRIVERS)


def host_links(prefix: str) -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
    return {n for n in names if n.startswith(prefix)}


@pytest.fixture
def network_of(daemon, client):  # type: ignore[no-untyped-def]
    """A network of the driver: the predefined one where there is one, else a new
    one (macvlan on a veth of the test's own as its parent)."""
    made, links = [], []

    def make(driver: str) -> dict:
        nets = request(daemon.sock, "GET", "/networks").json()
        found = [n for n in nets if n["Driver"] == driver and n["Name"] in
                 ("bridge", "host", "none")]
        if found:
            return found[0]
        options = {}
        if driver == "macvlan":
            parent = f"{daemon.prefix}p0"
            subprocess.run(["ip", "link", "add", parent, "type", "veth", "peer", "name",
                            f"{daemon.prefix}p1"], check=True)
            subprocess.run(["ip", "link", "set", parent, "up"], check=True)
            links.append(parent)
            options["parent"] = parent
        net = client.networks.create(f"suite-{driver}", driver=driver, options=options)
        made.append(net)
        return request(daemon.sock, "GET", f"/networks/{net.id}").json()
    yield make
    for net in made:
        net.remove()
    for link in links:
        subprocess.run(["ip", "link", "del", link], check=False)


def test_info_lists_the_registry(daemon):
    info = request(daemon.sock, "GET", "/info").json()
    assert sorted(info["Plugins"]["Network"]) == DRIVERS


@pytest.mark.parametrize("driver", DRIVERS)
def test_container_on_each_driver(daemon, client, network_of, driver):
    cls = NETWORK_DRIVERS[driver]
    net = network_of(driver)
    before = host_links(daemon.prefix)
    c = client.containers.run("busybox", ["sh", "-c", "cat /proc/net/dev; sleep 30"],
                              network_mode=net["Name"], detach=True)
    try:
        c.reload()
        pid = c.attrs["State"]["Pid"]
        shares_host = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
        assert shares_host == (cls.namespace == "host")
        endpoint = c.attrs["NetworkSettings"]["Networks"][net["Name"]]
        assert endpoint["NetworkID"] == net["Id"]
        inside = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-o", "-4",
                                 "addr", "show"], capture_output=True, text=True).stdout
        if cls.uses_ipam:
            subnet = net["IPAM"]["Config"][0]["Subnet"]
            assert endpoint["IPAddress"] and endpoint["Gateway"]
            assert f"{endpoint['IPAddress']}/{subnet.split('/')[1]}" in inside
        else:
            assert endpoint["IPAddress"] == ""
        if cls.namespace == "private" and not cls.uses_ipam:
            assert inside.split("\n")[0].split()[1] == "lo" and len(inside.strip().splitlines()) == 1
        inspect = request(daemon.sock, "GET", f"/networks/{net['Id']}").json()
        assert c.id in inspect["Containers"]
    finally:
        c.remove(force=True)
    assert host_links(daemon.prefix) == before
    inspect = request(daemon.sock, "GET", f"/networks/{net['Id']}").json()
    assert c.id not in inspect["Containers"]
