"""Fixtures: a real daemon per test session (and fresh ones where a test needs
its own), a busybox image built from busybox-static, and the clients."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .daemonctl import BUSYBOX, DOCKER_CLI, Daemon, busybox_rootfs_tar
from .registries import Registry

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    why = None
    if os.geteuid() != 0:
        why = "integration tests need root"
    elif not os.path.exists(BUSYBOX):
        why = "busybox-static is not installed"
    if why:
        for item in items:
            if "integration" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="dpy-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs_tar(workdir: Path) -> Path:
    return busybox_rootfs_tar(workdir / "busybox-rootfs.tar")


def import_busybox(daemon: Daemon, tar: Path, ref: str = "busybox:latest") -> str:
    api = daemon.api()
    repo, _, tag = ref.rpartition(":")
    with open(tar, "rb") as f:
        out = api.import_image_from_data(f.read(), repository=repo, tag=tag,
                                         changes=['CMD ["sh"]'])
    return out


def new_daemon(workdir: Path, name: str, **kw: object) -> Daemon:
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    return Daemon(root=root, **kw)  # type: ignore[arg-type]


@contextlib.contextmanager
def busybox_daemon(workdir: Path, rootfs_tar: Path, name: str,
                   prepare: Callable[[Daemon], None] | None = None,
                   **kw: object) -> Iterator[Daemon]:
    """A started daemon of its own with busybox:latest imported (prepare, if
    given, runs before the start); every trace of it is removed afterwards,
    even when the test fails."""
    d = new_daemon(workdir, name, **kw)
    try:
        if prepare is not None:
            prepare(d)
        d.start()
        import_busybox(d, rootfs_tar)
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="session")
def daemon(workdir: Path, rootfs_tar: Path) -> Iterator[Daemon]:
    """The shared daemon."""
    with busybox_daemon(workdir, rootfs_tar, "shared") as d:
        yield d


@pytest.fixture
def fresh_daemon(workdir: Path, rootfs_tar: Path) -> Iterator[Daemon]:
    """A daemon of the test's own (for restarts and crashes)."""
    with busybox_daemon(workdir, rootfs_tar, "fresh") as d:
        yield d


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """Every CPU kept busy while the test runs (races show up under load, not on
    an idle machine); the busy loops are ended by PID afterwards."""
    import subprocess
    import sys
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


RACE_ROUNDS = int(os.environ.get("DPY_RACE_ROUNDS", "5"))
# Client mistakes dockerd itself answers with a 500 (a plain fmt.Errorf in its
# rmLink, through Docker 28): given as dockerd gives them, so the fuzzers, which
# take any other 500 for a bug, accept these words.
DOCKERDS_OWN_500S = ("Conflict, cannot remove the default link name of the container",
                     "Cannot get parent ")


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    """A plain docker-registry on loopback (one per test module)."""
    reg = Registry(Path(tempfile.mkdtemp(prefix="dpy-reg-"))).start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def client(daemon: Daemon):  # type: ignore[no-untyped-def]
    c = daemon.client()
    yield c
    c.close()


@pytest.fixture
def api(daemon: Daemon):  # type: ignore[no-untyped-def]
    c = daemon.api()
    yield c
    c.close()


@pytest.fixture
def docker_cli(daemon: Daemon):  # type: ignore[no-untyped-def]
    if not os.path.exists(DOCKER_CLI):
        pytest.skip(f"the Docker CLI ({DOCKER_CLI}) is not installed")
    return daemon.docker


# Skips a root run may have, each with its documented reason (crun refusing
# hybrid cgroups here); more means tests that stopped testing.
ALLOWED_ROOT_SKIPS = 3


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or os.geteuid() != 0:
        return
    skipped = [r for r in reporter.stats.get("skipped", []) if "integration" in r.nodeid]
    if len(skipped) > ALLOWED_ROOT_SKIPS and exitstatus == 0:
        reporter.write_line(f"{len(skipped)} integration tests skipped as root (at most "
                            f"{ALLOWED_ROOT_SKIPS} may): failing the run", red=True)
        session.exitstatus = 1
