import pytest

from shared import reference as r


@pytest.mark.parametrize("text,canonical,familiar", [
    ("busybox", "docker.io/library/busybox", "busybox"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox", "busybox"),
    ("docker.io/busybox", "docker.io/library/busybox", "busybox"),
    ("index.docker.io/user/app:v", "docker.io/user/app:v", "user/app:v"),
    ("localhost:5000/x/y:tag", "localhost:5000/x/y:tag", "localhost:5000/x/y:tag"),
    ("localhost/x", "localhost/x", "localhost/x"),
    ("127.0.0.1:5123/seed/bb:v1", "127.0.0.1:5123/seed/bb:v1", "127.0.0.1:5123/seed/bb:v1"),
    ("a/b/c", "docker.io/a/b/c", "a/b/c"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64,
     "busybox@sha256:" + "a" * 64),
])
def test_normalise(text, canonical, familiar):
    ref = r.parse(text)
    assert ref.canonical() == canonical
    assert ref.familiar() == familiar


def test_default_tag():
    assert r.parse_normalized_named("busybox").familiar() == "busybox:latest"
    assert r.parse_normalized_named("busybox@sha256:" + "b" * 64).tag is None


@pytest.mark.parametrize("text,message", [
    ("", "invalid reference format"),
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("busybox:", "invalid reference format"),
    ("bad name", "invalid reference format"),
    ("busybox@sha256:abc", "invalid reference format"),
])
def test_invalid(text, message):
    with pytest.raises(r.ReferenceError) as err:
        r.parse(text)
    assert message in str(err.value)


def test_repository_tag_combination():
    assert r.parse_repository_tag("x/y", "v2").familiar() == "x/y:v2"
    assert r.parse_repository_tag("x/y", None).familiar() == "x/y:latest"
    assert r.parse_repository_tag("x/y", "sha256:" + "c" * 64).digest == "sha256:" + "c" * 64
