"""Client values that must never reach the kernel unchecked or earn a 500 (the
reliability findings 2, 10, 11 and 12): each answers Docker's 4xx and text, and
the daemon keeps serving. The fuzz test replays the same values over every route."""
from __future__ import annotations

import json
import threading

import pytest

from .daemonctl import Daemon
from .rawhttp import request

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 100_000
HUGE_DIGITS = "1" * 5000


def post(d: Daemon, path: str, body: dict | bytes) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    out = request(d.sock, "POST", path, data, JSON)
    return out.status, (out.json().get("message", "") if out.status >= 400 else "")


def test_deeply_nested_json(daemon: Daemon) -> None:
    assert post(daemon, "/containers/create", DEEP) == (
        400, "invalid JSON: invalid character '[' exceeded max depth")


def test_integer_of_5000_digits(daemon: Daemon) -> None:
    body = ('{"Image": "busybox", "HostConfig": {"Memory": ' + HUGE_DIGITS + "}}").encode()
    assert post(daemon, "/containers/create", body) == (
        400, f"invalid JSON: json: cannot unmarshal number {HUGE_DIGITS} into Go struct "
             "field CreateRequest.HostConfig.Memory of type int64")
    # in a field nobody reads it is ignored, as Go's decoder ignores it
    body = ('{"Image": "busybox", "Cmd": ["true"], "Nope": ' + HUGE_DIGITS + "}").encode()
    status, _ = post(daemon, "/containers/create", body)
    assert status == 201


@pytest.mark.parametrize("field", ["Memory", "MemorySwap", "PidsLimit"])
def test_resources_beyond_int64(daemon: Daemon, field: str) -> None:
    body = ('{"Image": "busybox", "HostConfig": {"' + field + '": 9223372036854775808}}').encode()
    assert post(daemon, "/containers/create", body) == (
        400, "invalid JSON: json: cannot unmarshal number 9223372036854775808 into Go struct "
             f"field CreateRequest.HostConfig.{field} of type int64")


@pytest.mark.parametrize("config,message", [
    ({"HostConfig": {"CpuShares": -1}}, "shares: invalid argument"),
    ({"HostConfig": {"CpuShares": 2**63 - 1}}, "the maximum allowed cpu-shares is 262144"),
    ({"WorkingDir": "rel/dir"},
     "the working directory 'rel/dir' is invalid, it needs to be an absolute path"),
    ({"StopSignal": "SIGNOPE"}, "Invalid signal: SIGNOPE"),
    ({"HostConfig": {"ExtraHosts": ["nocolon"]}}, 'bad format for add-host: "nocolon"'),
    # dockerd's validateContainerConfig (opts.ValidateEnv, validateHealthCheck)
    ({"Env": ["A=1", ""]}, "invalid environment variable: "),
    ({"Env": ["="]}, "invalid environment variable: ="),
    ({"Env": ["=foo"]}, "invalid environment variable: =foo"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Interval": -1}},
     "Interval in Healthcheck cannot be less than 1ms"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Timeout": 999}},
     "Timeout in Healthcheck cannot be less than 1ms"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "Retries": -1}},
     "Retries in Healthcheck cannot be negative"),
    ({"Healthcheck": {"Test": ["CMD", "true"], "StartPeriod": -5}},
     "StartPeriod in Healthcheck cannot be less than 1ms"),
    # what dockerd's create refuses as invalid parameters (moby's create tests)
    ({"HostConfig": {"Links": ["no-such-container"]}},
     "could not get container for no-such-container: No such container: no-such-container"),
    ({"HostConfig": {"VolumesFrom": ["nosuchcontainer"]}}, "No such container: nosuchcontainer"),
    ({"HostConfig": {"Tmpfs": {"//": ""}}}, 'invalid mount config for type "tmpfs": invalid '
                                          "specification: destination can't be '/'"),
    # validateHostConfig
    ({"HostConfig": {"Isolation": "hyperv"}}, "invalid isolation 'hyperv' on linux"),
    ({"HostConfig": {"Annotations": {"": "x"}}},
     "invalid Annotations: the empty string is not permitted as an annotation key"),
])
def test_create_refuses_what_start_would_fail_on(daemon: Daemon, config: dict,
                                                 message: str) -> None:
    assert post(daemon, "/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                               **config}) == (400, message)


def test_auth_with_a_number_for_a_name_dials_nothing(daemon: Daemon) -> None:
    assert post(daemon, "/auth", {"username": 1}) == (
        400, "invalid JSON: json: cannot unmarshal number into Go struct field "
             "AuthConfig.username of type string")


@pytest.fixture
def box(daemon: Daemon):  # type: ignore[no-untyped-def]
    api = daemon.api()
    ctr = api.create_container("busybox", ["sleep", "600"])
    api.start(ctr)
    made = api.exec_create(ctr, ["sh", "-c", "mkdir -p /d/sub && echo hi > /d/sub/f && "
                                             "ln -s /d /link"])["Id"]
    api.exec_start(made)  # done before the test looks
    yield ctr["Id"]
    api.remove_container(ctr, force=True)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path,message", [
    ("/etc/passwd%00x", "invalid argument"),
    ("a/" * 3000, "file name too long"),
    ("x" * 300, "file name too long"),
])
def test_archive_paths_the_kernel_refuses(daemon: Daemon, box: str, method: str, path: str,
                                          message: str) -> None:
    out = request(daemon.sock, method, f"/containers/{box}/archive?path={path}")
    assert out.status == 400
    if method == "GET":
        assert out.json()["message"] == message
    out = request(daemon.sock, "PUT", f"/containers/{box}/archive?path={path}", b"",
                  {"Content-Type": "application/x-tar"})
    assert out.status == 400


def test_archive_symlink_loop(daemon: Daemon) -> None:
    api = daemon.api()
    ctr = api.create_container("busybox", ["sleep", "600"])
    api.start(ctr)
    try:
        api.exec_start(api.exec_create(ctr, ["sh", "-c", "ln -s /a /b; ln -s /b /a"])["Id"])
        out = request(daemon.sock, "GET", f"/containers/{ctr['Id']}/archive?path=/a/x")
        assert (out.status, out.json()["message"]) == (400, "too many levels of symbolic links")
    finally:
        api.remove_container(ctr, force=True)


@pytest.mark.parametrize("path", ["/link/", "/link/."])
def test_cp_through_a_symlink_with_a_trailing_slash(daemon: Daemon, box: str,
                                                    path: str) -> None:
    """dockerd follows the link inside the container: the copy holds the directory."""
    import io
    import tarfile
    stream, stat = daemon.api().get_archive(box, path)
    names = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).getnames()
    base = "link" if path.endswith("/") else "."
    assert sorted(names) == sorted([base, f"{base}/sub", f"{base}/sub/f"])
    assert stat["mode"] & (1 << 31)  # a directory, not the link
    assert stat["linkTarget"] == ""


def test_inspect_of_a_name_being_created_is_404(daemon: Daemon) -> None:
    """While a create holds the name and has not made the container yet."""
    statuses: set[int] = set()
    stop = threading.Event()

    def inspect() -> None:
        while not stop.is_set():
            statuses.add(request(daemon.sock, "GET", "/containers/racing-name/json").status)
    reader = threading.Thread(target=inspect)
    reader.start()
    api = daemon.api()
    try:
        for _ in range(10):
            api.create_container("busybox", ["true"], name="racing-name")
            api.remove_container("racing-name")
    finally:
        stop.set()
        reader.join()
    assert statuses <= {200, 404}, statuses


def test_init_layer_records_go_with_their_image(workdir, rootfs_tar) -> None:  # type: ignore[no-untyped-def]
    """A container of an image makes the image's init layer; removing the image
    removes its init layer's record too (they were left behind)."""
    from .conftest import busybox_daemon
    with busybox_daemon(workdir, rootfs_tar, "initlayer") as d:
        api = d.api()
        ctr = api.create_container("busybox", ["sh", "-c", "echo new > /new"])
        api.start(ctr)
        api.wait(ctr)
        image = api.commit(ctr, repository="initlayer", tag="1")["Id"]
        api.remove_container(ctr)
        child = api.create_container(image, ["true"])
        markers = d.data_root / "image" / "overlay2" / "layerdb" / "init"
        before = set(p.name for p in markers.iterdir())
        api.remove_container(child)
        api.remove_image(image)
        after = set(p.name for p in markers.iterdir())
        assert len(before - after) == 1, (before, after)  # the committed image's init record
