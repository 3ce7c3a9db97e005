"""The hostile-value corpus, beside the schema-driven fuzzer: every value that
once earned a 500 or hung the daemon (the reliability findings), sent over every
route the daemon serves (read from the routers themselves, so a new route is in
it at once): in each path parameter, in every query key a route may read, and as
each body. No answer may be a 5xx (but the documented 501/503), every error has a
`{"message"}` body, and the daemon lives on with its descriptors and threads as
they were. Needs nothing from outside the repository."""
from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import DOCKERDS_OWN_500S, busybox_daemon
from .daemonctl import Daemon
from .rawhttp import open_stream

ROUTERS = Path(__file__).resolve().parents[2] / "dockerd_py" / "server" / "routers"
ALLOWED_5XX = {501, 503}
# Routes that dial out for their work (a pull, a push, a login, a search, a
# registry's manifest) or that the corpus cannot reach without a live session.
OUTSIDE = {("POST", "/images/create"), ("POST", "/images/{name}/push"), ("POST", "/auth"),
           ("GET", "/distribution/{name}/json"), ("GET", "/images/search"),
           ("GET", "/containers/{id}/attach/ws")}

# Values of the findings: a NUL, past NAME_MAX and PATH_MAX, a climb out, a
# number no int64 holds, a 5,000-digit number, JSON nested 100,000 deep.
VALUES = ["a\x00b", "x" * 300, "a/" * 3000, "../../../../../etc/passwd",
          "9223372036854775808", "1" * 5000, "[" * 100_000, "-1", "\u202e\udcff"[:1]]
QUERY_KEYS = ["path", "name", "t", "tag", "repo", "fromSrc", "filters", "filter", "since",
              "until", "tail", "signal", "condition", "ps_args", "h", "w", "detachKeys", "all",
              "force", "v", "link", "changes", "container", "comment", "author", "limit",
              "platform", "buildargs", "labels", "cachefrom", "dockerfile", "extrahosts",
              "timeout", "stream", "follow", "stdout", "stderr", "size", "digests",
              "noOverwriteDirNonDir", "copyUIDGID", "pause", "keep-storage", "type", "q"]
BODIES = [b"[" * 100_000, b'{"Image": ' + b"1" * 5000 + b"}",
          b'{"Name": "a\\u0000b", "Image": "busybox", "Cmd": ["true"]}',
          b'{"HostConfig": {"Memory": 9223372036854775808}}', b"\x00\xff\xfe", b"null",
          b"[]", b'"x"', b'{"Cmd": [1, 2]}']


QUERY_BUDGET = 900 << 10  # bytes of one request's query: within Go's 1 MiB head


def queries(value: str) -> Iterator[str]:
    """Every query key set to value, as few requests as keep each within budget."""
    quoted = quote(value, safe="")
    group: list[str] = []
    size = 0
    for key in QUERY_KEYS:
        part = f"{key}={quoted}"
        if group and size + len(part) > QUERY_BUDGET:
            yield "&".join(group)
            group, size = [], 0
        group.append(part)
        size += len(part) + 1
    yield "&".join(group)


def routes() -> list[tuple[str, str]]:
    """(method, path) of every route the routers add, path parameters as {x}."""
    found = set()
    for source in ROUTERS.glob("*.py"):
        for method, path in re.findall(r'add\("([A-Z]+)", "([^"]+)"', source.read_text()):
            found.add((method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)))
    return sorted(found - OUTSIDE)


def send(d: Daemon, method: str, target: str, body: bytes | None = None,
         content_type: str = "application/json", wait: float = 30.0) -> tuple[int, bytes]:
    """The status, and the body of an error (a success's head is its answer: a
    stream that started is not waited for)."""
    headers = {"Connection": "close", "Content-Type": content_type}
    s, status, _, parsed, rest = open_stream(d.sock, method, target, headers, body, wait)
    try:
        length = int(parsed.get("content-length") or 0)
        while status >= 400 and len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    finally:
        s.close()
    return status, rest


def check(failures: list[str], what: str, status: int, body: bytes) -> None:
    if status >= 500 and status not in ALLOWED_5XX and \
            not any(words.encode() in body for words in DOCKERDS_OWN_500S):
        failures.append(f"{what} -> {status}: {body[:160]!r}")
    elif 400 <= status < 600 and not what.startswith("HEAD "):  # a HEAD answer has no body
        text = body
        if b"\r\n" in body[:8]:  # chunked: the first chunk
            text = body.split(b"\r\n", 2)[1]
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if not (isinstance(doc, dict) and isinstance(doc.get("message"), str)):
            failures.append(f"{what} -> {status}: error body {body[:160]!r}")


@pytest.fixture(scope="module")
def corpus_daemon(workdir, rootfs_tar) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    with busybox_daemon(workdir, rootfs_tar, "corpus") as d:
        yield d


def ensure_targets(d: Daemon) -> dict[str, str]:
    """A running container, an exec, a network and a volume for the routes whose
    other parameters are fuzzed (made again if a fuzzed request removed them)."""
    api = d.api()
    try:
        state = api.inspect_container("target")["State"]
        if state["Paused"]:
            api.unpause("target")
        elif not state["Running"]:
            api.remove_container("target", force=True)
            raise LookupError
    except Exception:  # noqa: BLE001 - gone or stopped: make it again
        # a process that ends on SIGTERM: a fuzzed restart or stop is quick
        api.create_container("busybox", ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                             name="target")
        api.start("target")
    exec_id = api.exec_create("target", ["true"])["Id"]
    if not api.images("target-img"):
        api.tag("busybox:latest", "target-img")  # a tag a fuzzed delete may take away
    if not api.networks(names=["target-net"]):
        api.create_network("target-net")
    api.create_volume("target-vol")
    return {"id": "target", "name": "target-img", "exec": exec_id}


def fill(path: str, targets: dict[str, str], value: str | None = None) -> str:
    """The path with its parameters: value (quoted) in each, else a live object."""
    def one(match: re.Match) -> str:
        if value is not None:
            return quote(value, safe="")
        key = match.group(1)
        if path.startswith("/exec/"):
            return targets["exec"]
        if path.startswith("/networks/"):
            return "target-net"
        if path.startswith("/volumes/"):
            return "target-vol"
        return targets[key] if key in targets else "target"
    return re.sub(r"\{(\w+)\}", one, path)


@pytest.mark.timeout(900)
def test_hostile_corpus_over_every_route(corpus_daemon: Daemon) -> None:
    d = corpus_daemon
    assert d.proc is not None
    pid = d.proc.pid
    ensure_targets(d)
    fds, threads = len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))
    failures: list[str] = []
    sent = 0
    for method, path in routes():
        targets = ensure_targets(d)
        if "{" in path:
            for value in VALUES:
                target = fill(path, targets, value)
                status, body = send(d, method, "/v1.44" + target,
                                    b"{}" if method in ("POST", "PUT") else None)
                check(failures, f"{method} {path} param {value[:20]!r}", status, body)
                sent += 1
        for value in VALUES:
            for query in queries(value):
                target = fill(path, ensure_targets(d) if method != "GET" else targets)
                status, body = send(d, method, f"/v1.44{target}?{query}",
                                    b"{}" if method in ("POST", "PUT") else None)
                check(failures, f"{method} {path} query {value[:20]!r}", status, body)
                sent += 1
        if method in ("POST", "PUT"):
            for payload in BODIES:
                target = fill(path, ensure_targets(d))
                kind = "application/x-tar" if path.endswith(("archive", "load", "build")) \
                    else "application/json"
                status, body = send(d, method, "/v1.44" + target, payload, kind)
                check(failures, f"{method} {path} body {payload[:20]!r}", status, body)
                sent += 1
        assert d.proc.poll() is None, f"the daemon died at {method} {path}"
    time.sleep(1)
    after_fds = len(os.listdir(f"/proc/{pid}/fd"))
    after_threads = len(os.listdir(f"/proc/{pid}/task"))
    print(f"corpus: {sent} requests over {len(routes())} routes; fds {fds}->{after_fds}, "
          f"threads {threads}->{after_threads}")
    assert not failures, "\n".join(failures[:60])
    assert after_fds <= fds + 8 and after_threads <= threads
