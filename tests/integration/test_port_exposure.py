"""What a neighbour on the host's LAN can reach (reliability notes, 1g and 35):
a port published on 127.0.0.1 only from the host itself, not with a forged
127.0.0.1 destination (moby#41872); a container's own ports not by routing to
its address through the host (moby#45610); published ports still do."""
from __future__ import annotations

import signal
import subprocess
import time

from .test_ports import HTTPD, host_port, http_get, outside_client


def neighbour_get(ns: str, url: str) -> subprocess.CompletedProcess:
    """A request from the neighbour; no answer within 3 s counts as refused."""
    return subprocess.run(["ip", "netns", "exec", ns, "timeout", "-s", "KILL", "3",
                           "busybox", "wget", "-qO-", url], capture_output=True, timeout=10)


def test_neighbours_reach_published_ports_only(client, daemon):
    local = client.containers.run("busybox", HTTPD, detach=True,
                                  ports={"80/tcp": ("127.0.0.1", None)})
    public = client.containers.run("busybox", HTTPD, detach=True, ports={"80/tcp": None})
    try:
        port, public_port = host_port(local), host_port(public)
        local_ip = local.attrs["NetworkSettings"]["IPAddress"]
        assert b"root:" in http_get("127.0.0.1", port)       # the host itself: yes
        with outside_client(daemon.prefix, 5) as (ns, host_ip):
            run = lambda *a: subprocess.run(["ip", "netns", "exec", ns, *a],  # noqa: E731
                                            check=True, capture_output=True)
            # what a neighbour can do: route the containers' subnet through the
            # host, and send 127.0.0.1 to it (its own lo down, route_localnet on)
            run("ip", "route", "add", daemon.subnet, "via", host_ip)
            run("ip", "link", "set", "lo", "down")
            run("sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
            run("ip", "route", "add", "127.0.0.1/32", "via", host_ip)
            published = neighbour_get(ns, f"http://{host_ip}:{public_port}/passwd")
            assert published.stdout.startswith(b"root:"), published.stderr
            assert neighbour_get(ns, f"http://{host_ip}:{port}/passwd").returncode != 0
            forged = neighbour_get(ns, f"http://127.0.0.1:{port}/passwd")
            assert not forged.stdout.startswith(b"root:"), "a forged 127.0.0.1 got in"
            direct = neighbour_get(ns, f"http://{local_ip}:80/passwd")
            assert not direct.stdout.startswith(b"root:"), "the container port was open"
        assert b"root:" in http_get("127.0.0.1", port)       # and the host still can
    finally:
        local.remove(force=True)
        public.remove(force=True)


def test_the_operators_chain_and_a_reload_after_a_flush(fresh_daemon):
    """<P>-USER (Docker's DOCKER-USER) is the operator's: its DROP closes a
    published port and our rewrites never touch it. Rules someone else flushed
    (a firewall reload) come back on SIGHUP (reliability notes, 36)."""
    d = fresh_daemon
    client = d.client()
    chain = d.prefix.upper()
    c = client.containers.run("busybox", HTTPD, detach=True, ports={"80/tcp": None})
    port = host_port(c)
    block = ["-p", "tcp", "-m", "conntrack", "--ctorigdstport", str(port), "-j", "DROP"]
    with outside_client(d.prefix, 6) as (ns, host_ip):
        url = f"http://{host_ip}:{port}/passwd"
        assert neighbour_get(ns, url).stdout.startswith(b"root:")
        subprocess.run(["iptables", "-I", f"{chain}-USER", *block], check=True)
        assert not neighbour_get(ns, url).stdout.startswith(b"root:")
        other = client.containers.run("busybox", HTTPD, detach=True, ports={"80/tcp": None})
        other.remove(force=True)                     # our chains rewritten twice meanwhile
        assert not neighbour_get(ns, url).stdout.startswith(b"root:")
        subprocess.run(["iptables", "-D", f"{chain}-USER", *block], check=True)
        assert neighbour_get(ns, url).stdout.startswith(b"root:")

        def ours() -> list[str]:
            return [line for table, name in (("filter", f"{chain}-FORWARD"),
                                             ("nat", f"{chain}-DNAT"))
                    for line in subprocess.run(["iptables", "-t", table, "-S", name],
                                               capture_output=True, text=True).stdout.split("\n")
                    if line.startswith("-A")]
        before = ours()
        assert before
        for table, name in (("filter", f"{chain}-FORWARD"), ("nat", f"{chain}-DNAT")):
            subprocess.run(["iptables", "-t", table, "-F", name], check=True)
        assert ours() == []
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "firewall rules written again" not in d.log() and time.time() < deadline:
            time.sleep(0.05)
        assert ours() == before
        subprocess.run(["ip", "netns", "exec", ns, "ip", "route", "add", d.subnet, "via",
                        host_ip], check=True)
        direct = f"http://{c.attrs['NetworkSettings']['IPAddress']}:80/passwd"
        assert not neighbour_get(ns, direct).stdout.startswith(b"root:")   # isolation back
        assert neighbour_get(ns, url).stdout.startswith(b"root:")
    c.remove(force=True)
