"""Volumes as the Docker SDK and CLI use them: named and anonymous, copy-up,
--volumes-from, lifetimes, the API's answers, and what survives a crash."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import docker
import pytest

from dockerd_py.volumes.drivers import VOLUME_DRIVERS

from .rawhttp import request


def post_json(daemon, path: str, doc: dict):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", path, body=json.dumps(doc).encode(),
                   headers={"Content-Type": "application/json"})


@pytest.fixture
def vols(client):  # type: ignore[no-untyped-def]
    made: list[str] = []
    yield made
    for c in client.containers.list(all=True):
        if any(m.get("Name") in made for m in c.attrs.get("Mounts") or []):
            c.remove(force=True)
    for name in made:
        try:
            client.volumes.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass


def test_named_volume_outlives_its_containers(client, vols):
    since = time.time()
    vols.append("shared-data")
    v = client.volumes.create("shared-data", labels={"app": "x"})
    assert client.volumes.create("shared-data").id == v.id  # creating it again returns it
    client.containers.run("busybox", ["sh", "-c", "echo kept > /data/f"],
                          volumes={"shared-data": {"bind": "/data", "mode": "rw"}}, remove=True)
    out = client.containers.run("busybox", ["cat", "/data/f"], remove=True,
                                volumes=["shared-data:/data:ro"])
    assert out == b"kept\n"
    doc = client.api.inspect_volume("shared-data")
    assert doc["Driver"] == "local" and doc["Scope"] == "local" and doc["Labels"] == {"app": "x"}
    assert doc["Mountpoint"].endswith("/volumes/shared-data/_data")
    assert [x.name for x in client.volumes.list(filters={"label": "app=x"})] == ["shared-data"]
    assert "shared-data" in [x.name for x in client.volumes.list(filters={"dangling": True})]
    events = client.events(since=since, until=time.time() + 1, decode=True,
                           filters={"type": "volume", "volume": "shared-data"})
    assert [e["Action"] for e in events][:5] == ["create", "mount", "unmount", "mount",
                                                 "unmount"]


def test_mounts_in_inspect_and_list_filter(client, vols, daemon):
    vols.append("mnt-vol")
    c = client.containers.run("busybox", ["sleep", "60"], detach=True,
                              volumes=["mnt-vol:/data", "/anon"])
    try:
        mounts = {m["Destination"]: m for m in client.api.inspect_container(c.id)["Mounts"]}
        assert mounts["/data"] == {"Type": "volume", "Name": "mnt-vol",
                                   "Source": client.api.inspect_volume("mnt-vol")["Mountpoint"],
                                   "Destination": "/data", "Driver": "local", "Mode": "z",
                                   "RW": True, "Propagation": ""}
        anon = mounts["/anon"]["Name"]
        assert len(anon) == 64 and mounts["/anon"]["Type"] == "volume"
        assert [x["Id"] for x in client.api.containers(filters={"volume": "mnt-vol"})] == [c.id]
        r = request(daemon.sock, "DELETE", "/volumes/mnt-vol")
        assert r.status == 409
        assert r.json()["message"] == f"remove mnt-vol: volume is in use - [{c.id}]"
        df = request(daemon.sock, "GET", "/system/df").json()
        usage = {v["Name"]: v["UsageData"] for v in df["Volumes"]}
        assert usage["mnt-vol"]["RefCount"] == 1 and usage["mnt-vol"]["Size"] >= 0
    finally:
        c.remove(force=True, v=True)
    assert anon not in [v.name for v in client.volumes.list()]   # rm -v: the anonymous one
    assert "mnt-vol" in [v.name for v in client.volumes.list()]  # never a named one


def test_a_tmpfs_overrides_an_anonymous_volume_and_is_not_listed(client):
    """HostConfig.Tmpfs over a Config.Volumes path: no anonymous volume, and (as in
    dockerd) no entry in Mounts (moby's TestCreateTmpfsOverrideAnonymousVolume)."""
    before = {v.name for v in client.volumes.list()}
    c = client.api.create_container(
        "busybox", ["sh", "-c", "mount | grep /foo | grep tmpfs && mount | grep /bar | grep tmpfs"],
        volumes=["/foo", "/bar"],
        host_config=client.api.create_host_config(tmpfs={"/foo": "", "/bar": "size=999"}))
    try:
        assert client.api.inspect_container(c["Id"])["Mounts"] == []
        client.api.start(c["Id"])
        assert client.api.wait(c["Id"])["StatusCode"] == 0
        assert {v.name for v in client.volumes.list()} == before
    finally:
        client.api.remove_container(c["Id"], v=True)


def test_copy_up_and_nocopy(client, vols, daemon):
    vols += ["copyup", "nocopyup"]
    client.containers.run("busybox", ["true"], volumes=["copyup:/etc"], remove=True)
    data = client.api.inspect_volume("copyup")["Mountpoint"]
    assert open(os.path.join(data, "passwd")).read().startswith("root:")
    st = os.stat(data)
    assert oct(st.st_mode & 0o7777) == oct(0o755)
    out = client.containers.run("busybox", ["ls", "/etc"], remove=True,
                                mounts=[docker.types.Mount("/etc", "nocopyup", no_copy=True)])
    assert out == b""  # an empty volume over the image's /etc
    # the image's own VOLUME makes an anonymous volume, filled from the image
    c = client.containers.create("busybox", ["ls", "/etc"], volumes=["/etc"])
    try:
        c.start()
        c.wait()
        assert b"passwd" in c.logs()
    finally:
        c.remove(v=True)


def test_copy_up_gives_the_volume_the_image_directorys_owner_and_mode(client, vols):
    """A volume over an image directory owned by a service user (a database's
    data directory) is that user's, with the directory's mode, as in Docker."""
    vols.append("owned-vol")
    base = client.containers.run("busybox", ["sh", "-c", "mkdir /owned && echo x > /owned/f "
                                 "&& chown -R 1000:1000 /owned && chmod 700 /owned"],
                                 detach=True)
    try:
        base.wait()
        base.commit("owned-dir", "1")
    finally:
        base.remove()
    try:
        client.containers.run("owned-dir:1", ["true"], volumes=["owned-vol:/owned"], remove=True)
        st = os.stat(client.api.inspect_volume("owned-vol")["Mountpoint"])
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1000, 0o700)
    finally:
        client.images.remove("owned-dir:1")


def test_volumes_from_and_auto_remove(client, vols, docker_cli):
    vols.append("from-vol")
    src = client.containers.run("busybox", ["sh", "-c", "echo a > /named/f; echo b > /anon/f; "
                                                        "sleep 60"],
                                detach=True, volumes=["from-vol:/named", "/anon"])
    try:
        time.sleep(0.3)
        out = client.containers.run("busybox", ["cat", "/named/f", "/anon/f"], remove=True,
                                    volumes_from=[src.id])
        assert out == b"a\nb\n"
        with pytest.raises(docker.errors.ContainerError):
            client.containers.run("busybox", ["touch", "/named/g"], remove=True,
                                  volumes_from=[f"{src.id}:ro"])
        before = {v.name for v in client.volumes.list()}
        assert docker_cli("run", "--rm", "-v", "/tmpvol", "busybox", "true").returncode == 0
        assert {v.name for v in client.volumes.list()} == before  # --rm: anonymous gone
    finally:
        src.remove(force=True)


@pytest.mark.parametrize("body,status,text", [
    ({"Name": "bad/name"}, 400, "includes invalid characters for a local volume name"),
    ({"Name": "x-nodriver", "Driver": "nosuch"}, 404, 'plugin "nosuch" not found'),
    ({"Name": "x-badopt", "DriverOpts": {"nosuch": "1"}}, 400, "invalid option key"),
    ({"Name": "x-nofs", "DriverOpts": {"type": "nosuchfs", "device": "/dev/null"}}, 400,
     "unknown filesystem type"),
])
def test_bad_volume_requests(daemon, client, body, status, text):
    r = post_json(daemon, "/volumes/create", body)
    assert r.status == status and text in r.json()["message"], r.body
    assert body["Name"] not in [v.name for v in client.volumes.list()]
    assert not os.path.exists(os.path.join(daemon.data_root, "volumes", body["Name"]))


def test_bad_volume_mounts(daemon, client):
    for volumes, text in ((["rel/path:/x"], None), (["vol:relative"], "must be absolute"),
                          (["v1:/same", "v2:/same"], "Duplicate mount point: /same"),
                          (["vol:/"], "destination can't be '/'")):
        r = post_json(daemon, "/containers/create", {
            "Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": volumes}})
        assert r.status == 400, r.body
        if text:
            assert text in r.json()["message"]
    r = post_json(daemon, "/containers/create", {
        "Image": "busybox", "Cmd": ["true"], "HostConfig": {"VolumesFrom": ["nosuchctr"]}})
    # dockerd: an invalid parameter (400), not a missing object (moby's
    # TestCreateVolumesFromNonExistingContainer)
    assert r.status == 400 and r.json()["message"] == "No such container: nosuchctr"
    # failed creates gave back nothing they had not taken: the image still runs
    assert client.containers.run("busybox", ["echo", "ok"], remove=True) == b"ok\n"


def test_prune_keeps_named_unless_all(client, daemon):
    named = client.volumes.create("prune-named")
    anon = client.volumes.create(labels={"com.docker.volume.anonymous": ""})
    result = client.volumes.prune()
    assert anon.name in (result["VolumesDeleted"] or [])
    assert named.name not in (result["VolumesDeleted"] or [])
    result = client.volumes.prune(filters={"all": "true", "label": "nosuch"})
    assert named.name not in (result["VolumesDeleted"] or [])
    result = client.volumes.prune(filters={"all": "true"})
    assert named.name in result["VolumesDeleted"]


def test_local_driver_options(client, vols, tmp_path):
    vols += ["tmpfs-vol", "bind-vol"]
    client.volumes.create("tmpfs-vol", driver_opts={"type": "tmpfs", "device": "tmpfs",
                                                     "o": "size=1m"})
    out = client.containers.run("busybox", ["sh", "-c", "grep /t /proc/mounts"],
                                volumes=["tmpfs-vol:/t"], remove=True)
    assert b"tmpfs" in out and b"size=1024k" in out
    path = client.api.inspect_volume("tmpfs-vol")["Mountpoint"]
    assert path not in open("/proc/self/mounts").read()  # unmounted with its last user
    host = tmp_path / "host"
    host.mkdir()
    client.volumes.create("bind-vol", driver_opts={"type": "none", "device": str(host),
                                                    "o": "bind"})
    client.containers.run("busybox", ["sh", "-c", "echo via-bind > /b/f"],
                          volumes=["bind-vol:/b"], remove=True)
    assert (host / "f").read_text() == "via-bind\n"


@pytest.mark.parametrize("driver", sorted(VOLUME_DRIVERS))
def test_volume_driver_suite(client, vols, driver):
    """Every volume driver: create, use from two containers at once, data kept
    after they stop, removal leaves nothing."""
    name = f"suite-{driver}"
    vols.append(name)
    client.volumes.create(name, driver=driver)
    a = client.containers.run("busybox", ["sh", "-c", "echo one > /v/a; sleep 30"],
                              detach=True, volumes=[f"{name}:/v"])
    try:
        time.sleep(0.3)
        out = client.containers.run("busybox", ["cat", "/v/a"], remove=True,
                                    volumes=[f"{name}:/v"])
        assert out == b"one\n"
    finally:
        a.remove(force=True)
    mountpoint = client.api.inspect_volume(name)["Mountpoint"]
    assert open(os.path.join(mountpoint, "a")).read() == "one\n"
    client.volumes.get(name).remove()
    assert not os.path.exists(mountpoint)


def test_volume_survives_kill_9(fresh_daemon):
    client = fresh_daemon.client()
    client.volumes.create("crashvol")
    c = client.containers.run("busybox", ["sh", "-c", "echo before > /v/f; sleep 60"],
                              detach=True, volumes=["crashvol:/v"], name="crashuser")
    time.sleep(0.3)
    fresh_daemon.proc.send_signal(signal.SIGKILL)
    fresh_daemon.proc.wait()
    fresh_daemon.start()
    client = fresh_daemon.client()
    assert client.containers.get("crashuser").status == "running"
    out = client.containers.run("busybox", ["cat", "/v/f"], volumes=["crashvol:/v"],
                                remove=True)
    assert out == b"before\n"
    with pytest.raises(docker.errors.APIError) as err:
        client.volumes.get("crashvol").remove()
    assert err.value.status_code == 409  # its user is known again
    c.remove(force=True)
    client.volumes.get("crashvol").remove()


def test_cli_volume_commands(daemon, docker_cli):
    cli = daemon.docker_py
    assert cli("volume", "create", "--label", "k=v", "clivol").stdout == b"clivol\n"
    try:
        for args in (["volume", "ls"], ["volume", "ls", "-q"],
                     ["volume", "ls", "--format", "{{.Name}} {{.Driver}}"],
                     ["volume", "inspect", "-f", "{{.Name}} {{.Labels}}", "clivol"]):
            ours, theirs = cli(*args), docker_cli(*args)
            assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
        out = cli("volume", "rm", "nosuchvol")
        assert out.returncode == 1 and b"no such volume" in out.stderr
    finally:
        cli("volume", "rm", "clivol")


def test_cp_into_and_out_of_volumes_of_a_stopped_container(client, vols, docker_cli, tmp_path):
    """docker cp lands in the volume or bind, not in the layer under it, also when
    the container is stopped; and a symlink in a volume cannot lead out of it."""
    vols.append("cpvol")
    host = tmp_path / "bind"
    host.mkdir()
    c = client.containers.create("busybox", ["true"],
                                 volumes=["cpvol:/vol", f"{host}:/bound"])
    try:
        src = tmp_path / "f.txt"
        src.write_text("copied in\n")
        assert docker_cli("cp", str(src), f"{c.id}:/vol/").returncode == 0
        assert docker_cli("cp", str(src), f"{c.id}:/bound/").returncode == 0
        data = client.api.inspect_volume("cpvol")["Mountpoint"]
        assert open(os.path.join(data, "f.txt")).read() == "copied in\n"
        assert (host / "f.txt").read_text() == "copied in\n"
        os.symlink("/etc", os.path.join(data, "escape"))
        out = tmp_path / "out"
        r = docker_cli("cp", f"{c.id}:/vol/escape/passwd", str(out))
        assert r.returncode != 0 and not out.exists()  # confined to the volume
        assert docker_cli("cp", f"{c.id}:/vol/f.txt", str(out)).returncode == 0
        assert out.read_text() == "copied in\n"
    finally:
        c.remove(v=True)


def _bind(source: str, propagation: str = "", **options):  # type: ignore[no-untyped-def]
    return {"Type": "bind", "Source": source, "Target": "/foo",
            "BindOptions": {"Propagation": propagation, **options}}


def _create(daemon, host_config):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", "/v1.44/containers/create",
                   body=json.dumps({"Image": "busybox", "Cmd": ["true"],
                                    "HostConfig": host_config}).encode(),
                   headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("sub", ["", "containers"])
def test_binds_of_the_daemon_root_are_rslave(daemon, client, sub):
    """dockerd's validateBindDaemonRoot: a bind holding (or inside) the data root is
    rslave by default, rslave or rshared when asked, and refused in any other mode
    (moby's TestMountDaemonRoot); elsewhere the default is rprivate."""
    root = str(daemon.data_root)
    source = os.path.join(root, sub) if sub else root
    for host_config, propagation in (
            ({"Binds": [f"{source}:/foo"]}, "rslave"),
            ({"Mounts": [_bind(source)]}, "rslave"),
            ({"Binds": [f"{source}:/foo:rshared"]}, "rshared"),
            ({"Mounts": [_bind(source, "rslave")]}, "rslave"),
            ({"Binds": ["/usr:/foo"]}, "rprivate")):
        r = _create(daemon, host_config)
        assert r.status == 201, r.body
        mounts = client.api.inspect_container(r.json()["Id"])["Mounts"]
        client.api.remove_container(r.json()["Id"])
        assert [m["Propagation"] for m in mounts] == [propagation], host_config
    for host_config, mode in (({"Binds": [f"{source}:/foo:private"]}, "private"),
                              ({"Mounts": [_bind(source, "shared")]}, "shared")):
        r = _create(daemon, host_config)
        assert (r.status, r.json()["message"]) == (
            400, 'invalid mount config: must use either propagation mode "rslave" or "rshared" '
                 f'when mount source is within the daemon root, daemon root: "{root}", bind '
                 f'mount source: "{source}", propagation: "{mode}"')


def test_a_non_recursive_bind_leaves_the_mounts_below_out(client, daemon, tmp_path):
    """BindOptions.NonRecursive: the source alone, not what is mounted below it
    (moby's TestContainerBindMountNonRecursive)."""
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    (outer / "mnt").mkdir(parents=True)
    inner.mkdir()
    (inner / "file").write_text("below")
    subprocess.run(["mount", "--bind", "-o", "ro", str(inner), str(outer / "mnt")], check=True)
    try:
        for options, test in (({}, ["test", "-f", "/foo/mnt/file"]),
                              ({"NonRecursive": False}, ["test", "-f", "/foo/mnt/file"]),
                              ({"NonRecursive": True}, ["test", "!", "-f", "/foo/mnt/file"])):
            mount = docker.types.Mount("/foo", str(outer), type="bind", read_only=True)
            mount["BindOptions"] = options
            client.containers.run("busybox", test, mounts=[mount], remove=True)
        out = daemon.docker_py("run", "--rm", "--mount", f"type=bind,source={outer},target=/foo,"
                               "bind-nonrecursive", "busybox", "test", "!", "-f", "/foo/mnt/file")
        assert out.returncode == 0, out.stderr
    finally:
        subprocess.run(["umount", str(outer / "mnt")], check=True)
