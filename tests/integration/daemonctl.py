"""Start, stop and clean up a real dockerd-py for the integration tests.

Every daemon gets its own data root, exec root, socket, bridge, subnet and name
prefix (iptables chains, cgroups, veths), so tests never touch the host's own
engine and can run beside each other. Teardown removes everything it made.
"""
from __future__ import annotations

import asyncio
import io
import ipaddress
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker

from dockerd_py.network.firewall.iptables_restore import IptablesRestore
from dockerd_py.network.ipam import host_routes
from dockerd_py.storage import mounts

DOCKER_CLI = "/usr/local/bin/docker"
BUSYBOX = "/usr/bin/busybox"


def _free_subnet() -> str:
    """A /24 for a test daemon's default bridge, in 10.160-199 (the tests' own
    networks use 10.2xx, so they never overlap it)."""
    busy = host_routes()
    for _ in range(200):
        candidate = ipaddress.IPv4Network(f"10.{random.randint(160, 199)}."
                                          f"{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(b) for b in busy):
            return str(candidate)
    raise RuntimeError("no free subnet for a test daemon")


def _ping(sock: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(sock)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@dataclass
class Daemon:
    root: Path
    prefix: str = field(default_factory=lambda: "t" + "".join(
        random.choice(string.ascii_lowercase + string.digits) for _ in range(5)))
    subnet: str = field(default_factory=_free_subnet)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def sock(self) -> str:
        return str(self.root / "d.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "run"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br0"

    @property
    def gateway(self) -> str:
        return str(ipaddress.IPv4Network(self.subnet).network_address + 1)

    @property
    def log_path(self) -> Path:
        return self.root / "daemon.log"

    def args(self) -> list[str]:
        return [sys.executable, "-m", "dockerd_py", "-H", self.url,
                "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "--bridge", self.bridge, "--bip", f"{self.gateway}/24",
                "--instance-prefix", self.prefix, "--log-level", "debug", *self.extra_args]

    def start(self, timeout: float = 30, env: dict[str, str] | None = None,
              args: list[str] | None = None, **popen: object) -> Daemon:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args or self.args(), stdout=log, stderr=subprocess.STDOUT,
                                     env=env or dict(os.environ), **popen)  # type: ignore[arg-type]
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            if _ping(self.sock):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"daemon did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def restart(self, sig: int = signal.SIGTERM) -> Daemon:
        self.stop(sig)
        return self.start()

    # -- clients -------------------------------------------------------------------
    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=120)

    def api(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.url, timeout=120)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.url
        env.pop("DOCKER_API_VERSION", None)
        env["DOCKER_CONFIG"] = str(self.root / "docker-config")
        return env

    def docker(self, *args: str, input: bytes | None = None, timeout: float = 120,
               env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess:
        """The real Docker CLI against this daemon (env adds to its environment)."""
        return subprocess.run([DOCKER_CLI, *args], input=input, capture_output=True,
                              env={**self.env(), **(env or {})}, timeout=timeout, **kw)  # type: ignore[call-overload]

    def docker_py(self, *args: str, input: bytes | None = None, timeout: float = 120,
                  env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess:
        """Our own CLI against this daemon (env adds to its environment)."""
        return subprocess.run([sys.executable, "-m", "docker_cli", *args], input=input,
                              capture_output=True, env={**self.env(), **(env or {})},
                              timeout=timeout, **kw)  # type: ignore[call-overload]

    # -- teardown ------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Remove every trace of this daemon from the host, even after a failure."""
        self.stop()
        for runtime in ("runc", "crun"):
            for cid in runtime_containers(str(self.exec_root), runtime):
                subprocess.run([runtime, "--root", str(self.exec_root / f"runtime-{runtime}"),
                                "delete", "--force", cid], capture_output=True)
        _wait_conmons_gone(str(self.exec_root))
        for point in mounts.mounts_under(str(self.root)):
            mounts.umount(point, detach=True)
        # every link with the prefix: the default bridge, user networks' bridges,
        # veths, and test-made parents and clients
        for name in links(self.prefix):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        asyncio.run(IptablesRestore(self.prefix.upper()).teardown())
        remove_cgroups(self.prefix)
        shutil.rmtree(self.root, ignore_errors=True)


# -- what a daemon holds on the host (tests check these are gone) ----------------------
def runtime_containers(exec_root: str, runtime: str = "runc") -> list[str]:
    """Containers the runtime keeps state for under this daemon's exec root."""
    state = os.path.join(exec_root, f"runtime-{runtime}")
    try:
        names = os.listdir(state)
    except FileNotFoundError:
        return []
    return [c for c in names if os.path.isdir(os.path.join(state, c))
            and not c.startswith("dpy-probe")]


def conmons(exec_root: str) -> list[int]:
    """conmon processes of this daemon, found by their exec root."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read()
        except OSError:
            continue
        if b"conmon" in args.split(b"\0")[0] and exec_root.encode() in args:
            found.append(int(pid))
    return found


def links(prefix: str) -> list[str]:
    """Network links whose names start with the prefix."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    return [n for n in names if n.startswith(prefix)]


def cgroup_tops(prefix: str) -> list[Path]:
    """The daemon's parent cgroup in each hierarchy (v1) or the one (v2)."""
    base = Path("/sys/fs/cgroup")
    candidates = [base / prefix] if (base / "cgroup.controllers").exists() else \
        [d / prefix for d in base.iterdir() if d.is_dir()]
    return [top for top in candidates if top.is_dir()]


def conmons_left(exec_root: str, timeout: float = 10) -> list[int]:
    """The daemon's conmons still there after waiting up to timeout for them to end."""
    deadline = time.time() + timeout
    alive = conmons(exec_root)
    while alive and time.time() < deadline:
        time.sleep(0.1)
        alive = conmons(exec_root)
    return alive


def _wait_conmons_gone(exec_root: str, timeout: float = 10) -> None:
    for pid in conmons_left(exec_root, timeout):  # this test daemon's, by their exec root
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_cgroups(prefix: str) -> None:
    for top in cgroup_tops(prefix):
        for dirpath, _dirs, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def busybox_rootfs_tar(path: Path) -> Path:
    """A busybox root filesystem from Debian's busybox-static, as a tar."""
    with tarfile.open(path, "w") as tar:
        for d in ("bin", "etc", "tmp", "root", "var/www"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split()
        for applet in applets:
            if applet == "busybox":
                continue
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                          "nobody:x:65534:65534:nobody:/:/bin/sh\n"),
                           ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
                           ("etc/motd", "from-image\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path
