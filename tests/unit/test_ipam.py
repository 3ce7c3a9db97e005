import ipaddress

import pytest

from dockerd_py.errors import Conflict, InvalidParameter
from dockerd_py.network import ipam


def test_first_free_subnet_skips_taken_and_routed(monkeypatch):
    monkeypatch.setattr(ipam, "host_routes", lambda: [ipaddress.IPv4Network("172.17.0.0/16")])
    taken = [ipaddress.IPv4Network("172.18.0.0/16")]
    assert str(ipam.first_free_subnet(taken)) == "172.19.0.0/16"
    monkeypatch.setattr(ipam, "host_routes", lambda: [ipaddress.IPv4Network("172.16.0.0/12")])
    assert str(ipam.first_free_subnet([])) == "192.168.0.0/20"


def test_pool_allocates_in_order_and_reuses():
    pool = ipam.Pool("10.1.0.0/29")
    got = [str(pool.allocate()) for _ in range(5)]
    assert got == ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]
    with pytest.raises(Conflict):
        pool.allocate()
    pool.release("10.1.0.3")
    assert str(pool.allocate()) == "10.1.0.3"


def test_pool_range_and_gateway():
    pool = ipam.Pool("10.2.0.0/16", "10.2.0.1", "10.2.5.0/24")
    assert str(pool.allocate()).startswith("10.2.5.")
    with pytest.raises(InvalidParameter):
        ipam.Pool("10.3.0.0/24", "10.4.0.1")
    assert ipam.mac_for(ipaddress.IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"
