"""The CLI's own HTTP/1.1: bodies of every framing the daemon (aiohttp) sends, and
what a broken answer gives."""
from __future__ import annotations

import socket
import threading

import pytest

from docker_cli import http


def answer(raw: bytes, method: str = "GET") -> tuple[http.Response, bytes]:
    """A Response read from a peer that sends raw; what the request looked like."""
    ours, theirs = socket.socketpair()
    got = []

    def peer() -> None:
        got.append(theirs.recv(65536))
        theirs.sendall(raw)
        theirs.close()
    t = threading.Thread(target=peer)
    t.start()
    http.send_request(ours, method, "/v1.44/x", {"X-A": "1"}, b"{}" if method == "POST" else None)
    resp = http.Response(ours, method)
    t.join()
    return resp, got[0]


def test_fixed_length_body_and_request_head():
    resp, sent = answer(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 11\r\n\r\n{\"Id\":\"a\"}\nEXTRA", "POST")
    assert resp.status == 201 and resp.headers.get("content-TYPE") == "application/json"
    assert resp.read() == b"{\"Id\":\"a\"}\n"     # nothing past Content-Length
    assert sent.startswith(b"POST /v1.44/x HTTP/1.1\r\n")
    assert b"X-A: 1\r\n" in sent and sent.endswith(b"Content-Length: 2\r\n\r\n{}")


def test_chunked_body_streams_and_ends_at_the_last_chunk():
    resp, _ = answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n")
    parts = []
    while chunk := resp.read1(3):
        parts.append(chunk)
    assert b"".join(parts) == b"hello world" and max(map(len, parts)) <= 3
    assert resp.read1() == b""


def test_no_body_statuses_and_until_close():
    resp, _ = answer(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert resp.status == 204 and resp.read() == b""
    resp, _ = answer(b"HTTP/1.1 200 OK\r\n\r\nall of it")
    assert resp.read() == b"all of it"


def test_chunked_body_sent_for_an_iterator():
    ours, theirs = socket.socketpair()
    http.send_request(ours, "POST", "/build", {}, iter([b"ab", b"", b"cde"]))
    ours.close()
    data = b""
    while chunk := theirs.recv(65536):
        data += chunk
    assert data.endswith(b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")


@pytest.mark.parametrize("raw", [b"garbage\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b""])
def test_malformed_heads_are_protocol_errors(raw):
    with pytest.raises(http.ProtocolError):
        answer(raw)


def test_a_body_cut_short_is_an_error():
    resp, _ = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    with pytest.raises(http.ProtocolError):
        resp.read()
    resp, _ = answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc")
    with pytest.raises(http.ProtocolError):
        resp.read()
