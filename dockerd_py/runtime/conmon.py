"""conmon, the per-container monitor: it runs `runtime create` (or `exec`), holds
stdio and the TTY, writes the log, serves the attach socket and records the
exit code. The daemon watches it through a pidfd, so a restarted daemon can
watch the conmons of containers that kept running."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .oci import OCIRuntime, RuntimeError_, runtime_error_text

log = logging.getLogger(__name__)


@dataclass
class ConmonOptions:
    container_id: str
    name: str
    bundle: str          # holds config.json, the attach socket, ctl FIFO, exit file
    log_target: str      # conmon's --log-path: `k8s-file:PATH`, `journald:`, `none`
    exit_dir: str
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    exec_id: str | None = None      # set for an exec session
    exec_spec: str | None = None    # its process.json
    log_size_max: int = 0           # conmon starts a new file past this (the daemon rotates)
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Spawned:
    conmon_pid: int
    pid: int
    start_time: int  # of the container process, to recognise it after a restart


def conmon_path(configured: str) -> str:
    return shutil.which(configured) or configured


def proc_start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat: tells a process from a later one with its PID."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


def _args(binary: str, runtime: OCIRuntime, opts: ConmonOptions) -> list[str]:
    cid = opts.container_id
    args = [binary, "--api-version", "1", "-c", cid, "-u", opts.exec_id or cid,
            "-n", opts.name, "-r", runtime.path, "-b", opts.bundle,
            "-p", os.path.join(opts.bundle, "pidfile"),
            "--exit-dir", opts.exit_dir, "--persist-dir", opts.bundle,
            "--conmon-pidfile", os.path.join(opts.bundle, "conmon.pid"),
            "--full-attach", "--socket-dir-path", opts.bundle,
            "-l", opts.log_target,
            "--log-level", "error"]
    if opts.log_size_max:
        args += ["--log-size-max", str(opts.log_size_max)]
    for arg in runtime.global_args:
        args += ["--runtime-arg", arg]
    if opts.tty:
        args.append("-t")
    if opts.stdin:
        args.append("-i")
        # conmon closes stdin when any attach client goes; Docker does that only for
        # StdinOnce without a TTY (a TTY's input stays open for the next `attach`)
        if not opts.stdin_once or (opts.tty and not opts.exec_id):
            args.append("--leave-stdin-open")
    if opts.exec_id:
        args += ["-e", "--exec-attach", "--exec-process-spec", opts.exec_spec or ""]
    return args


class SyncPipe:
    """The JSON messages conmon writes to _OCI_SYNCPIPE: {"data": N, "message": ...}."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = b""

    async def read(self, timeout: float = 120) -> dict:
        while b"\n" not in self._buf:
            chunk = await asyncio.wait_for(self._chunk(), timeout)
            if not chunk:
                raise RuntimeError_("conmon exited without reporting")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            raise RuntimeError_(f"conmon sent a malformed message: {line[:200]!r}") from None

    async def _chunk(self) -> bytes:
        """Read when the loop says the pipe is readable: an exec's exit may come
        days later, and no worker thread may wait that long (nor hold shutdown)."""
        loop = asyncio.get_running_loop()
        os.set_blocking(self.fd, False)
        while True:
            try:
                return os.read(self.fd, 4096)
            except BlockingIOError:
                pass
            ready = loop.create_future()
            loop.add_reader(self.fd, _resolve, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


async def spawn(binary: str, runtime: OCIRuntime, opts: ConmonOptions,
                before_exec: Callable[[], Awaitable[Any] | None] | None = None,
                ) -> tuple[Spawned, SyncPipe]:
    """Start conmon. For a container it returns once `runtime create` made the
    process (not yet started); for an exec once the process runs. The sync pipe
    stays open for an exec, whose exit code arrives on it later."""
    sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
    start_r = start_w = attach_r = attach_w = -1
    env = {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
           "_OCI_SYNCPIPE": str(sync_w)}
    pass_fds = [sync_w]
    if opts.exec_id:
        start_r, start_w = os.pipe2(os.O_CLOEXEC)
        attach_r, attach_w = os.pipe2(os.O_CLOEXEC)
        env["_OCI_STARTPIPE"] = str(start_r)
        env["_OCI_ATTACHPIPE"] = str(attach_w)
        pass_fds += [start_r, attach_w]
    env.update(opts.extra_env)
    sync = SyncPipe(sync_r)
    try:
        proc = await asyncio.create_subprocess_exec(
            *_args(binary, runtime, opts), env=env, pass_fds=pass_fds,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, cwd=opts.bundle)
        for fd in pass_fds:
            os.close(fd)
        pass_fds = []
        if opts.exec_id:
            os.write(start_w, b"0")  # conmon may set itself up
            attach = SyncPipe(attach_r)
            try:
                await attach.read()   # the attach socket exists
            finally:
                attach.close()
                attach_r = -1
            if before_exec is not None:
                waited = before_exec()
                if waited is not None:
                    await waited
            os.write(start_w, b"0")  # now run the process
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError_(f"conmon failed: {err.decode(errors='replace').strip()}")
        msg = await sync.read()
        pid = int(msg.get("data", -1))
        if pid <= 0:
            raise RuntimeError_(_creation_error(msg.get("message") or ""))
        with open(os.path.join(opts.bundle, "conmon.pid")) as f:
            conmon_pid = int(f.read().strip())
        try:
            started = proc_start_time(pid)
        except (OSError, ValueError, IndexError):
            started = 0  # already gone: the exit file will tell
        return Spawned(conmon_pid, pid, started), sync
    except BaseException:
        sync.close()
        raise
    finally:
        for fd in pass_fds + [start_w, attach_r]:
            if fd >= 0:
                os.close(fd)


def _creation_error(message: str) -> str:
    text = runtime_error_text(message)
    return text.removeprefix("runc create failed: ").removeprefix("runc exec failed: ")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ExitWatcher:
    """Calls back once when a process (conmon) has exited, via its pidfd."""

    def __init__(self, pid: int, on_exit: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_exit: Callable[[], None] | None = on_exit
        self._fd = -1
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._loop.call_soon(self._fire)
            return
        self._loop.add_reader(self._fd, self._fire)

    def _fire(self) -> None:
        self.close()
        callback, self._on_exit = self._on_exit, None
        if callback is not None:
            callback()

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    @property
    def watching(self) -> bool:
        return self._on_exit is not None

    def kill(self) -> None:
        """SIGKILL the process, through its pidfd (never a reused pid)."""
        if self._fd >= 0:
            try:
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)
            except ProcessLookupError:
                pass


def zombie_exit_code(pid: int) -> int | None:
    """The exit code of a process that exited and is not reaped yet (its parent
    is stuck), from /proc/PID/stat's exit_code field; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        status = int(fields[49])  # field 52: the wait status
    except (OSError, IndexError, ValueError):
        return None
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def read_exit_file(bundle: str) -> tuple[int | None, bool]:
    """(exit code, OOM killed) that conmon recorded, or (None, False)."""
    code = None
    try:
        with open(os.path.join(bundle, "exit")) as f:
            code = int(f.read().strip() or "-1")
    except (OSError, ValueError):
        pass
    oom = os.path.exists(os.path.join(bundle, "oom"))
    return code, oom


def pid_alive(pid: int, start_time: int) -> bool:
    try:
        return proc_start_time(pid) == start_time
    except (OSError, ValueError, IndexError):
        return False
