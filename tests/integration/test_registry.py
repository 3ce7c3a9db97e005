"""Pull and push against real registries on loopback (Debian's docker-registry),
with the real Docker CLI and the Docker SDK as clients."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator

import docker
import pytest

from .conftest import busybox_daemon
from .daemonctl import DOCKER_CLI
from .registries import REGISTRY, image_config, layer_tar

pytestmark = pytest.mark.skipif(not os.path.exists(REGISTRY),
                                reason="docker-registry is not installed")


@pytest.fixture(scope="module")
def big_image(daemon) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """busybox plus a 3 MB layer of random bytes (so downloads take several reads)."""
    name = "dpy-test/big:1"
    api = daemon.api()
    ctr = api.create_container("busybox:latest", ["sh", "-c",
                               "head -c 3000000 /dev/urandom > /random.bin"])
    api.start(ctr)
    api.wait(ctr)
    api.commit(ctr, "dpy-test/big", "1")
    api.remove_container(ctr)
    yield name
    try:
        api.remove_image(name, force=True)
    except docker.errors.APIError:
        pass


def _sdk_push(api, ref: str) -> list[dict]:  # type: ignore[no-untyped-def]
    repo, _, tag = ref.rpartition(":")
    return list(api.push(repo, tag=tag, stream=True, decode=True))


def test_push_remove_pull_run_with_the_docker_cli(daemon, registry, big_image):
    if not os.path.exists(DOCKER_CLI):
        pytest.skip("the Docker CLI is not installed")
    ref = f"{registry.host}/cli/big:v1"
    assert daemon.docker("tag", big_image, ref).returncode == 0
    pushed = daemon.docker("push", ref)
    out = pushed.stdout.decode()
    assert pushed.returncode == 0, pushed.stderr
    assert f"The push refers to repository [{registry.host}/cli/big]" in out
    assert ": Pushed" in out
    digest = out.split("digest: ")[1].split()[0]
    manifest = registry.manifest("cli/big", "v1")
    assert "sha256:" + hashlib.sha256(registry.session().get(
        f"{registry.url}/v2/cli/big/manifests/v1", headers={
            "Accept": manifest["mediaType"]}).content).hexdigest() == digest
    image_id = daemon.api().inspect_image(ref)["Id"]
    assert manifest["config"]["digest"] == image_id

    assert daemon.docker("rmi", ref, big_image).returncode == 0
    assert daemon.docker("image", "inspect", ref).returncode != 0
    pulled = daemon.docker("pull", ref)
    text = pulled.stdout.decode()
    assert pulled.returncode == 0, pulled.stderr
    assert "v1: Pulling from cli/big" in text
    assert "Already exists" in text          # busybox's layer stayed
    assert "Pull complete" in text
    assert f"Digest: {digest}" in text
    assert f"Status: Downloaded newer image for {ref}" in text
    info = daemon.api().inspect_image(ref)
    assert info["Id"] == image_id            # the ID is the config digest
    assert info["RepoDigests"] == [f"{registry.host}/cli/big@{digest}"]
    run = daemon.docker("run", "--rm", ref, "sh", "-c", "wc -c < /random.bin")
    assert run.stdout.decode().strip() == "3000000"
    again = daemon.docker("pull", ref)
    assert f"Status: Image is up to date for {ref}" in again.stdout.decode()
    daemon.docker("tag", ref, big_image)


def _commit_unique(api, repo: str, tag: str) -> None:  # type: ignore[no-untyped-def]
    """An image with a layer no registry has seen."""
    ctr = api.create_container("busybox:latest", ["sh", "-c",
                               "head -c 400000 /dev/urandom > /unique.bin"])
    api.start(ctr)
    api.wait(ctr)
    api.commit(ctr, repo, tag)
    api.remove_container(ctr)


def test_sdk_streams_the_progress_docker_sends(daemon, registry):
    api = daemon.api()
    ref = f"{registry.host}/sdk/big:v2"
    _commit_unique(api, f"{registry.host}/sdk/big", "v2")
    events = _sdk_push(api, ref)
    statuses = [e.get("status", "") for e in events]
    assert statuses[0] == f"The push refers to repository [{registry.host}/sdk/big]"
    assert "Preparing" in statuses
    assert any(s in ("Pushed", "Layer already exists") or s.startswith("Mounted from")
               for s in statuses)
    pushing = [e for e in events if e.get("status") == "Pushing"]
    assert pushing and all(set(e["progressDetail"]) >= {"current"} and e["id"]
                           for e in pushing)
    aux = [e["aux"] for e in events if "aux" in e]
    assert aux and aux[0]["Tag"] == "v2" and aux[0]["Digest"].startswith("sha256:")
    assert not any("error" in e for e in events)

    api.remove_image(ref)
    try:
        events = list(api.pull(f"{registry.host}/sdk/big", tag="v2", stream=True, decode=True))
        assert events[0] == {"status": "Pulling from sdk/big", "id": "v2"}
        layer_ids = {e["id"] for e in events if e.get("status") == "Pulling fs layer"}
        assert layer_ids
        for status in ("Downloading", "Verifying Checksum", "Download complete",
                       "Extracting", "Pull complete"):
            seen = {e["id"] for e in events if e.get("status") == status}
            assert seen == layer_ids, status
        downloading = [e for e in events if e.get("status") == "Downloading"]
        assert all(e["progress"].startswith("[") and e["progressDetail"]["total"] > 0
                   for e in downloading)
        assert events[-1]["status"] == f"Status: Downloaded newer image for {ref}"
        # not streamed: the SDK's model API
        client = daemon.client()
        image = client.images.pull(f"{registry.host}/sdk/big", tag="v2")
        assert ref in image.tags
        data = client.images.get_registry_data(ref)
        assert data.id == aux[0]["Digest"]
        assert data.has_platform("linux/amd64") or data.has_platform(
            f"linux/{image.attrs['Architecture']}")
    finally:
        api.remove_image(ref, force=True)


def test_pull_errors_answer_as_docker_does(daemon, registry):
    client = daemon.client()
    with pytest.raises(docker.errors.NotFound) as err:
        client.images.pull(f"{registry.host}/nobody/here", tag="v1")
    assert err.value.explanation == (f"manifest for {registry.host}/nobody/here:v1 not found: "
                                     "manifest unknown: manifest unknown")
    with pytest.raises(docker.errors.APIError) as err:
        client.api.pull("Not/A/Valid/Name", tag="x")
    assert err.value.status_code == 400
    assert "invalid reference format" in err.value.explanation
    with tempfile.TemporaryDirectory():
        port = registry.port + 1 if registry.port < 65535 else registry.port - 1
        with pytest.raises(docker.errors.APIError) as err:
            client.api.pull(f"127.0.0.1:{port}/x/y", tag="1")
        assert "connect: connection refused" in err.value.explanation
    # as dockerd: the repository line, then the error in the stream
    events = list(client.api.push(f"{registry.host}/not/tagged", tag="v1", stream=True,
                                  decode=True))
    assert events[0] == {"status": f"The push refers to repository [{registry.host}/not/tagged]"}
    assert events[-1]["error"] == ("An image does not exist locally with the tag: "
                                   f"{registry.host}/not/tagged")
    assert client.ping()


def test_a_tampered_blob_fails_the_pull_and_leaves_nothing(daemon, registry):
    api = daemon.api()
    payload = layer_tar({"hello.txt": b"x" * 50_000})
    blob = gzip.compress(payload)
    repo = "evil/tampered"
    layer_digest = registry.put_blob(repo, blob)
    config = image_config(["sha256:" + hashlib.sha256(payload).hexdigest()])
    config_digest = registry.put_blob(repo, config)
    registry.put_manifest(repo, "v1", {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": len(blob)}]},
        "application/vnd.oci.image.manifest.v1+json")
    path = registry.blob_path(layer_digest)
    path.write_bytes(gzip.compress(layer_tar({"hello.txt": b"y" * 50_000}))[:len(blob)]
                     .ljust(len(blob), b"\0"))
    layer_dir = daemon.data_root / "image" / "overlay2" / "layerdb" / "sha256"
    before = set(os.listdir(layer_dir))
    drivers = set(os.listdir(daemon.data_root / "overlay2"))
    events = list(api.pull(f"{registry.host}/{repo}", tag="v1", stream=True, decode=True))
    assert events[-1]["error"] == f"filesystem layer verification failed for digest {layer_digest}"
    assert events[-1]["errorDetail"] == {"message": events[-1]["error"]}
    assert set(os.listdir(layer_dir)) == before
    assert set(os.listdir(daemon.data_root / "overlay2")) == drivers
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(f"{registry.host}/{repo}:v1")


def test_oci_index_chooses_the_platform_and_reads_zstd_and_plain_layers(daemon, registry):
    zstd = pytest.importorskip("zstandard")
    api = daemon.api()
    repo = "multi/arch"
    manifests = []
    for arch, text in (("amd64", b"amd64 here\n"), ("arm64", b"arm64 here\n")):
        plain = layer_tar({"arch.txt": text})
        packed = zstd.ZstdCompressor().compress(layer_tar({"second.txt": b"zstd layer\n"}))
        second = zstd.ZstdDecompressor().decompress(packed)
        diffs = ["sha256:" + hashlib.sha256(t).hexdigest() for t in (plain, second)]
        config = image_config(diffs, arch)
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": registry.put_blob(repo, config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": registry.put_blob(repo, plain), "size": len(plain)},
                       {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                        "digest": registry.put_blob(repo, packed), "size": len(packed)}]}
        data = json.dumps(manifest).encode()
        digest = registry.put_manifest(repo, f"only-{arch}", manifest, manifest["mediaType"])
        manifests.append({"mediaType": manifest["mediaType"], "digest": digest,
                          "size": len(data), "platform": {"os": "linux", "architecture": arch}})
    index_digest = registry.put_manifest(repo, "v1", {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": list(reversed(manifests))}, "application/vnd.oci.image.index.v1+json")
    ref = f"{registry.host}/{repo}:v1"
    try:
        api.pull(f"{registry.host}/{repo}", tag="v1", platform="linux/arm64")
        info = api.inspect_image(ref)
        assert info["Architecture"] == "arm64"
        assert info["RepoDigests"] == [f"{registry.host}/{repo}@{index_digest}"]
        api.remove_image(ref)
        api.pull(f"{registry.host}/{repo}", tag="v1", platform="linux/amd64")
        assert api.inspect_image(ref)["Architecture"] == "amd64"
        ctr = api.create_container(ref, ["cat", "/arch.txt", "/second.txt"])
        # the image has no shell: the layers' files are read through the archive API
        bits, _ = api.get_archive(ctr, "/arch.txt")
        assert b"amd64 here" in b"".join(bits)
        bits, _ = api.get_archive(ctr, "/second.txt")
        assert b"zstd layer" in b"".join(bits)
        api.remove_container(ctr)
        with pytest.raises(docker.errors.NotFound) as err:
            api.pull(f"{registry.host}/{repo}", tag="v1", platform="linux/s390x")
        assert "no matching manifest for linux/s390x" in err.value.explanation
    finally:
        for image in (ref,):
            try:
                api.remove_image(image, force=True)
            except docker.errors.APIError:
                pass


# -- broken connections --------------------------------------------------------
def test_a_dropped_download_is_resumed(daemon, registry, big_image):
    from .registries import DroppingProxy
    api = daemon.api()
    api.tag(big_image, f"{registry.host}/drop/big", "v1")
    assert "error" not in list(api.push(f"{registry.host}/drop/big", tag="v1", stream=True,
                                        decode=True))[-1]
    proxy = DroppingProxy(registry.port, drops=2).start()
    ref = f"{proxy.host}/drop/big:v1"
    try:
        api.remove_image(api.inspect_image(big_image)["Id"], force=True)  # every tag
        events = list(api.pull(f"{proxy.host}/drop/big", tag="v1", stream=True, decode=True))
        assert not any("error" in e for e in events), events[-1]
        assert proxy.dropped == 2
        assert any(e.get("status", "").startswith("Retrying in") for e in events)
        ctr = api.create_container(ref, ["sh", "-c", "wc -c < /random.bin"])
        api.start(ctr)
        api.wait(ctr)
        assert api.logs(ctr).strip() == b"3000000"
        api.remove_container(ctr)
    finally:
        proxy.stop()
        try:
            api.tag(ref, "dpy-test/big", "1")
            api.remove_image(ref)
        except docker.errors.APIError:
            pass


# -- registries that lie ------------------------------------------------------------------------
def _store_state(daemon) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    layer_dir = daemon.data_root / "image" / "overlay2" / "layerdb" / "sha256"
    return set(os.listdir(layer_dir)), set(os.listdir(daemon.data_root / "overlay2"))


def test_a_manifest_that_lies_about_sizes_fails_cleanly(daemon, registry):
    api = daemon.api()
    payload = layer_tar({"lie.txt": os.urandom(30_000)})
    blob = gzip.compress(payload)
    repo = "evil/sizes"
    digest = registry.put_blob(repo, blob)
    config = image_config(["sha256:" + hashlib.sha256(payload).hexdigest()])
    config_digest = registry.put_blob(repo, config)
    before = _store_state(daemon)
    for tag, size, message in (
            ("small", len(blob) - 100, "is larger than its manifest says"),
            ("big", len(blob) + 100, "is shorter than its manifest says")):
        registry.put_manifest(repo, tag, {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": digest, "size": size}]},
            "application/vnd.oci.image.manifest.v1+json")
        events = list(api.pull(f"{registry.host}/{repo}", tag=tag, stream=True, decode=True))
        assert message in events[-1].get("error", ""), events[-1]
        assert not any(e.get("status", "").startswith("Retrying") for e in events)
    assert _store_state(daemon) == before
    spool = daemon.data_root / "tmp"
    assert not spool.exists() or not [n for n in os.listdir(spool) if n.startswith("pull-")]


@pytest.fixture
def garbage_registry() -> Iterator[str]:
    """A server that speaks the registry API badly (no real registry does, so a
    small one of the test's own): each tag is a different kind of garbage."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    answers = {
        "notjson": (200, "application/vnd.oci.image.manifest.v1+json", b"{this is not json"),
        "nullconfig": (200, "application/vnd.oci.image.manifest.v1+json",
                       b'{"schemaVersion":2,"config":null,"layers":[]}'),
        "wrongtypes": (200, "application/vnd.oci.image.manifest.v1+json",
                       b'{"schemaVersion":2,"config":{"digest":5,"size":"x"},"layers":{}}'),
        "both": (200, "application/vnd.oci.image.index.v1+json",
                 b'{"schemaVersion":2,"manifests":[],"layers":[]}'),
        "schema1": (200, "application/vnd.docker.distribution.manifest.v1+prettyjws",
                    b'{"schemaVersion":1,"name":"x","tag":"schema1","fsLayers":[]}'),
        "huge": (200, "application/vnd.oci.image.manifest.v1+json", b" " * (5 << 20)),
        "error500": (500, "text/html", b"<html>oops</html>"),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            tag = self.path.rsplit("/", 1)[-1]
            if tag == "hang":  # a registry that stops answering
                import time
                time.sleep(30)
                return
            status, ctype, body = answers.get(tag, (200, "application/json", b"{}"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("tag,status,text", [
    ("notjson", 500, "invalid manifest: not JSON"),
    ("nullconfig", 500, "invalid manifest: config is not an object"),
    ("wrongtypes", 500, "invalid manifest: layers is not a list"),
    ("both", 500, "a document is both a manifest and an index"),
    ("schema1", 400, "schema 1 support has been removed"),
    ("huge", 500, "manifest too big"),
    ("error500", 500, "500 Internal Server Error"),
])
def test_garbage_from_a_registry_is_an_error_not_a_crash(daemon, garbage_registry, tag,
                                                         status, text):
    api = daemon.api()
    before = _store_state(daemon)
    with pytest.raises(docker.errors.APIError) as err:
        api.pull(f"{garbage_registry}/bad/image", tag=tag)
    assert err.value.status_code == status
    assert text in err.value.explanation
    assert _store_state(daemon) == before
    assert api.ping()


def test_pull_with_a_driver_whose_layers_need_their_parents(workdir, rootfs_tar, registry):
    """vfs stacks copies: blobs are spooled, then applied bottom up."""
    with busybox_daemon(workdir, rootfs_tar, "vfs", extra_args=["--storage-driver", "vfs"]) as d:
        api = d.api()
        ctr = api.create_container("busybox:latest", ["sh", "-c", "echo second > /second"])
        api.start(ctr)
        api.wait(ctr)
        api.commit(ctr, f"{registry.host}/vfs/two", "v1")
        api.remove_container(ctr)
        events = list(api.push(f"{registry.host}/vfs/two", tag="v1", stream=True, decode=True))
        assert "error" not in events[-1], events[-1]
        image_id = api.inspect_image(f"{registry.host}/vfs/two:v1")["Id"]
        api.remove_image(f"{registry.host}/vfs/two:v1")
        api.remove_image("busybox:latest")
        events = list(api.pull(f"{registry.host}/vfs/two", tag="v1", stream=True, decode=True))
        assert "error" not in events[-1], events[-1]
        assert api.inspect_image(f"{registry.host}/vfs/two:v1")["Id"] == image_id
        out = d.docker_py("run", "--rm", f"{registry.host}/vfs/two:v1", "cat", "/second")
        assert out.stdout.decode().strip() == "second", out.stderr
        assert not [n for n in os.listdir(d.data_root / "tmp") if n.startswith("pull-")]


def test_run_pulls_a_missing_image_and_pull_all_tags(daemon, registry):
    if not os.path.exists(DOCKER_CLI):
        pytest.skip("the Docker CLI is not installed")
    api = daemon.api()
    repo = f"{registry.host}/runpull/bb"
    for tag in ("a", "b"):
        api.tag("busybox:latest", repo, tag)
        assert "error" not in list(api.push(repo, tag=tag, stream=True, decode=True))[-1]
        api.remove_image(f"{repo}:{tag}")
    since = int(__import__("time").time()) - 1
    run = daemon.docker("run", "--rm", f"{repo}:a", "echo", "pulled and ran")
    assert run.returncode == 0, run.stderr
    assert f"Unable to find image '{repo}:a' locally" in run.stderr.decode()
    assert run.stdout.decode().strip() == "pulled and ran"
    events = api.events(since=since, until=int(__import__("time").time()) + 1, decode=True,
                        filters={"type": "image", "event": "pull"})
    assert any(e["Actor"]["ID"] == f"{repo}:a" for e in events)
    pulled = daemon.docker("pull", "-a", repo)
    assert pulled.returncode == 0, pulled.stderr
    tags = set(api.inspect_image(f"{repo}:b")["RepoTags"])
    assert {f"{repo}:a", f"{repo}:b"} <= tags
    search = daemon.docker("search", f"{registry.host}/bb")
    assert search.returncode == 1
    assert "Unexpected status code 404" in search.stderr.decode()
    for tag in ("a", "b"):
        api.remove_image(f"{repo}:{tag}")


def test_parallel_pulls_of_shared_layers_keep_counts_right(daemon, registry, big_image):
    from concurrent.futures import ThreadPoolExecutor
    api = daemon.api()
    repo = f"{registry.host}/par/big"
    api.tag(big_image, repo, "v1")
    assert "error" not in list(api.push(repo, tag="v1", stream=True, decode=True))[-1]
    image_id = api.inspect_image(big_image)["Id"]
    api.remove_image(image_id, force=True)
    before = _store_state(daemon)

    def pull(_: int) -> dict:
        return list(daemon.api().pull(repo, tag="v1", stream=True, decode=True))[-1]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(pull, range(4)))
    assert all("error" not in r for r in results), results
    assert api.inspect_image(f"{repo}:v1")["Id"] == image_id
    api.tag(f"{repo}:v1", "dpy-test/big", "1")
    api.remove_image(f"{repo}:v1")
    api.remove_image(image_id, force=True)
    assert _store_state(daemon)[0] <= before[0]     # every layer this pull made went
    api.pull(repo, tag="v1")
    api.tag(f"{repo}:v1", "dpy-test/big", "1")
    api.remove_image(f"{repo}:v1")


def test_a_registry_that_stops_answering_fails_the_pull_in_time(workdir, garbage_registry):
    from .conftest import new_daemon
    d = new_daemon(workdir, "stall")
    try:
        d.start(env={**os.environ, "DPY_REGISTRY_TIMEOUT": "2"})
        api = d.api()
        started = __import__("time").monotonic()
        with pytest.raises(docker.errors.APIError) as err:
            api.pull(f"{garbage_registry}/bad/image", tag="hang")
        assert __import__("time").monotonic() - started < 20
        assert err.value.status_code == 500
        assert "timeout" in err.value.explanation
        assert api.ping()
    finally:
        d.cleanup()
