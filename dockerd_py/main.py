"""`dockerd-py`: parse the configuration, start the daemon, serve the API."""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import socket
import ssl
import sys

from aiohttp import web

from shared.api import API_VERSION, ENGINE_VERSION, PRODUCT_VERSION

from . import workers
from .config import ConfigError, DaemonConfig, from_argv
from .config import reload as reload_config
from .crashpoints import crashpoint
from .daemon.daemon import Daemon, DaemonStartError
from .errors import DockerError
from .server.app import make_app
from .server.hijack import close_all
from .server.listeners import ListenerError, open_listeners, serve_sockets, server_tls

log = logging.getLogger("dockerd-py")
MAX_HEAD = 1 << 20  # bytes of a request line or header field (Go's DefaultMaxHeaderBytes)
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "error": logging.ERROR, "fatal": logging.CRITICAL}


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) how we are doing; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)


async def serve(cfg: DaemonConfig) -> int:
    workers.install_default(asyncio.get_running_loop())
    daemon = Daemon(cfg)
    try:
        await daemon.start()
        tls = server_tls(cfg.tlscert, cfg.tlskey, cfg.tlscacert if cfg.tlsverify else None) \
            if (cfg.tls or cfg.tlsverify) else None
        if tls is None and any(h.startswith("tcp://") for h in cfg.hosts):
            log.warning("[DEPRECATION NOTICE]: API is accessible on tcp without encryption. "
                        "Startup is intentionally being slowed down to show this message")
            await asyncio.sleep(15)
        sockets = open_listeners(cfg.hosts, cfg.group, tls)
    except (DaemonStartError, ListenerError, OSError, DockerError, ssl.SSLError) as exc:
        log.error("failed to start daemon: %s", exc)
        await daemon.shutdown()
        return 1
    except Exception as exc:  # a bug: say what and where, then stop
        log.exception("failed to start daemon: %s", exc)
        await daemon.shutdown()
        return 1
    # Go's server takes a request head of up to 1 MiB (a long archive path, big
    # filters); aiohttp's default refuses a line past 8 KiB with a plain-text 400
    runner = web.AppRunner(make_app(daemon), access_log=None, shutdown_timeout=2.0,
                           handle_signals=False, max_line_size=MAX_HEAD, max_field_size=MAX_HEAD)
    await runner.setup()
    assert runner.server is not None
    listening = await serve_sockets(runner.server, sockets, tls)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(daemon))
    sd_notify("READY=1")
    log.info("API listening on %s", ", ".join(cfg.hosts))
    await stop.wait()
    sd_notify("STOPPING=1")
    for server in listening:
        server.close()
    ended = close_all()  # attached clients (exec -it, attach) do not hold the shutdown
    if ended:
        log.info("closed %d attached stream(s)", ended)
    await runner.cleanup()
    await daemon.shutdown()
    workers.shutdown()
    for host in cfg.hosts:  # our socket files go with us (not systemd's)
        if host.startswith("unix://"):
            try:
                os.unlink(host[len("unix://"):])
            except OSError:
                pass
    return 0


def _reload(daemon: Daemon) -> None:
    """SIGHUP: what dockerd reloads from daemon.json, with a log line; the rest stays."""
    cfg = daemon.cfg
    try:
        changed = reload_config(cfg)
    except ConfigError as exc:
        log.error("reloading the configuration failed, keeping the running one: %s", exc)
        return
    if "default_runtime" in changed and cfg.default_runtime not in daemon.runtimes:
        log.error("default-runtime %s is not configured: keeping %s", cfg.default_runtime,
                  daemon.runtimes.default)
        cfg.default_runtime = daemon.runtimes.default
        changed.remove("default_runtime")
    daemon.runtimes.default = cfg.default_runtime
    logging.getLogger().setLevel(LEVELS.get(cfg.log_level, logging.INFO))
    log.info("reloaded the configuration from %s: %s", cfg.config_file,
             ", ".join(changed) or "nothing changed")
    asyncio.ensure_future(_reconcile_firewall(daemon))


async def _reconcile_firewall(daemon: Daemon) -> None:
    """SIGHUP also writes our packet-filter rules again (a firewall reload or an
    `iptables -F` may have removed them; the operator's chain is left as it is)."""
    try:
        await daemon.firewall.reconcile()
    except DockerError as exc:
        log.error("rewriting the firewall rules failed: %s", exc.message)
        return
    log.info("firewall rules written again")


def main(argv: list[str] | None = None) -> None:
    try:
        cfg, args = from_argv(argv)
    except ConfigError as exc:
        print(f"dockerd-py: {exc}", file=sys.stderr)
        sys.exit(1)
    if args.version:
        print(f"dockerd-py version {PRODUCT_VERSION}, Docker Engine {ENGINE_VERSION} "
              f"(API {API_VERSION})")
        return
    if args.validate:
        print("configuration OK")
        return
    logging.basicConfig(level=LEVELS.get(cfg.log_level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug is per packet
    if os.geteuid() != 0:
        log.error("dockerd-py needs to be started with root privileges")
        sys.exit(1)
    _raise_fd_limit()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    code = loop.run_until_complete(serve(cfg))
    _exit(cfg, code)


def _raise_fd_limit() -> None:
    """Every client connection and container costs descriptors: take the whole
    allowance (as systemd's LimitNOFILE gives dockerd), not the shell's 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _exit(cfg: DaemonConfig, code: int) -> None:
    """End the process now: the data-root lock (an open fd) is released by the
    exit itself, so it is held for as long as this process lives, whatever a
    thread is still doing; and no thread, stuck or not, keeps the process."""
    crashpoint("shutdown:before-exit")
    pidfile = cfg.effective_pidfile
    try:
        with open(pidfile) as f:
            ours = f.read().strip() == str(os.getpid())
        if ours:
            os.unlink(pidfile)
    except OSError:
        pass
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
