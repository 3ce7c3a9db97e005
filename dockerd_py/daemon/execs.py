"""Exec sessions: processes started in a running container, each under its own
conmon (`runtime exec`), attached through conmon's socket like the container."""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import Conflict, DockerError, InvalidParameter, NoSuchExec
from ..runtime import attach, conmon, spec, users
from ..runtime.attach import AttachSocket
from ..runtime.registry import Runtimes
from ..storage.drivers.base import remove_tree
from .containers.record import Container
from .containers.repository import ContainerPaths
from .containers.rules import require_running, start_error
from .events import Events

log = logging.getLogger(__name__)
GC_AFTER = 300  # seconds an exited exec stays inspectable, as dockerd's exec GC


@dataclass
class Exec:
    id: str
    container: Container
    cmd: list[str]
    env: list[str]
    user: str
    workdir: str
    tty: bool
    stdin: bool
    stdout: bool
    stderr: bool
    privileged: bool
    detach_keys: str
    console_size: list[int] | None = None
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    ended_at: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    directory: str = ""

    def inspect(self) -> dict[str, Any]:
        return {"CanRemove": False, "ContainerID": self.container.id,
                "DetachKeys": self.detach_keys, "ExitCode": self.exit_code, "ID": self.id,
                "OpenStderr": self.stderr, "OpenStdin": self.stdin, "OpenStdout": self.stdout,
                "ProcessConfig": {"arguments": self.cmd[1:], "entrypoint": self.cmd[0],
                                  "privileged": self.privileged, "tty": self.tty,
                                  "user": self.user},
                "Running": self.running, "Pid": self.pid}


class ExecService:
    """Exec sessions need of a container only its bundle (beside which conmon
    puts the exec's socket), its runtime and conmon: nothing of the container
    services."""

    def __init__(self, paths: ContainerPaths, runtimes: Runtimes, conmon_path: str,
                 events: Events) -> None:
        self.paths = paths
        self.runtimes = runtimes
        self.conmon = conmon_path
        self.events = events
        self.execs: dict[str, Exec] = {}
        self._tasks: set[asyncio.Task] = set()

    def get(self, exec_id: str) -> Exec:
        found = self.execs.get(exec_id)
        if found is None:
            raise NoSuchExec(exec_id)
        return found

    def _gc(self) -> None:
        now = time.time()
        for exec_id, ex in list(self.execs.items()):
            if ex.exit_code is not None and now - ex.ended_at > GC_AFTER:
                self.execs.pop(exec_id, None)
                ids = ex.container.doc.get("ExecIDs") or []
                if exec_id in ids:
                    ids.remove(exec_id)
                    ex.container.doc["ExecIDs"] = ids or None

    def create(self, ctr: Container, body: dict[str, Any]) -> str:
        self._gc()
        cmd = body.get("Cmd")
        if not cmd:
            raise InvalidParameter("No exec command specified")
        if isinstance(cmd, str):
            cmd = [cmd]
        self._check_running(ctr)
        ex = Exec(id=secrets.token_hex(32), container=ctr, cmd=list(cmd),
                  env=list(body.get("Env") or []), user=body.get("User") or "",
                  workdir=body.get("WorkingDir") or "", tty=bool(body.get("Tty")),
                  stdin=bool(body.get("AttachStdin")), stdout=bool(body.get("AttachStdout")),
                  stderr=bool(body.get("AttachStderr")), privileged=bool(body.get("Privileged")),
                  detach_keys=body.get("DetachKeys") or "",
                  console_size=body.get("ConsoleSize"))
        self.execs[ex.id] = ex
        ctr.doc["ExecIDs"] = (ctr.doc.get("ExecIDs") or []) + [ex.id]
        self.events.publish("container", "exec_create: " + " ".join(ex.cmd), ctr.id,
                            ctr.event_attrs(execID=ex.id))
        return ex.id

    @staticmethod
    def _check_running(ctr: Container) -> None:
        require_running(ctr)
        if ctr.paused:
            raise Conflict(f"Container {ctr.id} is paused, unpause the container before exec")

    async def start(self, ex: Exec, want_attach: bool) -> AttachSocket | None:
        """Run the process; with want_attach, return a socket connected before it
        runs (so no output is lost). An exec that cannot start ends with 126."""
        if ex.exit_code is not None:
            raise Conflict(f"exec command {ex.id} has already run")
        if ex.running or ex.started:
            raise Conflict(f"exec command {ex.id} is already running")
        ctr = ex.container
        self._check_running(ctr)
        ex.started = True
        ex.running = True
        self.events.publish("container", "exec_start: " + " ".join(ex.cmd), ctr.id,
                            ctr.event_attrs(execID=ex.id))
        bundle = self.paths.bundle(ctr.id)
        ex.directory = os.path.join(bundle, "exec", ex.id[:16])
        sock: list[AttachSocket] = []

        async def connect() -> None:
            if want_attach:
                sock.append(await AttachSocket.connect(ex.directory))

        try:
            process = await asyncio.to_thread(self._process_spec, ex, bundle)
            runtime = self.runtimes.get(ctr.internal.runtime)
            spawned, sync = await conmon.spawn(self.conmon, runtime, conmon.ConmonOptions(
                container_id=ctr.id, name=ctr.name, bundle=ex.directory, log_target="none",
                exit_dir=ex.directory, tty=ex.tty, stdin=ex.stdin, stdin_once=True,
                exec_id=ex.id, exec_spec=process), before_exec=connect)
        except DockerError as exc:
            for s in sock:
                s.close()
            self._finish(ex, 126)
            if ctr.process_gone():  # it exited meanwhile (its exit not recorded yet)
                raise Conflict(f"Container {ctr.id} is not running") from None
            # as dockerd: any exec that cannot start ends with 126, in the runtime's words
            error, _ = start_error(f"OCI runtime exec failed: {exc.message}: unknown")
            raise error from None
        except BaseException:
            for s in sock:
                s.close()
            self._finish(ex, 126)
            raise
        ex.pid = spawned.pid
        task = asyncio.ensure_future(self._wait_exit(ex, sync))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return sock[0] if sock else None

    def _process_spec(self, ex: Exec, bundle: str) -> str:
        """The container's process spec with the exec's command, environment, user
        and directory; written next to conmon's exec socket."""
        with open(os.path.join(bundle, "config.json")) as f:
            base = json.load(f)
        process = copy.deepcopy(base["process"])
        ctr = ex.container
        root = f"/proc/{ctr.state['Pid']}/root"
        if ex.user:
            user = users.resolve(root, ex.user, ctr.host_config.get("GroupAdd"))
            process["user"] = {"uid": user.uid, "gid": user.gid}
            if user.additional_gids:
                process["user"]["additionalGids"] = user.additional_gids
        process["args"] = ex.cmd
        process["env"] = spec.merge_env(_exec_term(process.get("env") or [], ctr.config, ex.tty),
                                        ex.env)
        process["cwd"] = ex.workdir or ctr.config.get("WorkingDir") or "/"
        process["terminal"] = ex.tty
        if ex.tty and ex.console_size:
            process["consoleSize"] = {"height": ex.console_size[0], "width": ex.console_size[1]}
        else:
            process.pop("consoleSize", None)
        if ex.privileged:
            caps = spec.available_caps()
            process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
        os.makedirs(ex.directory, mode=0o700, exist_ok=True)
        path = os.path.join(ex.directory, "process.json")
        with open(path, "w") as f:
            json.dump(process, f)
        return path

    async def _wait_exit(self, ex: Exec, sync: conmon.SyncPipe) -> None:
        try:
            msg = await sync.read(timeout=365 * 86400)
            code = int(msg.get("data", -1))
        except (TimeoutError, DockerError, ValueError):
            recorded, _ = conmon.read_exit_file(ex.directory)
            code = recorded if recorded is not None else 255
        finally:
            sync.close()
        self._finish(ex, code)
        self.events.publish("container", "exec_die", ex.container.id,
                            ex.container.event_attrs(execID=ex.id, exitCode=str(code)))

    def _finish(self, ex: Exec, code: int) -> None:
        ex.exit_code = code
        ex.running = False
        ex.ended_at = time.time()
        ex.done.set()
        if ex.directory:
            remove_tree(ex.directory)

    def resize(self, ex: Exec, height: int, width: int) -> None:
        if not ex.running or not ex.directory:
            raise Conflict(f"exec {ex.id} is not running")
        attach.resize(ex.directory, height, width)

    async def run(self, ctr: Container, cmd: list[str], timeout: float,
                  max_output: int = 4096) -> tuple[int, bytes]:
        """Run a command to completion and collect its output (health checks)."""
        exec_id = self.create(ctr, {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True})
        ex = self.get(exec_id)
        sock = await self.start(ex, want_attach=True)
        output = bytearray()

        async def collect() -> None:
            assert sock is not None
            while True:
                item = await sock.recv()
                if item is None:
                    return
                if len(output) < max_output:
                    output.extend(item[1][:max_output - len(output)])

        try:
            await asyncio.wait_for(asyncio.gather(collect(), ex.done.wait()), timeout)
        except TimeoutError:
            if ex.pid:
                try:
                    os.kill(ex.pid, 9)
                except ProcessLookupError:
                    pass
            raise
        finally:
            if sock is not None:
                sock.close()
            self.execs.pop(exec_id, None)
            ids = ctr.doc.get("ExecIDs") or []
            if exec_id in ids:
                ids.remove(exec_id)
                ctr.doc["ExecIDs"] = ids or None
        return ex.exit_code if ex.exit_code is not None else 255, bytes(output)


def _exec_term(env: list[str], config: dict[str, Any], tty: bool) -> list[str]:
    """TERM as dockerd's CreateDaemonEnvironment gives an exec: `xterm` when the
    exec has a TTY, none when it has not, whatever the container had; a TERM of
    the container's own Config.Env stays."""
    if any(str(e).partition("=")[0] == "TERM" for e in config.get("Env") or []):
        return env
    out = [e for e in env if not e.startswith("TERM=")]
    if tty:
        after = next((i + 1 for i, e in enumerate(out) if e.startswith("HOSTNAME=")), len(out))
        out.insert(after, "TERM=xterm")
    return out
