"""Docker's json-file format and the daemon's conversion of conmon's output into
it, on files in a temporary directory (no conmon, no root)."""
from __future__ import annotations

import gzip
import json
import os

import pytest

from dockerd_py.logdrivers import filereader, jsonlog
from dockerd_py.logdrivers.drivers.json_file import JsonFileDriver, JsonPump, rotated_files
from dockerd_py.logdrivers.format import STDERR, STDOUT
from dockerd_py.logdrivers.rotation import Policy


def conmon_line(i: int, stream: str = "stdout", tag: str = "F", text: str = "") -> bytes:
    return (f"2026-11-30T08:00:{i % 60:02d}.{i:09d}+00:00 {stream} {tag} "
            f"{text or f'line-{i}'}\n").encode()


def test_entry_is_dockers_layout():
    line = jsonlog.entry(b'say "hi"\t\xff\n', "stderr", "2026-11-30T08:00:00.5Z")
    doc = json.loads(line)
    assert list(doc) == ["log", "stream", "time"]
    assert doc == {"log": 'say "hi"\t\ufffd\n', "stream": "stderr",
                   "time": "2026-11-30T08:00:00.5Z"}
    assert jsonlog.utc_time(b"2026-11-30T08:00:00.500000000+00:00") == "2026-11-30T08:00:00.5Z"
    assert jsonlog.utc_time(b"2026-11-30T09:00:00.000000000+01:00") == "2026-11-30T08:00:00Z"


def test_reader_merges_pieces_and_filters_time():
    lines = [jsonlog.entry(b"a\n", "stdout", "2026-11-30T08:00:01Z"),
             jsonlog.entry(b"long-", "stderr", "2026-11-30T08:00:02Z"),
             jsonlog.entry(b"line\n", "stderr", "2026-11-30T08:00:02.1Z"),
             b'{"log":"go \\u003e\\n","stream":"stdout","time":"2026-11-30T08:00:03.000000001Z"}\n',
             b'{"log":"torn',
             ]
    msgs = list(jsonlog.JSON.messages(iter(lines), 0, None))
    assert [(m.stream, m.data) for m in msgs] == [(STDOUT, b"a\n"), (STDERR, b"long-line\n"),
                                                   (STDOUT, b"go >\n")]
    assert msgs[2].ts_ns % 10 ** 9 == 1
    since = msgs[1].ts_ns
    assert [m.data for m in jsonlog.JSON.messages(iter(lines), since, None)][0] == b"long-line\n"


def pump_in(tmp_path, policy: Policy) -> tuple[JsonPump, str, str]:
    log_path = str(tmp_path / "c-json.log")
    return JsonPump(log_path, str(tmp_path), policy), log_path, log_path + ".conmon"


def read_all(log_path: str) -> list[bytes]:
    return [m.data for m in JsonFileDriver().read(log_path, 0, None, None, None)
            if m is not None]


def test_pump_converts_resumes_and_finishes(tmp_path):
    pump, log_path, staging = pump_in(tmp_path, Policy(0, 1))
    with open(staging, "wb") as f:
        f.write(conmon_line(1) + conmon_line(2, "stderr", "P", "pie") + b"2026-11-30T08:0")
    pump.tick()
    assert read_all(log_path) == [b"line-1\n", b"pie"]
    # a daemon that died resumes at the offset it saved: nothing twice, nothing lost
    with open(staging, "ab") as f:
        f.write(b"0:03.000000003+00:00 stderr F ce\n")
    again = JsonPump(log_path, str(tmp_path), Policy(0, 1))
    again.finish()
    assert read_all(log_path) == [b"line-1\n", b"piece\n"]
    assert not os.path.exists(staging) and not os.path.exists(log_path + ".pos")


def test_pump_rotates_exactly_and_compresses(tmp_path):
    pump, log_path, staging = pump_in(tmp_path, Policy(2000, 3, compress=True))
    with open(staging, "wb") as f:
        for i in range(300):
            f.write(conmon_line(i))
    pump.finish()
    files = rotated_files(log_path)
    assert files == [log_path + ".2.gz", log_path + ".1.gz"]
    for path in files:
        with gzip.open(path) as g:
            size = len(g.read())
        assert 2000 <= size < 2000 + 120  # rotated once it reached max-size
    lines = read_all(log_path)
    numbers = [int(x.split(b"-")[1]) for x in lines]
    assert numbers == list(range(numbers[0], 300))  # the newest, none missing


def _conmon_replaces(staging, data: bytes) -> None:
    """What conmon does at its cap or on a reopen: a new file renamed over the old."""
    with open(staging + ".tmp", "wb") as f:
        f.write(data)
    os.replace(staging + ".tmp", staging)


def test_pump_compacts_the_staging_file(tmp_path, monkeypatch):
    from dockerd_py.logdrivers.drivers import json_file
    monkeypatch.setattr(json_file, "COMPACT_AT", 100)
    reopened = []
    monkeypatch.setattr(json_file, "reopen_log", lambda bundle: reopened.append(bundle))
    pump, log_path, staging = pump_in(tmp_path, Policy(0, 1))
    with open(staging, "wb") as f:
        f.write(conmon_line(1) + conmon_line(2))
    pump.tick()
    assert reopened and os.path.samefile(staging, staging + ".held")
    with open(staging, "ab") as f:  # conmon wrote on before it reopened
        f.write(conmon_line(3))
    _conmon_replaces(staging, conmon_line(4))
    pump.tick()  # the held file is complete: its rest, then on to the new one
    pump.tick()
    assert os.path.samefile(staging, staging + ".held")
    assert read_all(log_path) == [b"line-1\n", b"line-2\n", b"line-3\n", b"line-4\n"]


def test_pump_keeps_up_in_budgets_and_loses_nothing_it_held(tmp_path, monkeypatch):
    """A writer that never pauses: each tick converts at most its budget, and a
    staging file conmon replaced meanwhile is converted to its end first."""
    from dockerd_py.logdrivers.drivers import json_file
    monkeypatch.setattr(json_file, "TICK_BUDGET", 1000)
    pump, log_path, staging = pump_in(tmp_path, Policy(0, 1))
    with open(staging, "wb") as f:
        f.write(b"".join(conmon_line(i) for i in range(200)))
    pump.tick()
    first = len(read_all(log_path))
    assert 0 < first < 200
    _conmon_replaces(staging, b"".join(conmon_line(i) for i in range(200, 210)))
    pump.tick()
    pump.finish()
    assert read_all(log_path) == [f"line-{i}\n".encode() for i in range(210)]
    assert not os.path.exists(staging) and not os.path.exists(staging + ".held")


def test_conmon_caps_the_staging_file_within_max_size():
    from dockerd_py.logdrivers.drivers.json_file import JsonFileDriver
    driver = JsonFileDriver()
    assert driver.conmon_size_max(Policy(0, 1)) == 0  # no limit asked: none
    assert driver.conmon_size_max(Policy(5 << 20, 2)) == 5 << 19
    assert driver.conmon_size_max(Policy(100 << 20, 2)) == 4 << 20


def test_tail_counts_messages_across_files(tmp_path):
    pump, log_path, staging = pump_in(tmp_path, Policy(500, 5))
    with open(staging, "wb") as f:
        for i in range(40):
            f.write(conmon_line(i))
    pump.finish()
    files = rotated_files(log_path) + [log_path]
    assert len(files) > 2
    tail = [m.data for m in filereader.read_files(files, jsonlog.JSON, tail=7) if m]
    assert tail == [f"line-{i}\n".encode() for i in range(33, 40)]


@pytest.mark.parametrize("value", ["yes", "2"])
def test_compress_option_is_checked(value):
    from dockerd_py.errors import InvalidParameter
    with pytest.raises(InvalidParameter, match="compress"):
        JsonFileDriver().policy({"compress": value})


def test_fast_encoding_matches_the_message_path():
    """docker logs without filters takes the chunk path: same bytes as messages
    encoded one by one, escapes and torn lines included."""
    from dockerd_py.daemon.containers.logs import encoder
    lines = [jsonlog.entry(b'say "hi" \\ \x01\n', "stderr", "2026-11-30T08:00:00.5Z"),
             jsonlog.entry(b"plain\n", "stdout", "2026-11-30T08:00:01Z"),
             b'{"log":"go \\u003e\\n","stream":"stdout","time":"2026-11-30T08:00:02Z"}\n',
             b'{"log":"torn\n',
             jsonlog.entry("é\n".encode(), "stdout", "2026-11-30T08:00:03Z")]
    chunk = b"".join(lines)
    for framed in (True, False):
        for out, err in ((True, True), (True, False), (False, True)):
            wanted = {s for s, w in ((STDOUT, out), (STDERR, err)) if w}
            slow = b"".join(encoder(not framed, False)(m)
                            for m in jsonlog.JSON.messages(iter(lines), 0, None)
                            if m.stream in wanted)
            assert jsonlog.encode_chunk(chunk, out, err, framed) == slow


def test_pump_adopts_an_earlier_releases_old_file(tmp_path):
    """A container adopted across an upgrade: the earlier release converted from
    `<staging>.old` (its saved offset points there) while conmon wrote the new
    staging file; nothing of either is lost or repeated."""
    log_path = str(tmp_path / "c-json.log")
    staging = log_path + ".conmon"
    with open(staging + ".old", "wb") as f:
        f.write(conmon_line(1) + conmon_line(2))
    with open(staging, "wb") as f:
        f.write(conmon_line(3))
    with open(log_path + ".pos", "w") as f:
        f.write(str(len(conmon_line(1))))  # line 1 was converted before the upgrade
    JsonPump(log_path, str(tmp_path), Policy(0, 1)).finish()
    assert read_all(log_path) == [b"line-2\n", b"line-3\n"]
