"""Docker's types declared once (dockerd_py/apitypes): what Go's encoding/json
writes for them, and the request checker's tables derived from them."""
from __future__ import annotations

import pytest

from dockerd_py.apitypes import container, network
from dockerd_py.errors import InvalidParameter
from dockerd_py.server import schemas
from dockerd_py.server.http import check_types


def test_config_marshals_in_go_order_with_omitempty() -> None:
    doc = container.CONFIG.marshal({"Cmd": ["sh"], "Image": "busybox", "Shell": [],
                                    "StopTimeout": 0, "Healthcheck": {"Test": ["NONE"]}})
    assert list(doc) == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                         "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd",
                         "Healthcheck", "Image", "Volumes", "WorkingDir", "Entrypoint",
                         "OnBuild", "Labels", "StopTimeout"]
    assert doc["Hostname"] == "" and doc["Tty"] is False and doc["Env"] is None
    assert doc["StopTimeout"] == 0          # *int: a zero behind a pointer is kept
    assert "Shell" not in doc               # an empty slice with omitempty is left out
    assert doc["Healthcheck"] == {"Test": ["NONE"]}  # its zero durations are omitempty


def test_a_stored_null_marshals_as_go_zero() -> None:
    doc = container.CONFIG.marshal({"Hostname": None, "AttachStdin": None})
    assert doc["Hostname"] == "" and doc["AttachStdin"] is False


def test_health_config_leaves_out_unset_durations() -> None:
    assert container.HEALTH_CONFIG.marshal(
        {"Test": ["CMD", "true"], "Interval": 1_000_000_000, "StartPeriod": None}) == {
        "Test": ["CMD", "true"], "Interval": 1_000_000_000}


def test_host_config_defaults_and_embedded_resources() -> None:
    doc = container.HOST_CONFIG.marshal({"Memory": 1 << 20, "Init": False})
    keys = list(doc)
    assert keys.index("Isolation") < keys.index("CpuShares") < keys.index("MaskedPaths")
    assert doc["NetworkMode"] == "bridge" and doc["ShmSize"] == 64 << 20
    assert doc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert doc["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert doc["ConsoleSize"] == [0, 0] and doc["OomKillDisable"] is False
    assert doc["PidsLimit"] is None and doc["MemorySwappiness"] is None
    assert doc["Init"] is False             # *bool: false is set, and shown
    for omitted in ("Mounts", "Tmpfs", "Sysctls", "Annotations", "StorageOpt", "KernelMemory"):
        assert omitted not in doc


def test_nested_types_marshal_the_same_way() -> None:
    doc = container.HOST_CONFIG.marshal({
        "RestartPolicy": {"Name": "always"},
        "Mounts": [{"Type": "volume", "Target": "/data", "ReadOnly": False,
                    "VolumeOptions": {"NoCopy": False, "Labels": {}}}],
        "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})
    assert doc["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert doc["Mounts"] == [{"Type": "volume", "Target": "/data", "VolumeOptions": {}}]
    assert doc["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


def test_unknown_fields_of_a_newer_client_are_kept_when_asked() -> None:
    doc = container.HOST_CONFIG.marshal({"FutureField": 1}, keep_unknown=True)
    assert doc["FutureField"] == 1 and list(doc)[-1] == "FutureField"
    assert "FutureField" not in container.HOST_CONFIG.marshal({"FutureField": 1})


def test_endpoint_settings_in_go_order() -> None:
    doc = network.ENDPOINT_SETTINGS.marshal({"NetworkID": "n1", "Aliases": ["a"]})
    assert list(doc) == ["IPAMConfig", "Links", "Aliases", "MacAddress", "NetworkID",
                         "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway",
                         "GlobalIPv6Address", "GlobalIPv6PrefixLen", "DriverOpts", "DNSNames"]
    assert doc["IPAMConfig"] is None and doc["IPPrefixLen"] == 0
    ipam = network.ENDPOINT_SETTINGS.marshal({"IPAMConfig": {"IPv4Address": "10.0.0.2"}})
    assert ipam["IPAMConfig"] == {"IPv4Address": "10.0.0.2"}


def test_the_checker_tables_come_from_the_declarations() -> None:
    assert schemas.CONTAINER_CONFIG == container.CONFIG.schema()
    assert schemas.HOST_CONFIG == container.HOST_CONFIG.schema()
    assert schemas.CREATE_REQUEST["HostConfig"]["Mounts"] == [container.MOUNT.schema()]
    assert set(schemas.UPDATE_REQUEST) == container.RESOURCES.names | {"RestartPolicy"}


@pytest.mark.parametrize("body, text", [
    ({"HostConfig": {"Memory": "1g"}},
     "json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64"),
    ({"HostConfig": {"Mounts": [{"ReadOnly": "yes"}]}},
     "json: cannot unmarshal string into Go struct field HostConfig.Mounts.ReadOnly of type bool"),
    ({"Healthcheck": {"Retries": []}},
     "json: cannot unmarshal array into Go struct field Healthcheck.Retries of type int64"),
    ({"NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": "a"}}}},
     "json: cannot unmarshal string into Go struct field "
     "NetworkingConfig.EndpointsConfig.Aliases of type []string"),
])
def test_wrong_types_get_go_texts(body: dict, text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        check_types(body, schemas.CREATE_REQUEST, "")
    assert str(caught.value) == f"invalid JSON: {text}"


def test_network_resource_in_go_order() -> None:
    from dockerd_py.apitypes.network import NETWORK_RESOURCE
    doc = NETWORK_RESOURCE.marshal({
        "Id": "n", "Name": "web", "Driver": "bridge", "Containers": {},
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24", "Gateway": ""}]}})
    assert list(doc) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM",
                         "Internal", "Attachable", "Ingress", "ConfigFrom", "ConfigOnly",
                         "Containers", "Options", "Labels"]
    assert doc["IPAM"] == {"Driver": "default", "Options": None,
                           "Config": [{"Subnet": "10.9.0.0/24"}]}
    assert doc["ConfigFrom"] == {"Network": ""}


def test_volume_in_go_order_with_usage_when_asked() -> None:
    from dockerd_py.apitypes.volume import VOLUME
    doc = VOLUME.marshal({"Name": "v", "Driver": "local", "Mountpoint": "/m", "Scope": "local",
                          "CreatedAt": "2026-01-01T00:00:00Z", "Labels": {}, "Options": None})
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                         "Scope"]
    assert doc["Options"] is None and doc["Labels"] == {}
    used = VOLUME.marshal(dict(doc, UsageData={"Size": 0, "RefCount": 0}))
    assert used["UsageData"] == {"RefCount": 0, "Size": 0}  # a zero behind a pointer: shown


def test_network_and_volume_request_tables_come_from_the_declarations() -> None:
    from dockerd_py.apitypes.network import NETWORK_CREATE
    from dockerd_py.apitypes.volume import VOLUME_CREATE
    assert schemas.NETWORK_CREATE == NETWORK_CREATE.schema()
    assert schemas.VOLUME_CREATE == VOLUME_CREATE.schema()
    with pytest.raises(InvalidParameter) as caught:
        check_types({"IPAM": {"Config": [{"Subnet": 10}]}}, schemas.NETWORK_CREATE, "")
    assert str(caught.value) == ("invalid JSON: json: cannot unmarshal number into Go struct "
                                 "field IPAM.Config.Subnet of type string")


def test_container_json_in_go_order_with_open_host_config() -> None:
    doc = container.CONTAINER_JSON.marshal({
        "Id": "c", "Name": "/web", "State": {"Status": "running", "Running": True,
                                             "Health": {"Status": "healthy"}},
        "HostConfig": {"NetworkMode": "host", "FutureField": 1},
        "GraphDriver": {"Name": "overlay2", "Data": {"MergedDir": "/m"}},
        "Mounts": [], "Config": {"Image": "busybox"},
        "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "n", "IPAddress": "10.0.0.2"}}}})
    assert list(doc) == ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                         "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount",
                         "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile",
                         "ExecIDs", "HostConfig", "GraphDriver", "Mounts", "Config",
                         "NetworkSettings"]
    assert doc["State"]["Health"] == {"Status": "healthy", "FailingStreak": 0, "Log": None}
    assert doc["HostConfig"]["FutureField"] == 1  # a newer client's field, kept
    assert doc["GraphDriver"] == {"Data": {"MergedDir": "/m"}, "Name": "overlay2"}
    assert list(doc["NetworkSettings"])[-1] == "Networks"
    assert doc["NetworkSettings"]["Networks"]["bridge"]["IPPrefixLen"] == 0
    sized = container.CONTAINER_JSON.marshal({"SizeRw": 0, "SizeRootFs": 10})
    assert (sized["SizeRw"], sized["SizeRootFs"]) == (0, 10)  # *int64: 0 is shown when asked


def test_a_new_container_state_and_network_settings() -> None:
    from dockerd_py.daemon.containers.record import network_settings_shape, new_state
    assert new_state() == {"Status": "created", "Running": False, "Paused": False,
                           "Restarting": False, "OOMKilled": False, "Dead": False, "Pid": 0,
                           "ExitCode": 0, "Error": "", "StartedAt": "0001-01-01T00:00:00Z",
                           "FinishedAt": "0001-01-01T00:00:00Z"}
    settings = network_settings_shape()
    assert settings["Ports"] == {} and settings["Networks"] == {}
    assert settings["SecondaryIPAddresses"] is None
