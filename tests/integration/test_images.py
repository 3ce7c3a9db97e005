"""Image operations through the API, the SDK and the real Docker CLI."""
from __future__ import annotations

import io
import json
import os
import tarfile
import time

import docker
import pytest

from . import archives
from .conftest import busybox_daemon
from .rawhttp import request

TAR = {"Content-Type": "application/x-tar"}


def load(daemon, data: bytes, quiet: bool = True):  # type: ignore[no-untyped-def]
    return request(daemon.sock, "POST", f"/images/load?quiet={int(quiet)}", body=data,
                   headers=TAR, timeout=120)


def loaded_lines(resp) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for line in resp.body.decode().splitlines():
        if line.strip():
            out.append(json.loads(line).get("stream", "").strip())
    return out


def state(daemon) -> tuple:  # type: ignore[no-untyped-def]
    """What a failed operation must not change: images, layers, driver directories."""
    images = sorted(i["Id"] for i in request(daemon.sock, "GET", "/images/json?all=1").json())
    layerdb = daemon.data_root / "image" / "overlay2" / "layerdb" / "sha256"
    driver = daemon.data_root / "overlay2"
    return (images, sorted(os.listdir(layerdb)),
            sorted(n for n in os.listdir(driver) if n != "l"))


def test_import_with_changes_and_inspect_shape(daemon, client, rootfs_tar):
    changes = ["CMD [\"sh\", \"-c\", \"echo $GREETING from $(pwd) as $(id -u)\"]",
               "ENV GREETING=hi OTHER=1", "WORKDIR /tmp", "EXPOSE 8080/tcp 53/udp",
               "LABEL team=core", "USER nobody", "STOPSIGNAL SIGINT"]
    r = request(daemon.sock, "POST", "/images/create?fromSrc=-&repo=imp/withchanges&tag=1"
                "&message=by+test&platform=linux/amd64&" +
                "&".join("changes=" + __import__("urllib.parse").parse.quote(c) for c in changes),
                body=rootfs_tar.read_bytes(), headers=TAR)
    assert r.status == 200, r.body
    image_id = json.loads(r.body.splitlines()[-1])["status"]
    try:
        doc = client.api.inspect_image("imp/withchanges:1")
        assert doc["Id"] == image_id
        assert doc["RepoTags"] == ["imp/withchanges:1"] and doc["RepoDigests"] == []
        assert doc["Comment"] == "by test"
        assert doc["Config"]["Env"] == ["GREETING=hi", "OTHER=1"]
        assert doc["Config"]["WorkingDir"] == "/tmp" and doc["Config"]["User"] == "nobody"
        assert doc["Config"]["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
        assert doc["Config"]["Labels"] == {"team": "core"}
        assert doc["Config"]["StopSignal"] == "SIGINT"
        assert doc["Architecture"] == "amd64" and doc["Os"] == "linux"
        assert len(doc["RootFS"]["Layers"]) == 1 and doc["RootFS"]["Type"] == "layers"
        assert doc["Size"] > 1_000_000
        assert doc["GraphDriver"]["Name"] == "overlay2" and "UpperDir" in doc["GraphDriver"]["Data"]
        assert doc["Created"].endswith("Z") and doc["Metadata"]["LastTagTime"] != ""
        out = client.containers.run("imp/withchanges:1", remove=True)
        assert out == b"hi from /tmp as 65534\n"
        history = client.api.history("imp/withchanges:1")
        assert history[0]["Id"] == image_id and history[0]["Comment"] == "by test"
    finally:
        client.images.remove("imp/withchanges:1")


def test_import_bad_input(daemon):
    before = state(daemon)
    for body, what in ((b"not a tar at all" * 100, "invalid tar"),
                       (archives.layer_tar({"f": b"x" * 5000})[:1500], "truncated")):
        r = request(daemon.sock, "POST", "/images/create?fromSrc=-&repo=bad", body=body,
                    headers=TAR)
        assert r.status == 400, (what, r.body)
        assert what in r.json()["message"]
    r = request(daemon.sock, "POST", "/images/create?fromSrc=-&changes=RUN+true",
                body=archives.layer_tar({"f": b"x"}), headers=TAR)
    assert r.status == 400 and "run is not a valid change command" in r.json()["message"]
    assert state(daemon) == before
    assert request(daemon.sock, "GET", "/_ping").status == 200


def test_list_filters(daemon, client):
    layers = [archives.layer_tar({"a": b"1"})]
    old = json.loads(archives.image_config(layers))
    old["created"] = "2020-01-01T00:00:00Z"
    old["config"]["Labels"] = {"tier": "old"}
    new = dict(old, created="2024-01-01T00:00:00Z", config={"Labels": {"tier": "new"}})
    for cfg, tag in ((old, "flt/img:old"), (new, "flt/img:new")):
        raw = json.dumps(cfg).encode()
        assert load(daemon, archives.legacy_archive(layers, raw, [tag])).status == 200
    try:
        def names(filters):  # type: ignore[no-untyped-def]
            return sorted(t for i in client.images.list(filters=filters) for t in i.tags
                          if t.startswith("flt/"))
        assert names({"label": "tier=old"}) == ["flt/img:old"]
        assert names({"label": "tier"}) == ["flt/img:new", "flt/img:old"]
        assert names({"reference": "flt/*:new"}) == ["flt/img:new"]
        assert names({"before": "flt/img:new"}) == ["flt/img:old"]
        assert names({"since": "flt/img:old"}) == ["flt/img:new"]
        client.images.get("flt/img:old").tag("flt/other", "x")
        client.images.remove("flt/other:x")
        assert names({"dangling": "true"}) == []
        with pytest.raises(docker.errors.APIError) as err:
            client.images.list(filters={"nosuch": "1"})
        assert err.value.status_code == 400
    finally:
        for tag in ("flt/img:old", "flt/img:new"):
            client.images.remove(tag)


def test_a_reference_filter_narrows_the_listed_tags(client):
    """dockerd lists only the references that matched (distribution's FamiliarMatch:
    the whole `name:tag`, or the name), as moby's TestImagesFilterMultiReference."""
    tags = [f"mref:v{n}" for n in range(1, 5)]
    for tag in tags:
        client.images.get("busybox:latest").tag(tag)
    try:
        found = client.api.images(filters={"reference": tags[:3]})
        assert len(found) == 1 and sorted(found[0]["RepoTags"]) == tags[:3]
        found = client.api.images(filters={"reference": "mref"})
        assert sorted(found[0]["RepoTags"]) == tags
        assert client.api.images(filters={"reference": "*:v4"})[0]["RepoTags"] == ["mref:v4"]
        assert client.api.images(filters={"reference": "mref*/x"}) == []
    finally:
        for tag in tags:
            client.images.remove(tag)


def test_tag_and_delete_semantics(daemon, client):
    base = client.images.get("busybox")
    base.tag("sem/a", "1")
    base.tag("sem/b", "1")
    r = request(daemon.sock, "DELETE", f"/images/{base.id[7:19]}")
    assert r.status == 409
    assert r.json()["message"] == (f"conflict: unable to delete {base.id[7:19]} (must be "
                                   "forced) - image is referenced in multiple repositories")
    assert request(daemon.sock, "DELETE", "/images/sem/a:1").json() == [{"Untagged": "sem/a:1"}]
    assert request(daemon.sock, "DELETE", "/images/sem/b:1").json() == [{"Untagged": "sem/b:1"}]
    r = request(daemon.sock, "POST", "/images/busybox/tag?repo=Bad/Name")
    assert r.status == 400
    r = request(daemon.sock, "POST", "/images/nosuch/tag?repo=x")
    assert r.status == 404 and r.json()["message"] == "No such image: nosuch:latest"
    r = request(daemon.sock, "POST", "/images/busybox/tag?repo=sha256&tag=sometag")
    assert r.status == 400 and r.json()["message"] == (
        "refusing to create an ambiguous tag using digest algorithm as name")


def test_delete_in_use(daemon, client):
    source = client.containers.create("busybox", ["true"])
    image = source.commit(repository="inuse/img", tag="1")  # its only reference
    source.remove()
    short = image.id[7:19]
    stopped = client.containers.create("inuse/img:1", ["sleep", "30"])
    running = None
    try:
        r = request(daemon.sock, "DELETE", "/images/inuse/img:1")
        assert r.status == 409
        assert r.json()["message"] == (
            f'conflict: unable to remove repository reference "inuse/img:1" (must force) - '
            f"container {stopped.id[:12]} is using its referenced image {short}")
        r = request(daemon.sock, "DELETE", f"/images/{short}")
        assert r.status == 409
        assert r.json()["message"] == (f"conflict: unable to delete {short} (must be forced) - "
                                       f"image is being used by stopped container {stopped.id[:12]}")
        running = client.containers.run("inuse/img:1", ["sleep", "30"], detach=True)
        r = request(daemon.sock, "DELETE", f"/images/{image.id}?force=1")
        assert r.status == 409
        assert r.json()["message"] == (f"conflict: unable to delete {short} (cannot be forced) - "
                                       f"image is being used by running container {running.id[:12]}")
        assert client.images.get("inuse/img:1").id == image.id  # nothing was untagged
    finally:
        if running is not None:
            running.remove(force=True)
        stopped.remove()
    r = request(daemon.sock, "DELETE", "/images/inuse/img:1")
    assert r.status == 200
    assert r.json()[0] == {"Untagged": "inuse/img:1"} and {"Deleted": image.id} in r.json()


def test_save_load_round_trip(daemon, client, tmp_path):
    client.images.get("busybox").tag("rt/img", "a")
    client.images.get("busybox").tag("rt/img", "b")
    image_id = client.images.get("rt/img:a").id
    r = request(daemon.sock, "GET", "/images/rt/img/get", timeout=120)
    assert r.status == 200 and r.headers["content-type"] == "application/x-tar"
    files = archives.members(r.body)
    for name in ("oci-layout", "index.json", "manifest.json", "repositories",
                 f"blobs/sha256/{image_id[7:]}"):
        assert name in files, name
    manifest = json.loads(files["manifest.json"])
    assert sorted(manifest[0]["RepoTags"]) == ["rt/img:a", "rt/img:b"]
    layer = files[manifest[0]["Layers"][0]]
    diff_id = client.api.inspect_image(image_id)["RootFS"]["Layers"][0]
    assert archives.sha(layer) == diff_id[7:]  # layer bytes reproduce the diff ID
    client.images.remove("rt/img:a")
    client.images.remove("rt/img:b")
    resp = load(daemon, r.body)
    assert resp.status == 200
    assert sorted(loaded_lines(resp)) == ["Loaded image: rt/img:a", "Loaded image: rt/img:b"]
    assert client.images.get("rt/img:a").id == image_id
    client.images.remove("rt/img:a")
    client.images.remove("rt/img:b")


def test_load_formats_of_real_docker(daemon, client):
    layers = [archives.layer_tar({"etc/motd": b"layer one\n"}),
              archives.layer_tar({"etc/extra": b"layer two\n"})]
    config = archives.image_config(layers, ["cat", "/etc/motd"])
    image_id = "sha256:" + archives.sha(config)
    cases = {
        "legacy (Docker 20.10-24)": archives.legacy_archive(layers, config, ["fmt/legacy:1"]),
        "containerd store (Docker 28)": archives.containerd_archive(layers, config,
                                                                    "fmt/ctrd:1"),
        "plain OCI layout": archives.oci_only_archive(layers, config, "fmt/oci:1"),
    }
    for what, data in cases.items():
        resp = load(daemon, data)
        assert resp.status == 200, (what, resp.body)
        tag = {"legacy (Docker 20.10-24)": "fmt/legacy:1",
               "containerd store (Docker 28)": "fmt/ctrd:1", "plain OCI layout": "fmt/oci:1"}[what]
        assert loaded_lines(resp) == [f"Loaded image: {tag}"], what
        image = client.images.get(tag)
        assert image.id == image_id, what
        # re-saved, the layers are the uncompressed ones the config names
        saved = archives.members(request(daemon.sock, "GET", f"/images/{tag}/get").body)
        manifest = json.loads(saved["manifest.json"])[0]
        assert [archives.sha(saved[p]) for p in manifest["Layers"]] == \
               [archives.sha(x) for x in layers]
        client.images.remove(tag)
    resp = load(daemon, archives.oci_only_archive(layers, config, None))
    assert loaded_lines(resp) == [f"Loaded image ID: {image_id}"]
    client.images.remove(image_id)


def _broken_archives() -> dict[str, tuple[bytes, str]]:
    layers = [archives.layer_tar({"a": b"1"})]
    config = archives.image_config(layers)
    good = archives.legacy_archive(layers, config, ["broken:1"])
    files = archives.members(good)
    manifest = json.loads(files["manifest.json"])
    layer_path = manifest[0]["Layers"][0]
    config_path = manifest[0]["Config"]
    out: dict[str, tuple[bytes, str]] = {}

    def variant(name: str, expect: str, changes: dict[str, bytes | None]) -> None:
        data = dict(files)
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        out[name] = (archives.rebuild(data), expect)

    def with_manifest(name: str, expect: str, entry: dict) -> None:
        variant(name, expect, {"manifest.json": json.dumps([dict(manifest[0], **entry)]).encode()})

    out["not a tar"] = (b"garbage" * 500, "invalid tar")
    out["truncated"] = (good[:len(good) // 2], "truncated")
    variant("no manifest", "no manifest.json or index.json", {"manifest.json": None})
    bad_config = b"{not json"
    variant("config not JSON", "invalid image config", {
        config_path: None, f"{archives.sha(bad_config)}.json": bad_config,
        "manifest.json": json.dumps([dict(manifest[0], Config=f"{archives.sha(bad_config)}.json")
                                     ]).encode()})
    variant("config does not match its name", "does not match its digest",
            {config_path: config.replace(b"amd64", b"arm64")})
    with_manifest("config path escapes", "escapes", {"Config": "../../x.json"})
    with_manifest("layer path escapes", "escapes", {"Layers": ["sha256:../../etc"]})
    with_manifest("layer count mismatch", "layers length mismatch", {"Layers": []})
    with_manifest("layer is missing", "is missing", {"Layers": ["nothere/layer.tar"]})
    variant("layer does not match the config", "invalid diffID for layer 0",
            {layer_path: archives.layer_tar({"b": b"2"})})
    oci = archives.members(archives.containerd_archive(layers, config, "x:1", nested=False))
    oci.pop("manifest.json")
    blob = next(k for k, v in oci.items() if k.startswith("blobs/") and v[:2] == b"\x1f\x8b")
    tampered = dict(oci)
    tampered[blob] = oci[blob][:-8] + b"\0" * 8
    out["tampered blob"] = (archives.rebuild(tampered), "")
    both = dict(oci)
    index = json.loads(both["index.json"])
    old_name = "blobs/sha256/" + index["manifests"][0]["digest"][7:]
    doc = json.loads(both.pop(old_name))
    doc["manifests"] = []
    new = json.dumps(doc).encode()
    both["blobs/sha256/" + archives.sha(new)] = new
    index["manifests"][0]["digest"] = "sha256:" + archives.sha(new)
    both["index.json"] = json.dumps(index).encode()
    out["manifest and index at once"] = (archives.rebuild(both), "both a manifest and an index")
    variant("huge manifest.json", "larger than 32MiB",
            {"manifest.json": b"[" + b" " * (33 << 20) + b"]"})
    return out


BROKEN = _broken_archives()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_load_bad_archives_leave_nothing(daemon, case):
    data, expect = BROKEN[case]
    before = state(daemon)
    resp = load(daemon, data)
    assert resp.status == 200, resp.body      # as dockerd: the error is in the stream
    messages = [json.loads(line) for line in resp.body.splitlines() if line.strip()]
    assert expect in messages[-1]["errorDetail"]["message"]
    assert messages[-1]["error"] == messages[-1]["errorDetail"]["message"]
    assert state(daemon) == before
    assert not os.listdir(daemon.data_root / "tmp") or all(
        not os.listdir(daemon.data_root / "tmp" / d) for d in os.listdir(daemon.data_root / "tmp"))
    assert request(daemon.sock, "GET", "/_ping").status == 200


def test_commit_diff_export_and_copy_on_write(daemon, client):
    c = client.containers.run("busybox", ["sh", "-c", "echo changed > /etc/motd; rm /etc/group;"
                                          " mkdir /made; echo x > /made/x; sleep 30"],
                              detach=True)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not c.diff():
            time.sleep(0.1)
        time.sleep(0.3)
        changes = {d["Path"]: d["Kind"] for d in c.diff()}
        assert changes == {"/etc": 0, "/etc/motd": 0, "/etc/group": 2, "/made": 1,
                           "/made/x": 1}
        assert client.containers.run("busybox", ["cat", "/etc/motd"], remove=True) == \
            b"from-image\n"  # the image's layer did not change
        image = c.commit(repository="committed/img", tag="1", author="tester",
                         message="snapshot", changes=['CMD ["cat", "/etc/motd"]'])
        doc = client.api.inspect_image(image.id)
        assert doc["Author"] == "tester" and doc["Comment"] == "snapshot"
        assert doc["Parent"] == client.images.get("busybox").id
        assert len(doc["RootFS"]["Layers"]) == 2
        assert client.containers.run("committed/img:1", remove=True) == b"changed\n"
        assert c.attrs and client.containers.get(c.id).status == "running"  # unpaused again
        stream = b"".join(c.export())
        with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
            names = set(tar.getnames())
            assert "made/x" in names and "etc/group" not in names
            assert tar.extractfile("etc/motd").read() == b"changed\n"  # type: ignore[union-attr]
    finally:
        c.remove(force=True)
        try:
            client.images.remove("committed/img:1")
        except docker.errors.ImageNotFound:
            pass


def test_commit_without_changes_adds_no_layer(client):
    c = client.containers.create("busybox", ["true"])
    try:
        image = c.commit(repository="nochange", tag="1")
        doc = client.api.inspect_image(image.id)
        assert len(doc["RootFS"]["Layers"]) == 1
        assert client.api.history(image.id)[0]["Size"] == 0
    finally:
        c.remove()
        client.images.remove("nochange:1")


def test_prune_and_df(daemon, client):
    layers = [archives.layer_tar({"dangle": b"1"})]
    data = archives.oci_only_archive(layers, archives.image_config(layers), None)
    assert load(daemon, data).status == 200
    df = request(daemon.sock, "GET", "/system/df").json()
    assert df["LayersSize"] > 0 and any(i["RepoTags"] == [] for i in df["Images"])
    report = request(daemon.sock, "POST", "/images/prune").json()
    assert any("Deleted" in rec for rec in report["ImagesDeleted"])
    assert report["SpaceReclaimed"] > 0
    assert "busybox:latest" in [t for i in client.images.list() for t in i.tags]


def test_docker_cli_image_commands(daemon, docker_cli, tmp_path):
    archive = str(tmp_path / "saved.tar")
    assert docker_cli("image", "tag", "busybox", "cli/img:v1").returncode == 0
    assert b"cli/img" in docker_cli("image", "ls").stdout
    assert b'"Cmd"' in docker_cli("image", "inspect", "cli/img:v1").stdout
    assert docker_cli("image", "save", "-o", archive, "cli/img:v1").returncode == 0
    assert docker_cli("image", "rm", "cli/img:v1").returncode == 0
    out = docker_cli("image", "load", "-i", archive)
    assert out.returncode == 0 and b"Loaded image: cli/img:v1" in out.stdout
    assert docker_cli("run", "--rm", "cli/img:v1", "cat", "/etc/motd").stdout == b"from-image\n"
    out = docker_cli("run", "-d", "busybox", "sh", "-c", "echo changed > /etc/motd; sleep 30")
    cid = out.stdout.strip().decode()
    try:
        time.sleep(0.5)
        assert b"/etc/motd" in docker_cli("diff", cid).stdout
        assert docker_cli("commit", "-a", "seed", "-c", 'CMD ["cat","/etc/motd"]', "-p", cid,
                          "cli/committed:v1").returncode == 0
        assert docker_cli("run", "--rm", "cli/committed:v1").stdout == b"changed\n"
        hist = docker_cli("history", "cli/committed:v1")
        assert hist.returncode == 0 and b"Imported from -" in hist.stdout
    finally:
        docker_cli("rm", "-f", cid)
        docker_cli("rmi", "cli/img:v1", "cli/committed:v1")


def test_deep_image_load_remove_load_save(daemon, client):
    layers = [archives.layer_tar({f"l{i}": str(i).encode() * 100}) for i in range(6)]
    config = archives.image_config(layers)
    data = archives.legacy_archive(layers, config, ["deep/img:1"])
    for _ in range(2):
        assert load(daemon, data).status == 200
        saved = request(daemon.sock, "GET", "/images/deep/img:1/get")
        assert saved.status == 200
        manifest = json.loads(archives.members(saved.body)["manifest.json"])[0]
        assert [archives.sha(archives.members(saved.body)[p]) for p in manifest["Layers"]] == \
            [archives.sha(x) for x in layers]
        client.images.remove("deep/img:1")


def test_image_with_lost_layers_lists_and_heals(fresh_daemon):
    layers = [archives.layer_tar({"lost": b"1"}), archives.layer_tar({"lost2": b"2"})]
    data = archives.legacy_archive(layers, archives.image_config(layers), ["lost/img:1"])
    assert load(fresh_daemon, data).status == 200
    top = fresh_daemon.client().api.inspect_image("lost/img:1")["RootFS"]["Layers"]
    fresh_daemon.stop()
    from dockerd_py.storage.layers import chain_ids
    layerdb = fresh_daemon.data_root / "image" / "overlay2" / "layerdb" / "sha256"
    import shutil
    shutil.rmtree(layerdb / chain_ids(top)[-1][7:])  # the top layer is lost
    fresh_daemon.start()
    listing = request(fresh_daemon.sock, "GET", "/images/json")
    assert listing.status == 200 and "lost/img:1" in str(listing.json())
    assert load(fresh_daemon, data).status == 200  # loading it again brings it back whole
    saved = request(fresh_daemon.sock, "GET", "/images/lost/img:1/get")
    assert saved.status == 200
    fresh_daemon.restart()
    assert request(fresh_daemon.sock, "GET", "/images/lost/img:1/get").status == 200


def test_vfs_daemon_runs_commits_saves_and_loads(workdir, rootfs_tar):
    with busybox_daemon(workdir, rootfs_tar, "vfs", extra_args=["--storage-driver", "vfs"]) as d:
        client = d.client()
        assert client.info()["Driver"] == "vfs"
        c = client.containers.run("busybox", ["sh", "-c", "echo vfs > /etc/motd; rm /etc/group"],
                                  detach=True)
        c.wait(timeout=20)
        assert {x["Path"]: x["Kind"] for x in c.diff()} == {"/etc": 0, "/etc/motd": 0,
                                                            "/etc/group": 2}
        image = c.commit(repository="vfs/img", tag="1")
        c.remove()
        saved = request(d.sock, "GET", "/images/vfs/img:1/get").body
        client.images.remove("vfs/img:1")
        assert load(d, saved).status == 200
        assert client.images.get("vfs/img:1").id == image.id
        out = client.containers.run("vfs/img:1", ["sh", "-c", "cat /etc/motd; "
                                                  "test -e /etc/group || echo gone"], remove=True)
        assert out == b"vfs\ngone\n"


def test_sdk_load_of_a_non_tar_raises_image_load_error(daemon, client):
    with pytest.raises(docker.errors.ImageLoadError) as err:
        client.images.load(b"this is not a tar archive at all")
    assert "tar" in str(err.value) or "archive" in str(err.value)
    assert client.ping()
