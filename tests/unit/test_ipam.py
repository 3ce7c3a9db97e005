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
    assert ipam.mac_for("172.17.0.2") == "02:42:ac:11:00:02"


def test_ipv6_pool_allocates_after_the_gateway_and_takes_static_addresses():
    pool = ipam.Pool("fd11::/64")
    assert str(pool.gateway) == "fd11::1"
    assert [str(pool.allocate()) for _ in range(2)] == ["fd11::2", "fd11::3"]
    assert str(pool.reserve("fd11::99")) == "fd11::99"
    with pytest.raises(Conflict):
        pool.reserve("fd11::99")
    with pytest.raises(InvalidParameter):
        pool.reserve("10.0.0.1")  # a v4 address is no address of a v6 pool
    with pytest.raises(InvalidParameter):
        pool.reserve("fd12::1")


def test_ipv6_subnets_come_only_from_v6_pools_and_skip_routes(monkeypatch):
    monkeypatch.setattr(ipam, "host_routes", lambda: [ipaddress.IPv6Network("fd00:1::/64")])
    pools = ipam.pools_of([{"base": "172.80.0.0/16", "size": 24},
                           {"base": "fd00:1::/48", "size": 64}])
    assert str(ipam.first_free_subnet([], pools, version=6)) == "fd00:1:0:1::/64"
    assert str(ipam.first_free_subnet([], pools, version=4)) == "172.80.0.0/24"
    with pytest.raises(InvalidParameter, match="non-overlapping IPv6 address pool"):
        ipam.first_free_subnet([], None, version=6)  # Docker has no IPv6 default


def test_check_config_ipv6_as_dockerd_shows_it():
    taken = [ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv6Network("fd20::/64")]
    assert ipam.check_config({"Subnet": "fd21::/64"}, taken) == {"Subnet": "fd21::/64"}
    assert ipam.check_config({"Subnet": "fd21::/64", "Gateway": "fd21::fe"}, taken)["Gateway"] \
        == "fd21::fe"
    with pytest.raises(InvalidParameter, match="no matching subnet for gateway fd22::1"):
        ipam.check_config({"Subnet": "fd21::/64", "Gateway": "fd22::1"}, taken)
    with pytest.raises(Exception, match="Pool overlaps"):
        ipam.check_config({"Subnet": "fd20::/80"}, taken)
    with pytest.raises(InvalidParameter, match="invalid CIDR address: fd21::/129"):
        ipam.check_config({"Subnet": "fd21::/129"}, taken)

