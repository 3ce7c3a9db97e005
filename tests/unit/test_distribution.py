"""The registry client's pure parts: progress text, challenges, credentials,
manifests and platforms, registry hosts and their TLS files."""
from __future__ import annotations

import base64
import json
import socket
import ssl
import threading

import pytest

from dockerd_py.distribution import manifests as mf
from dockerd_py.distribution.auth import (
    Credentials,
    TokenCache,
    credentials_from_header,
    may_send_credentials,
    parse_challenges,
)
from dockerd_py.distribution.hosts import RegistryHosts, normalize_mirror, tls_context
from dockerd_py.distribution.progress import progress_text
from dockerd_py.errors import InvalidParameter
from shared import reference as refs

DIGEST = "sha256:" + "a" * 64


def test_progress_text_is_dockerds_bar():
    assert progress_text(0, 0) == ""
    assert progress_text(3696, 1099647) == \
        "[>" + " " * 50 + "]  3.696kB/1.1MB"
    assert progress_text(1099647, 1099647) == "[" + "=" * 50 + ">]    1.1MB/1.1MB"
    assert progress_text(2048, 0) == " 2.048kB"


def test_challenges_are_parsed_with_quotes_and_bare_values():
    [bearer] = parse_challenges(['Bearer realm="https://auth.example/token",'
                                 'service="registry.example",scope="repository:a/b:pull"'])
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.example/token",
                             "service": "registry.example", "scope": "repository:a/b:pull"}
    [basic] = parse_challenges(["Basic realm=test"])
    assert basic.scheme == "basic" and basic.params["realm"] == "test"


def test_credentials_go_only_where_they_are_safe():
    assert may_send_credentials("https://auth.example/token", "http://reg:5000")
    assert may_send_credentials("http://reg:9000/token", "http://reg:5000")
    assert not may_send_credentials("http://evil.example/token", "http://reg:5000")


def test_x_registry_auth_decodes_like_dockerd():
    doc = {"username": "u", "password": "p+/=?", "serveraddress": "reg:5000"}
    raw = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    creds = credentials_from_header(raw)
    assert (creds.username, creds.password, creds.server_address) == ("u", "p+/=?", "reg:5000")
    auth = base64.b64encode(b"joe:secret").decode()
    creds = credentials_from_header(base64.b64encode(json.dumps({"auth": auth}).encode()).decode())
    assert (creds.username, creds.password) == ("joe", "secret")
    assert credentials_from_header("%%%not base64").empty
    assert "secret" not in repr(creds)


def test_token_cache_keeps_tokens_apart_by_credentials():
    cache = TokenCache()
    a, b = Credentials("a", "1"), Credentials("a", "2")
    cache.put(("realm", "svc", "scope", a.fingerprint), "tok", 300)
    assert cache.get(("realm", "svc", "scope", a.fingerprint)) == "tok"
    assert cache.get(("realm", "svc", "scope", b.fingerprint)) is None


def _manifest(**extra: object) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
           "config": {"mediaType": mf.DOCKER_CONFIG, "digest": DIGEST, "size": 2},
           "layers": [{"mediaType": mf.DOCKER_LAYER_GZIP, "digest": DIGEST, "size": 3}]}
    doc.update(extra)
    return json.dumps(doc).encode()


def test_manifests_are_checked_before_use():
    kind, doc = mf.parse(_manifest(), mf.DOCKER_MANIFEST)
    assert kind == "image" and doc.layers[0].size == 3
    with pytest.raises(mf.ManifestError, match="both a manifest and an index"):
        mf.parse(_manifest(manifests=[]), mf.DOCKER_MANIFEST)
    with pytest.raises(mf.ManifestError, match="invalid digest"):
        mf.parse(_manifest(layers=[{"digest": "sha256:../..", "size": 1}]), "")
    with pytest.raises(mf.ManifestError, match="invalid size"):
        mf.parse(_manifest(layers=[{"digest": DIGEST, "size": "big"}]), "")
    with pytest.raises(mf.ManifestError, match="not a list"):
        mf.parse(_manifest(layers=None), "")
    with pytest.raises(mf.ManifestError, match="more than"):
        mf.parse(_manifest(layers=[{"digest": DIGEST, "size": 1}] * 1001), "")
    with pytest.raises(mf.ManifestError):
        mf.parse(b"[1, 2]", "")
    assert mf.parse(b'{"schemaVersion": 1, "fsLayers": []}', "")[0] == "schema1"
    ref = refs.parse("busybox:old")
    assert "schema 1 support has been removed" in mf.schema1_message(ref)


def test_platform_choice():
    def desc(arch: str, variant: str = "") -> mf.Descriptor:
        platform = {"os": "linux", "architecture": arch}
        if variant:
            platform["variant"] = variant
        return mf.Descriptor(mf.OCI_MANIFEST, DIGEST, 1, platform)
    items = [desc("arm", "v7"), desc("arm64", "v8"), desc("amd64")]
    assert mf.choose_platform(items, "linux", "amd64") is items[2]
    assert mf.choose_platform(items, "linux", "arm64") is items[1]
    assert mf.choose_platform(items, "linux", "arm", "v7") is items[0]
    assert mf.choose_platform(items, "linux", "s390x") is None


def test_registry_hosts_follow_dockers_rules():
    hosts = RegistryHosts(["https://mirror.example"], ["10.1.0.0/16", "reg.example:5000"],
                          "/nonexistent")
    assert [e.url for e in hosts.endpoints("docker.io")] == [
        "https://mirror.example", "https://registry-1.docker.io"]
    assert [e.url for e in hosts.endpoints("docker.io", with_mirrors=False)] == [
        "https://registry-1.docker.io"]
    assert [e.url for e in hosts.endpoints("127.0.0.1:5000")] == [
        "https://127.0.0.1:5000", "http://127.0.0.1:5000"]
    assert [e.url for e in hosts.endpoints("[::1]:5000")][1] == "http://[::1]:5000"
    assert hosts.is_insecure("reg.example:5000")
    assert hosts.is_insecure("10.1.2.3:443")
    assert not hosts.is_insecure("10.2.0.1:443")
    assert [e.url for e in hosts.endpoints("10.2.0.1:443")] == ["https://10.2.0.1:443"]
    assert normalize_mirror("http://m:5000/") == "http://m:5000"
    for bad in ("m:5000", "ftp://m", "https://m/path"):
        with pytest.raises(InvalidParameter):
            normalize_mirror(bad)


def test_tls_context_trusts_the_ca_in_certs_d_and_needs_pairs(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def handshake(ctx: ssl.SSLContext) -> None:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                pass
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tls_context(str(tmp_path / "127.0.0.1:1"), verify=True))
    host_dir = tmp_path / "127.0.0.1:1"
    host_dir.mkdir()
    ca.cert_pem.write_to_path(str(host_dir / "ca.crt"))
    handshake(tls_context(str(host_dir), verify=True))
    thread.join(5)
    listener.close()
    (host_dir / "client.cert").write_text("x")
    with pytest.raises(InvalidParameter, match="missing key client.key"):
        tls_context(str(host_dir), verify=True)


def test_cli_progress_display_redraws_layer_lines_on_a_terminal():
    import io

    from docker_cli.errors import CLIError
    from docker_cli.formatting.progress import display
    messages = [
        {"status": "Pulling from t/bb", "id": "v1"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
        {"status": "Downloading", "progressDetail": {"current": 1, "total": 2},
         "progress": "[=>  ] 1B/2B", "id": "aaa"},
        {"status": "Digest: sha256:x"},
    ]
    tty = io.StringIO()
    display(messages, tty, tty=True)
    text = tty.getvalue()
    assert "\x1b[2A\x1b[2K\raaa: Downloading [=>  ] 1B/2B\r\x1b[2B" in text
    plain = io.StringIO()
    display(messages, plain, tty=False)
    assert plain.getvalue() == ("v1: Pulling from t/bb\naaa: Pulling fs layer\n"
                                "bbb: Pulling fs layer\nDigest: sha256:x\n")
    with pytest.raises(CLIError, match="boom"):
        display([{"errorDetail": {"message": "boom"}, "error": "boom"}], io.StringIO(), tty=False)


def test_platform_specifiers_read_as_containerd_reads_them():
    from dockerd_py.daemon.images.shapes import go_arch, parse_platform
    from dockerd_py.errors import InvalidParameter
    assert parse_platform("linux") == ("linux", go_arch(), "")
    assert parse_platform("aarch64") == ("linux", "arm64", "")
    assert parse_platform("Linux/x86_64") == ("linux", "amd64", "")
    assert parse_platform("linux/armhf") == ("linux", "arm", "")
    assert parse_platform("linux/arm/6") == ("linux", "arm", "v6")
    assert parse_platform("linux/arm64/v8") == ("linux", "arm64", "v8")
    assert parse_platform("windows/amd64") == ("windows", "amd64", "")
    for text, words in (
            ("foobar", '"foobar": unknown operating system or architecture: invalid argument'),
            ("linux/*", '"linux/*": wildcards not yet supported: invalid argument'),
            ("linux//", '"" is an invalid component of "linux//": platform specifier component '
                        'must match "^[A-Za-z0-9_-]+$": invalid argument'),
            ("a/b/c/d", '"a/b/c/d": cannot parse platform specifier: invalid argument')):
        with pytest.raises(InvalidParameter) as err:
            parse_platform(text)
        assert err.value.message == words
