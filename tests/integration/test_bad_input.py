"""Bad requests get Docker's status codes and messages, and the daemon keeps serving."""
from __future__ import annotations

import json

import pytest

from .rawhttp import request

JSON = {"Content-Type": "application/json"}


def create(daemon, body: bytes, headers=None, query: str = ""):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", "/v1.44/containers/create" + query, body=body,
                   headers=headers if headers is not None else JSON)


def still_serving(daemon) -> None:  # type: ignore[no-untyped-def]
    assert request(daemon.sock, "GET", "/_ping").status == 200


@pytest.mark.parametrize("body", [b'{"Image":', b'{"Image": "busybox"', b"{not json}", b"[1,"])
def test_malformed_json(daemon, body):
    r = create(daemon, body)
    assert r.status == 400
    assert r.json()["message"].startswith("invalid JSON")
    still_serving(daemon)


@pytest.mark.parametrize("field,value,gotype", [
    ("Env", "A=1", "[]string"), ("Cmd", 5, "[]string"), ("Tty", "yes", "bool"),
    ("Labels", ["a"], "map[string]string")])
def test_wrong_types_name_the_field(daemon, field, value, gotype):
    r = create(daemon, json.dumps({"Image": "busybox", field: value}).encode())
    assert r.status == 400
    message = r.json()["message"]
    assert message.startswith("invalid JSON: json: cannot unmarshal")
    assert field in message and gotype in message
    still_serving(daemon)


def test_wrong_type_in_host_config(daemon):
    r = create(daemon, json.dumps({"Image": "busybox",
                                   "HostConfig": {"Memory": "1g"}}).encode())
    assert r.status == 400
    assert "HostConfig.Memory" in r.json()["message"]


def test_unknown_fields_are_ignored(daemon, client):
    r = create(daemon, json.dumps({"Image": "busybox", "Cmd": ["true"], "Future": 1,
                                   "HostConfig": {"FutureToo": {"x": 1}}}).encode())
    assert r.status == 201, r.body
    client.containers.get(r.json()["Id"]).remove()


def test_wrong_content_type(daemon):
    r = create(daemon, b'{"Image": "busybox"}', headers={"Content-Type": "text/plain"})
    assert r.status == 400
    assert r.json()["message"] == ("unsupported Content-Type header (text/plain): must be "
                                   "'application/json'")


@pytest.mark.parametrize("body, words", [
    (b"{invalid}", "invalid character 'i' looking for beginning of object key string"),
    (b'{"Image": "busybox",}', "invalid character '}' looking for beginning of object key "
                              "string"),
    (b'{"Image": NaN}', "invalid character 'N' looking for beginning of value"),
    (b'{"Image": "busybox"', "unexpected EOF"),
])
def test_malformed_json_gets_gos_words(daemon, body, words):
    r = create(daemon, body)
    assert r.status == 400
    assert r.json()["message"] == f"invalid JSON: {words}"


def test_trailing_document(daemon):
    r = create(daemon, b'{"Image": "busybox"} {"Image": "busybox"}')
    assert r.status == 400
    assert r.json()["message"] == "unexpected content after JSON"


@pytest.mark.parametrize("body", [b"{}", b""])
def test_empty_config(daemon, body):
    r = create(daemon, body, headers=JSON if body else {})
    assert r.status == 400
    assert r.json()["message"] == "config cannot be empty in order to create a container"


def test_unknown_image_is_404_no_such_image(daemon):
    r = create(daemon, b'{"Image": "nosuchimage"}')
    assert r.status == 404
    assert r.json()["message"] == "No such image: nosuchimage:latest"


def test_invalid_reference(daemon):
    r = create(daemon, b'{"Image": "Not/Valid"}')
    assert r.status == 400
    assert "must be lowercase" in r.json()["message"]


def test_duplicate_name_conflict_text(daemon, client):
    first = client.containers.create("busybox", ["true"], name="dupname")
    try:
        r = create(daemon, b'{"Image": "busybox", "Cmd": ["true"]}', query="?name=dupname")
        assert r.status == 409
        assert r.json()["message"] == (
            'Conflict. The container name "/dupname" is already in use by container '
            f'"{first.id}". You have to remove (or rename) that container to be able to '
            "reuse that name.")
    finally:
        first.remove()


def test_invalid_name(daemon):
    r = create(daemon, b'{"Image": "busybox"}', query="?name=a/b")
    assert r.status == 400
    assert r.json()["message"].startswith("Invalid container name (a/b)")


def test_no_command(daemon, client):
    try:
        r = request(daemon.sock, "POST", "/images/create?fromSrc=-&repo=emptycmd&tag=1",
                    body=b"\0" * 1024, headers={"Content-Type": "application/x-tar"})
        assert r.status == 200, r.body
        r = create(daemon, b'{"Image": "emptycmd:1"}')
        assert r.status == 400
        assert r.json()["message"] == "no command specified"
    finally:
        client.images.remove("emptycmd:1")


@pytest.mark.parametrize("hostconfig,message", [
    ({"Memory": 1}, "Minimum memory limit allowed is 6MB"),
    ({"RestartPolicy": {"Name": "sometimes"}},
     "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
     "'on-failure', or 'unless-stopped'"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}},
     "invalid restart policy: maximum retry count can only be used with 'on-failure'"),
    ({"CpusetCpus": "1-9223372036854775807"}, "Invalid value 1-9223372036854775807 for cpuset cpus"),
    ({"NanoCpus": 10**15}, "range of CPUs is from 0.01"),
    ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
     "can't create 'AutoRemove' container with restart policy"),
    ({"CapAdd": ["NOT_A_CAP"]}, 'unknown capability: "CAP_NOT_A_CAP"'),
    ({"Sysctls": {"kernel.core_pattern": "|/x"}}, "sysctl 'kernel.core_pattern' is not allowed"),
    ({"Sysctls": {"net.ipv4.ip_forward": "1+kernel.core_pattern=x"}}, "'+' and '=' are not allowed"),
    ({"Links": ["a:b:c"]}, "bad format for links: a:b:c"),
    ({"Links": [""]}, "empty string specified for links"),
    ({"Links": ["nosuch:x"]}, "could not get container for nosuch: No such container: nosuch"),
])
def test_invalid_host_config(daemon, hostconfig, message):
    r = create(daemon, json.dumps({"Image": "busybox", "Cmd": ["true"],
                                   "HostConfig": hostconfig}).encode())
    assert r.status == 400, r.body
    assert message in r.json()["message"]
    still_serving(daemon)


def test_huge_body_gets_json_413(daemon):
    body = b'{"Image": "busybox", "Env": ["' + b"x" * (65 << 20) + b'"]}'
    r = create(daemon, body)
    assert r.status == 413
    assert "message" in r.json()
    still_serving(daemon)


def test_malformed_filters(daemon):
    r = request(daemon.sock, "GET", "/containers/json?filters=garb1age%7D")
    assert r.status == 400
    assert "message" in r.json()
    r = request(daemon.sock, "GET", '/containers/json?filters={"nosuchfilter":["x"]}')
    assert r.status == 400
    assert r.json()["message"] == "invalid filter 'nosuchfilter'"
    for path in ("/containers/prune", "/images/prune"):
        r = request(daemon.sock, "POST", path + '?filters={"until":["xyz"]}')
        assert r.status == 400
        assert r.json()["message"] == ("invalid value for 'until' filter: failed to parse value "
                                       'as time or duration: "xyz"')


def test_container_state_errors(daemon, client):
    c = client.containers.create("busybox", ["sleep", "60"])
    try:
        r = request(daemon.sock, "POST", f"/containers/{c.id}/kill")
        assert r.status == 409
        assert "is not running" in r.json()["message"]
        r = request(daemon.sock, "POST", f"/containers/{c.id}/kill?signal=NOPE")
        assert r.status == 400
        assert r.json()["message"] == "Invalid signal: NOPE"
        c.start()
        r = request(daemon.sock, "POST", f"/containers/{c.id}/start")
        assert r.status == 304
        r = request(daemon.sock, "DELETE", f"/containers/{c.id}")
        assert r.status == 409
        assert "container is running" in r.json()["message"]
        r = request(daemon.sock, "POST", f"/containers/{c.id}/wait?condition=whenever")
        assert r.status == 400
    finally:
        c.remove(force=True)
    r = request(daemon.sock, "POST", f"/containers/{c.id}/start")
    assert r.status == 404
    assert r.json()["message"] == f"No such container: {c.id}"


@pytest.mark.parametrize("version, ipc", [("v1.44", "private"), ("v1.39", "shareable")])
def test_empty_fields_get_dockerds_defaults(daemon, client, version, ipc):
    """The Go client sends "" and 0 for what it leaves unset: dockerd's
    adaptContainerSettings fills them in (the IPC mode by API version)."""
    body = json.dumps({"Image": "busybox", "Cmd": ["true"], "HostConfig": {
        "IpcMode": "", "ShmSize": 0, "CgroupnsMode": "", "OomKillDisable": None}}).encode()
    r = request(daemon.sock, "POST", f"/{version}/containers/create", body, JSON)
    assert r.status == 201, r.body
    hc = client.api.inspect_container(r.json()["Id"])["HostConfig"]
    try:
        assert hc["IpcMode"] == ipc and hc["ShmSize"] == 64 << 20
        assert hc["CgroupnsMode"] in ("host", "private") and hc["OomKillDisable"] is False
    finally:
        client.api.remove_container(r.json()["Id"])



UNKNOWN_PLATFORM = '"foobar": unknown operating system or architecture: invalid argument'


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1.44/images/create?fromImage=busybox&tag=latest&platform=foobar"),
    ("POST", "/v1.44/images/create?fromSrc=-&platform=foobar"),
    ("POST", "/v1.44/build?platform=foobar"),
    ("POST", "/v1.44/containers/create?platform=foobar")])
def test_an_unknown_platform_is_containerds_parse_error(daemon, method, path):
    """containerd's platforms.Parse, as dockerd answers it before anything starts
    (moby's TestImagePullPlatformInvalid, TestBuildPlatformInvalid)."""
    r = request(daemon.sock, method, path, body=b'{"Image": "busybox"}' if "containers" in path
                else b"", headers=JSON if "containers" in path else {})
    assert (r.status, r.json()["message"]) == (400, UNKNOWN_PLATFORM)


@pytest.mark.parametrize("platform", ["linuxdifferentos/amd64", "linux/amd64differentarch"])
def test_a_local_image_of_another_platform_is_not_found(daemon, platform):
    """Create with a platform the local image is not for: 404, so that the CLI
    pulls (moby's TestCreateDifferentPlatform)."""
    r = create(daemon, b'{"Image": "busybox:latest"}', query=f"?platform={platform}")
    actual = request(daemon.sock, "GET", "/images/busybox:latest/json").json()
    assert (r.status, r.json()["message"]) == (
        404, "image with reference busybox:latest was found but does not match the specified "
             f"platform: wanted {platform}, actual: linux/{actual['Architecture']}")
    r = create(daemon, b'{"Image": "busybox:latest"}',
               query=f"?platform=linux/{actual['Architecture']}")
    assert r.status == 201
    request(daemon.sock, "DELETE", f"/containers/{r.json()['Id']}")


def test_field_names_match_in_any_case_as_gos_decoder(daemon, client):
    """Go's decoder matches a key to a field case-insensitively (an exact match
    first, the later of two keys winning): the SDK sends CPURealtimeRuntime."""
    body = {"image": "busybox", "CMD": ["true"], "HostConfig": {
        "memory": 8 << 20, "CPURealtimePeriod": 1000000, "cpushares": 256,
        "CpuShares": 512, "Labels-not-a-field": "x"}, "labels": {"Mixed": "Case"}}
    r = create(daemon, json.dumps(body).encode())
    assert r.status == 201, r.body
    doc = client.api.inspect_container(r.json()["Id"])
    client.api.remove_container(r.json()["Id"])
    assert (doc["Config"]["Image"], doc["Config"]["Cmd"]) == ("busybox", ["true"])
    assert doc["Config"]["Labels"] == {"Mixed": "Case"}  # a map's keys stay as sent
    hc = doc["HostConfig"]
    assert (hc["Memory"], hc["CpuRealtimePeriod"], hc["CpuShares"]) == (8 << 20, 1000000, 512)
    r = create(daemon, json.dumps({"Image": "busybox", "hostconfig": {"memory": "x"}}).encode())
    assert (r.status, r.json()["message"]) == (
        400, "invalid JSON: json: cannot unmarshal string into Go struct field "
             "CreateRequest.HostConfig.Memory of type int64")
