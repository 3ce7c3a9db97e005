from shared import stdcopy


def test_frame_header_layout():
    framed = stdcopy.frame(stdcopy.STDERR, b"hello")
    assert framed[:8] == b"\x02\x00\x00\x00\x00\x00\x00\x05"
    assert framed[8:] == b"hello"
    assert stdcopy.parse_header(framed[:8]) == (2, 5)


def test_demuxer_reassembles_split_frames():
    data = stdcopy.frame(1, b"out") + stdcopy.frame(2, b"err" * 1000) + stdcopy.frame(1, b"")
    demux = stdcopy.Demuxer()
    got = []
    for i in range(0, len(data), 7):
        got.extend(demux.feed(data[i:i + 7]))
    assert got == [(1, b"out"), (2, b"err" * 1000), (1, b"")]
    assert demux.pending == 0


def test_large_payload_length_is_big_endian():
    payload = b"x" * 70000
    header = stdcopy.frame(1, payload)[:8]
    assert int.from_bytes(header[4:], "big") == 70000
