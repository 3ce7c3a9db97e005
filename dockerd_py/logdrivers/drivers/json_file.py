"""json-file, Docker's default: `<id>-json.log` in Docker's own format, rotated
exactly at max-size into `.1`, `.2`, … (gzip-compressed with compress=true),
so log shippers that tail Docker's files read ours.

conmon has no writer for this format, so it writes the CRI format to a staging
file beside the log (`<log>.conmon`) and the daemon converts what it wrote
every tick (a container's output is complete in the JSON file before its exit
is reported). The staging file is kept short: past a few MiB conmon is asked
to start a new one (and with max-size it starts one itself at its cap, so a
container writing without pause cannot fill the disk); the file being
converted keeps a second name until it is done. The converted offset is kept
beside the log, so a daemon that crashed resumes where it stopped (at worst
repeating the lines of one tick); while the daemon is down, conmon goes on
writing."""
from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections.abc import Iterator

from ...errors import InvalidParameter
from ...runtime.attach import reopen_log
from .. import filereader
from ..format import Message
from ..jsonlog import JSON, encode_chunk, entry, utc_time
from ..rotation import Policy, unlink_if_there
from .base import LogWatch
from .k8s_file import K8sFileDriver

COMPACT_AT = 4 << 20    # bytes of converted staging file before conmon starts a new one
CHUNK = 1 << 20         # bytes converted at a time
TICK_BUDGET = 8 << 20   # bytes converted in one tick at most
_STREAMS = (b"stdout", b"stderr")


def _staging(log_path: str) -> str:
    return log_path + ".conmon"


def _rotated(log_path: str, index: int, compress: bool) -> str:
    return f"{log_path}.{index}" + (".gz" if compress else "")


def rotated_files(log_path: str) -> list[str]:
    """The rotated files, oldest first (compressed or not)."""
    found = []
    index = 1
    while True:
        names = [f"{log_path}.{index}", f"{log_path}.{index}.gz"]
        present = [n for n in names if os.path.exists(n)]
        if not present:
            break
        found.append(present[0])
        index += 1
    return found[::-1]


class JsonFileDriver(K8sFileDriver):
    name = "json-file"

    def policy(self, opts: dict[str, str]) -> Policy:
        base = super().policy(opts)
        compress = opts.get("compress", "false").lower()
        if compress not in ("true", "false", "1", "0", ""):
            raise InvalidParameter(f"error parsing compress: invalid syntax: {opts['compress']}")
        return Policy(base.max_size, base.max_files, compress in ("true", "1"))

    def conmon_target(self, log_path: str) -> str:
        return f"k8s-file:{_staging(log_path)}"

    def conmon_size_max(self, policy: Policy) -> int:
        """The daemon rotates the JSON file itself, exactly; conmon's cap only bounds
        the staging file, so that a container writing faster than the daemon
        converts cannot fill the disk: staging and held file stay within one
        max-size together (what conmon replaces before it was converted is lost,
        as it would have been rotated away)."""
        if not policy.max_size:
            return 0
        return max(64 << 10, min(COMPACT_AT, policy.max_size // 2))

    def before_start(self, log_path: str, policy: Policy) -> None:
        """Docker appends to the same file across restarts: nothing to do."""

    def watch(self, log_path: str, bundle: str, policy: Policy,
              fresh: bool) -> LogWatch | None:
        return JsonPump(log_path, bundle, policy)

    def read(self, log_path: str, since_ns: int, until_ns: int | None, tail: int | None,
             follow: threading.Event | None) -> Iterator[Message | None]:
        files = rotated_files(log_path) + [log_path]
        return filereader.read_files(files, JSON, since_ns=since_ns, until_ns=until_ns,
                                     tail=tail, follow=follow)

    def read_chunks(self, log_path: str,
                    follow: threading.Event | None) -> Iterator[bytes | None] | None:
        return filereader.read_chunks(rotated_files(log_path) + [log_path], follow)

    def encode_chunk(self, chunk: bytes, stdout: bool, stderr: bool, framed: bool) -> bytes:
        return encode_chunk(chunk, stdout, stderr, framed)

    def remove(self, log_path: str) -> None:
        for path in rotated_files(log_path) + [log_path, _staging(log_path),
                                                _staging(log_path) + ".held",
                                                _staging(log_path) + ".old", log_path + ".pos"]:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


class JsonPump:
    """Converts conmon's staging file into the JSON log, rotating it exactly.

    The file being converted has a second name, `<staging>.held` (a hard link),
    so that when conmon replaces the staging file (at its size cap, or when the
    daemon asks it to reopen its log) the rest of the old one is still there to
    convert. Each tick converts at most TICK_BUDGET bytes, so a container that
    writes without pause cannot keep the pump from its other duties."""

    def __init__(self, log_path: str, bundle: str, policy: Policy) -> None:
        self.path = log_path
        self.bundle = bundle
        self.policy = policy
        self.staging = _staging(log_path)
        self.held = self.staging + ".held"
        if os.path.exists(self.staging + ".old") and not os.path.exists(self.held):
            # an earlier release's name for the file being converted (the saved
            # offset is into it): a container adopted across an upgrade loses nothing
            os.rename(self.staging + ".old", self.held)
        self.pos_path = log_path + ".pos"
        self.offset = self._load_offset()
        self.out = open(log_path, "ab")
        self.size = self.out.tell()

    # -- the watch ------------------------------------------------------------------
    def tick(self) -> None:
        self._convert_some(TICK_BUDGET)

    def finish(self) -> None:
        """conmon is gone: convert the rest, then drop the staging files."""
        while self._convert_some(1 << 62, final=True):
            pass
        for path in (self.held, self.staging):
            unlink_if_there(path)
        self.out.close()
        unlink_if_there(self.pos_path)

    def _convert_some(self, budget: int, final: bool = False) -> bool:
        """Convert up to budget bytes; True when the held file was complete and the
        pump moved on to the staging file that replaced it (more may be there)."""
        held, staging = _inode(self.held), _inode(self.staging)
        if held is None:
            if staging is None:
                return False
            _link(self.staging, self.held)
            held = staging
        if self._drain(self.held, budget) == 0:
            return False  # more is waiting: the next tick goes on
        if staging == held:
            if self.offset >= COMPACT_AT and not final:
                reopen_log(self.bundle)  # conmon starts a new staging file
            return False
        if staging is None and not final:
            return False  # conmon has not made its new file yet
        # conmon writes to another file now: what is left of the held one is final
        self._drain(self.held, 1 << 62)
        unlink_if_there(self.held)
        self.offset = 0
        self._save_offset()
        return staging is not None

    # -- converting -----------------------------------------------------------------
    def _drain(self, path: str, budget: int) -> int:
        """Convert whole lines past the offset, a chunk at a time (memory stays
        bounded however much a container wrote while nobody looked), up to budget
        bytes; what is left of the budget (0: more may be waiting)."""
        try:
            if os.stat(path).st_size <= self.offset:
                return budget  # nothing new: the common case of a quiet container
            f = open(path, "rb")
        except FileNotFoundError:
            return budget
        with f:
            f.seek(self.offset)
            while budget > 0:
                data = f.read(min(CHUNK, budget))
                end = data.rfind(b"\n") + 1
                if end <= 0:
                    if len(data) >= CHUNK:  # a line longer than a chunk: take it whole
                        data += f.readline()
                        end = len(data)
                    else:
                        break  # nothing, or one piece of a line still being written
                self._write([self._convert(ln) for ln in data[:end].splitlines(keepends=True)])
                self.offset += end
                budget -= end
                f.seek(self.offset)
        self._save_offset()
        return max(budget, 0)

    @staticmethod
    def _convert(line: bytes) -> bytes | None:
        try:
            ts, stream, tag, content = line.split(b" ", 3)
        except ValueError:
            return None
        if stream not in _STREAMS:
            return None
        if tag == b"P" and content.endswith(b"\n"):
            content = content[:-1]  # conmon ended the piece's line, not the container
        return entry(content, stream.decode(), utc_time(ts))

    def _write(self, entries: list[bytes | None]) -> None:
        batch: list[bytes] = []
        for item in entries:
            if item is None:
                continue
            if self.policy.max_size and self.size >= self.policy.max_size:
                self.out.write(b"".join(batch))
                batch = []
                self._rotate()
            batch.append(item)
            self.size += len(item)
        self.out.write(b"".join(batch))
        self.out.flush()

    def _rotate(self) -> None:
        """Docker's rule: the current file becomes .1 once it reached max-size."""
        self.out.close()
        keep, compress = self.policy.max_files - 1, self.policy.compress
        if keep <= 0:
            os.unlink(self.path)
        else:
            for stale in (f"{self.path}.{keep}", f"{self.path}.{keep}.gz"):
                if os.path.exists(stale):
                    os.unlink(stale)
            for index in range(keep - 1, 0, -1):
                for suffix in ("", ".gz"):
                    src = f"{self.path}.{index}{suffix}"
                    if os.path.exists(src):
                        os.rename(src, f"{self.path}.{index + 1}{suffix}")
            os.rename(self.path, f"{self.path}.1")
            if compress:
                _gzip(f"{self.path}.1", _rotated(self.path, 1, True))
        self.out = open(self.path, "ab")
        self.size = 0

    # -- where conversion stands ------------------------------------------------------
    def _load_offset(self) -> int:
        try:
            with open(self.pos_path) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _save_offset(self) -> None:
        tmp = self.pos_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(self.offset))
        os.replace(tmp, self.pos_path)


def _gzip(src: str, dest: str) -> None:
    with open(src, "rb") as f, gzip.open(dest + ".tmp", "wb", compresslevel=6) as g:
        shutil.copyfileobj(f, g)
    os.replace(dest + ".tmp", dest)
    os.unlink(src)


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _link(src: str, dest: str) -> None:
    try:
        os.link(src, dest)
    except FileNotFoundError:
        pass

