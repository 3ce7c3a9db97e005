"""Each driver kind: a registry where a new driver is one module and one line,
and the daemon's services use whatever the registry holds (shown with fakes)."""
from __future__ import annotations

import os
import stat

import pytest

from dockerd_py.config import DaemonConfig
from dockerd_py.daemon.networking.networks import NetworkService
from dockerd_py.errors import InvalidParameter
from dockerd_py.logdrivers.registry import LOG_DRIVERS, LogDrivers
from dockerd_py.network import drivers as network_drivers
from dockerd_py.network.drivers.base import NetworkDriver
from dockerd_py.network.firewall import BACKENDS, Recorder, choose_backend, new_firewall
from dockerd_py.network.model import Network, network_doc
from dockerd_py.runtime.crun import Crun
from dockerd_py.runtime.oci import OCIRuntime
from dockerd_py.runtime.registry import Runtimes, new_runtime
from dockerd_py.runtime.runc import Runc

from .fakes import container


def test_runtime_registry(tmp_path):
    assert isinstance(new_runtime("runc", str(tmp_path)), Runc)
    assert isinstance(new_runtime("crun", str(tmp_path)), Crun)
    added = new_runtime("kata", str(tmp_path), "/opt/kata/bin/kata-runtime")
    assert type(added) is OCIRuntime and added.path == "/opt/kata/bin/kata-runtime"
    runtimes = Runtimes({"kata": {"path": "/opt/kata"}}, "runc", str(tmp_path))
    assert {"runc", "crun", "kata"} <= set(runtimes.by_name)
    assert runtimes.get(None).name == "runc" and runtimes.get("kata").name == "kata"
    with pytest.raises(InvalidParameter, match="unknown or invalid runtime name: nope"):
        runtimes.get("nope")


def test_log_driver_registry():
    drivers = LogDrivers()
    assert drivers.names() == sorted(LOG_DRIVERS)
    with pytest.raises(InvalidParameter, match="no log driver named 'syslogx'"):
        drivers.of({"Type": "syslogx"})
    driver, policy = drivers.of({"Type": "json-file", "Config": {"max-size": "1k",
                                                                 "max-file": "2"}})
    assert driver.name == "json-file" and (policy.max_size, policy.max_files) == (1024, 2)
    assert drivers.of(None)[0].name == "json-file"


def test_firewall_registry_and_choice(tmp_path, monkeypatch):
    assert isinstance(new_firewall("recorder", "X"), Recorder)
    assert set(BACKENDS) == {"iptables-restore", "python-iptables", "recorder"}
    import asyncio
    for variant, expected in (("legacy", "python-iptables"), ("nf_tables", "iptables-restore")):
        fake = tmp_path / variant / "iptables"
        fake.parent.mkdir()
        fake.write_text(f"#!/bin/sh\necho 'iptables v1.8.9 ({variant})'\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
        assert asyncio.run(choose_backend("auto")) == expected
    assert asyncio.run(choose_backend("recorder")) == "recorder"


class RecordingDriver(NetworkDriver):
    """A network driver that only records: what a new driver module looks like."""
    name = "recording"
    uses_ipam = True

    def __init__(self, ctx):  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.calls: list[tuple[str, str]] = []

    async def join(self, net, ep, pid):  # type: ignore[no-untyped-def]
        self.calls.append(("join", f"{net.name}:{ep.ifname}:{ep.address}:{pid}"))

    async def leave(self, net, ep):  # type: ignore[no-untyped-def]
        self.calls.append(("leave", f"{net.name}:{self.host_ifname(ep)}"))


class NoDns:
    def wanted(self, ctr):  # type: ignore[no-untyped-def]
        return False

    async def start(self, ctr, pid):  # type: ignore[no-untyped-def]
        pass

    def stop(self, ctr):  # type: ignore[no-untyped-def]
        pass


async def test_a_new_network_driver_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(network_drivers.NETWORK_DRIVERS, "recording", RecordingDriver)
    cfg = DaemonConfig(data_root=str(tmp_path), instance_prefix="tz")
    from dockerd_py.daemon.networking.endpoints import Endpoints
    from dockerd_py.daemon.networking.ports import Ports
    from dockerd_py.daemon.store import Store
    from dockerd_py.network import ipam

    from .fakes import FakeEvents
    ctr = container()
    firewall = Recorder("TZ")
    service = NetworkService(cfg, Store(str(tmp_path / "db")), firewall, FakeEvents(),
                             lambda: [ctr])
    endpoints = Endpoints(cfg, service, FakeEvents(), Ports(cfg, firewall), NoDns())
    net = Network(network_doc("rec", "recording", "10.77.0.0/24", "10.77.0.1"),
                  pool=ipam.Pool("10.77.0.0/24", "10.77.0.1"))
    service.networks[net.id] = net
    ctr.host_config["NetworkMode"] = "rec"
    ctr.doc["NetworkSettings"]["Networks"] = endpoints.initial_settings("rec")
    sandbox = endpoints.sandbox(ctr)
    endpoints.allocate(ctr)
    await sandbox.plug(4242)
    assert service.members(net) == [ctr] and net.up
    await sandbox.unplug()
    driver = service.drivers["recording"]
    assert driver.calls[0] == ("join", "rec:eth0:10.77.0.2:4242")
    assert driver.calls[1][0] == "leave" and driver.calls[1][1].startswith("rec:tzv")
    assert not endpoints.uses_host_namespace("rec")
