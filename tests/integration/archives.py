"""Image archives in the layouts real Docker writes, built here from layer tars:

- legacy docker-archive (Docker 1.10 to 24): <v1id>/{VERSION,json,layer.tar},
  <config>.json, manifest.json, repositories;
- Docker 25+ with its own image store: an OCI layout that is also a docker-archive
  (what dockerd-py writes);
- Docker 28 with the containerd image store: gzip-compressed OCI blobs, a nested
  index (manifest list) and annotations naming the image.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from typing import Any


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_config(layers: list[bytes], cmd: list[str] | None = None) -> bytes:
    doc = {"architecture": "amd64", "os": "linux",
           "created": "2024-01-02T03:04:05.123456789Z",
           "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/usr/bin:/bin"]},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(x) for x in layers]},
           "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"}
                       for i in range(len(layers))]}
    return json.dumps(doc).encode()


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def legacy_archive(layers: list[bytes], config: bytes, tags: list[str]) -> bytes:
    members: list[tuple[str, bytes]] = []
    layer_paths = []
    parent = ""
    for layer in layers:
        v1id = sha(f"{parent}{sha(layer)}".encode())
        v1 = {"id": v1id, "created": "1970-01-01T00:00:00Z", "os": "linux"}
        if parent:
            v1["parent"] = parent
        members += [(f"{v1id}/VERSION", b"1.0"), (f"{v1id}/json", json.dumps(v1).encode()),
                    (f"{v1id}/layer.tar", layer)]
        layer_paths.append(f"{v1id}/layer.tar")
        parent = v1id
    config_name = f"{sha(config)}.json"
    members.append((config_name, config))
    manifest = [{"Config": config_name, "RepoTags": tags, "Layers": layer_paths}]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    repos: dict[str, dict[str, str]] = {}
    for tag in tags:
        repo, _, name = tag.rpartition(":")
        repos.setdefault(repo, {})[name] = parent
    members.append(("repositories", json.dumps(repos).encode()))
    return _tar(members)


def containerd_archive(layers: list[bytes], config: bytes, name: str,
                       nested: bool = True) -> bytes:
    """What `docker save` writes with the containerd image store (Docker 28)."""
    blobs: dict[str, bytes] = {}
    layer_descs = []
    for layer in layers:
        compressed = gzip.compress(layer, mtime=0)
        blobs[sha(compressed)] = compressed
        layer_descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": "sha256:" + sha(compressed), "size": len(compressed)})
    blobs[sha(config)] = config
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": "sha256:" + sha(config), "size": len(config)},
                           "layers": layer_descs}).encode()
    blobs[sha(manifest)] = manifest
    top: dict[str, Any] = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": "sha256:" + sha(manifest), "size": len(manifest),
                           "platform": {"architecture": "amd64", "os": "linux"}}
    if nested:
        inner = json.dumps({"schemaVersion": 2,
                            "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": [top]}).encode()
        blobs[sha(inner)] = inner
        top = {"mediaType": "application/vnd.oci.image.index.v1+json",
               "digest": "sha256:" + sha(inner), "size": len(inner)}
    repo, _, tag = name.rpartition(":")
    top = dict(top, annotations={"io.containerd.image.name": f"docker.io/library/{name}"
                                 if "/" not in repo else name,
                                 "org.opencontainers.image.ref.name": tag})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [top]}).encode()
    docker_manifest = [{"Config": f"blobs/sha256/{sha(config)}", "RepoTags": [name],
                        "Layers": [f"blobs/sha256/{d['digest'][7:]}" for d in layer_descs]}]
    members = [(f"blobs/sha256/{h}", data) for h, data in sorted(blobs.items())]
    members += [("index.json", index), ("manifest.json", json.dumps(docker_manifest).encode()),
                ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')]
    return _tar(members)


def oci_only_archive(layers: list[bytes], config: bytes, name: str | None) -> bytes:
    """A plain OCI layout (no manifest.json), as skopeo or buildah write it."""
    raw = containerd_archive(layers, config, name or "x:y", nested=False)
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(raw)) as src, \
            tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                continue
            if member.name == "index.json" and name is None:
                index = json.loads(data)
                for desc in index["manifests"]:
                    desc.pop("annotations", None)
                data = json.dumps(index).encode()
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


def members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def rebuild(files: dict[str, bytes]) -> bytes:
    return _tar(list(files.items()))
