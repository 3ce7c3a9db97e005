"""The OCI runtime interface: any runtime that speaks runc's command line
(`--root`, create/start/kill/delete/pause/resume/update/state). conmon runs
`create` and `exec`; the daemon runs the short commands. Runtimes with
quirks of their own subclass it (`runc.py`, `crun.py`); `registry.py` names them."""
from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass

from ..errors import DockerError

log = logging.getLogger(__name__)

# Runtime versions below these miss known security fixes (reliability notes §0).
SECURITY_FLOORS = {
    "runc": ("1.2.8", "runc before 1.2.8 lacks the fixes for CVE-2025-31133, "
                      "CVE-2025-52565 and CVE-2025-52881"),
    "crun": ("1.24", "crun before 1.24 lacks the fixes for CVE-2025-31133, "
                     "CVE-2025-52565 and CVE-2025-52881"),
    "conmon": ("2.1.8", "conmon before 2.1.8 truncates logs at --log-size-max instead of "
                        "rotating them (containers/conmon#211)"),
}


class RuntimeError_(DockerError):
    """The OCI runtime refused or failed."""


def version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("+")[0].split("~")[0].split("-")[0].split("."):
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


async def run_command(*argv: str, timeout: float = 30,
                      stdin: bytes | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, close_fds=True)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError_(f"{argv[0]} {argv[1] if len(argv) > 1 else ''}: timed out") from None
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def runtime_error_text(stderr: str) -> str:
    """The message runc/crun put in its JSON or text log line."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    last = lines[-1]
    try:
        doc = json.loads(last)
        if isinstance(doc, dict) and doc.get("msg"):
            return str(doc["msg"])
    except ValueError:
        pass
    for prefix in ("time=", "level="):
        if last.startswith(prefix) and 'msg="' in last:
            return last.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return last


@dataclass
class OCIRuntime:
    name: str
    path: str
    root: str
    available: bool = True
    reason: str = ""
    version: str = ""
    commit: str = ""  # the `commit:` line of --version, as dockerd reports it

    @property
    def global_args(self) -> list[str]:
        return ["--root", self.root]

    def _argv(self, *args: str) -> list[str]:
        return [self.path, *self.global_args, *args]

    async def _run(self, *args: str, timeout: float = 30) -> str:
        code, out, err = await run_command(*self._argv(*args), timeout=timeout)
        if code != 0:
            raise RuntimeError_(f"{self.name} {args[0]}: {runtime_error_text(err or out)}")
        return out

    async def start(self, container_id: str) -> None:
        """Let the created container's process exec its command."""
        await self._run("start", container_id)

    async def kill(self, container_id: str, signal: int, all_processes: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_processes else []) + [container_id, str(signal)]
        await self._run(*args)

    def has_state(self, container_id: str) -> bool:
        """Whether the runtime keeps state for the container (cheap: no exec)."""
        return os.path.isdir(os.path.join(self.root, container_id))

    def state_ids(self) -> list[str]:
        try:
            return [n for n in os.listdir(self.root)
                    if os.path.isdir(os.path.join(self.root, n))]
        except FileNotFoundError:
            return []

    async def delete(self, container_id: str) -> None:
        code, out, err = await run_command(*self._argv("delete", "--force", container_id))
        if code != 0 and "does not exist" not in err and "not exist" not in err:
            log.warning("%s delete %s: %s", self.name, container_id, runtime_error_text(err))

    async def update(self, container_id: str, resources: dict) -> None:
        """Apply new cgroup limits to a running container."""
        code, out, err = await run_command(*self._argv("update", "--resources", "-", container_id),
                                           stdin=json.dumps(resources).encode())
        if code != 0:
            raise RuntimeError_(f"Cannot update container {container_id}: "
                                f"{runtime_error_text(err or out)}")

    async def pause(self, container_id: str) -> None:
        await self._run("pause", container_id)

    async def resume(self, container_id: str) -> None:
        await self._run("resume", container_id)

    async def state(self, container_id: str) -> dict | None:
        code, out, _ = await run_command(*self._argv("state", container_id))
        if code != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    async def probe(self) -> None:
        """Check that this runtime can run a container on this host at all."""
        if not os.path.isfile(self.path) or not os.access(self.path, os.X_OK):
            self.available, self.reason = False, f"{self.path} is not installed"
            return
        code, out, err = await run_command(self.path, "--version")
        if code != 0:
            self.available, self.reason = False, runtime_error_text(err)
            return
        first = out.splitlines()[0] if out else ""
        self.version = first.split()[-1] if first else ""
        self.commit = next((line[len("commit:"):].strip() for line in out.splitlines()
                            if line.startswith("commit:")), "")
        await self.probe_host()

    async def probe_host(self) -> None:
        """Where a runtime refuses some hosts only when it runs a container, find
        out now (set available and reason); most runtimes need nothing here."""

    def security_warning(self) -> str | None:
        floor = SECURITY_FLOORS.get(self.name)
        if floor and self.version and version_tuple(self.version) < version_tuple(floor[0]):
            return f"{self.name} {self.version}: {floor[1]}"
        return None


