"""The shared firewall suite: every backend in the registry, driven the same way,
must leave the same rules in its host's tables, remove them again, and never
touch a rule that is not its own.

Each run happens in a private network namespace (`unshare --net`), so the
host's tables are never touched; a backend reads back through the iptables
variant it writes (nf_tables for iptables-restore, legacy for python-iptables),
and the recorder reports what it was asked."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from dockerd_py.network.firewall import BACKENDS

# how to list a backend's rules from outside it: the *-save of the variant it writes
SAVERS = {"iptables-restore": "iptables-nft-save", "python-iptables": "iptables-legacy-save",
          "recorder": None}

SCRIPT = textwrap.dedent("""
    import asyncio, json, subprocess, sys
    from dockerd_py.network.firewall import BridgeRules, PortMapping, new_firewall

    backend, saver = sys.argv[1], sys.argv[2]

    def dump(fw):
        # filter and nat of iptables; filter6 and nat6 of ip6tables
        out = {}
        for family, suffix in ((4, ""), (6, "6")):
            if saver == "-":
                for t, rules in fw.rules(family).items():
                    out[t + suffix] = [" ".join(r) for r in rules]
                continue
            tool = saver.replace("iptables", "ip6tables") if family == 6 else saver
            for table in ("filter", "nat"):
                text = subprocess.run([tool, "-t", table], capture_output=True, text=True).stdout
                out[table + suffix] = [l for l in text.splitlines() if l.startswith(("-A", ":"))]
        return out

    async def main():
        foreign = subprocess.run([saver.replace("-save", ""), "-t", "filter", "-A", "FORWARD",
                                  "-i", "other0", "-j", "ACCEPT"]) if saver != "-" else None
        fw = new_firewall(backend, "TFW")
        steps = {}
        await fw.setup()
        await fw.setup()  # idempotent
        if saver != "-":  # the operator's own rule in the user chain
            subprocess.run([saver.replace("-save", ""), "-t", "filter", "-A", "TFW-USER",
                            "-s", "192.0.2.99", "-j", "DROP"], check=True)
        steps["setup"] = dump(fw)
        one = BridgeRules("tfwbr0", "10.99.1.0/24")
        two = BridgeRules("tfwbr1", "10.99.2.0/24", masquerade=False, icc=False)
        await fw.add_bridge(one)
        await fw.add_bridge(two)
        await fw.add_bridge(two)  # idempotent
        await fw.add_bridge(BridgeRules("tfwbr2", "10.99.3.0/24", internal=True))
        await fw.add_bridge(BridgeRules("tfwbr3", "10.99.4.0/24", subnet6="fd99:4::/64"))
        await fw.set_ports("ep1", [PortMapping("tcp", "", 8080, "10.99.1.2", 80, "tfwbr0"),
                                   PortMapping("udp", "127.0.0.1", 5353, "10.99.1.2", 53,
                                               "tfwbr0")])
        await fw.set_ports("ep3", [PortMapping("tcp", "::", 8443, "fd99:4::2", 443, "tfwbr3"),
                                   PortMapping("tcp", "0.0.0.0", 8443, "10.99.4.2", 443,
                                               "tfwbr3")])
        steps["two"] = dump(fw)
        fw.loopback_nat = True      # what a daemon stopping with its proxies does
        await fw.apply()
        steps["loopback"] = dump(fw)
        fw.loopback_nat = False     # and the next start
        await fw.apply()
        steps["proxy"] = dump(fw)
        await fw.remove_ports("ep1")
        await fw.remove_ports("ep3")
        await fw.remove_bridge(one)
        steps["one"] = dump(fw)
        await fw.teardown()
        steps["teardown"] = dump(fw)
        print(json.dumps(steps))

    asyncio.run(main())
""")


def run_backend(name: str) -> dict:
    saver = SAVERS[name]
    if saver is not None and shutil.which(saver) is None:
        pytest.skip(f"{saver} is not installed")
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", SCRIPT, name, saver or "-"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def ours(lines: list[str]) -> list[str]:
    return [line for line in lines if "TFW" in line or "tfwbr" in line]


def test_every_backend_is_in_the_suite():
    assert set(BACKENDS) == set(SAVERS)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_backend_rules_lifecycle(name):
    steps = run_backend(name)
    two = " ".join(steps["two"]["filter"] + steps["two"]["nat"])
    # both bridges' forwarding rules, NAT only where masquerading is on, icc off as DROP
    assert "-i tfwbr0 ! -o tfwbr0 -j ACCEPT" in two
    assert "-i tfwbr1 -o tfwbr1 -j DROP" in two
    assert "-s 10.99.1.0/24 ! -o tfwbr0 -j MASQUERADE" in two
    assert "10.99.2.0/24" not in two
    assert two.count("-A TFW-FORWARD -i tfwbr1 -o tfwbr1 -j DROP") == 1  # added twice: once
    # nothing else into a bridge (a container's own ports stay closed to routing)
    assert "-A TFW-FORWARD ! -i tfwbr0 -o tfwbr0 -j DROP" in two
    # isolation between the networks, and an internal network that keeps to itself
    assert "-A TFW-FORWARD -j TFW-ISOLATION-1" in two
    assert "-A TFW-ISOLATION-1 -i tfwbr0 ! -o tfwbr0 -j TFW-ISOLATION-2" in two
    assert "-A TFW-ISOLATION-2 -o tfwbr1 -j DROP" in two
    assert "-A TFW-ISOLATION-1 ! -s 10.99.3.0/24 -o tfwbr2 -j DROP" in two
    assert "-i tfwbr2 ! -o tfwbr2 -j ACCEPT" not in two and "10.99.3.0/24 ! -o" not in two
    # published ports: DNAT (one on every address, one on loopback), forward, hairpin
    assert "! -i tfwbr0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.99.1.2:80" in two
    assert ("-d 127.0.0.1/32 ! -i tfwbr0 -p udp -m udp --dport 5353 -j DNAT "
            "--to-destination 10.99.1.2:53") in two
    assert ("-d 10.99.1.2/32 ! -i tfwbr0 -o tfwbr0 -p tcp -m tcp --dport 80 "
            "-m conntrack --ctstate DNAT -j ACCEPT") in two
    assert "-s 10.99.1.2/32 -d 10.99.1.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE" in two
    # IPv6: only the network with an IPv6 subnet, in ip6tables, with its port
    six = " ".join(steps["two"]["filter6"] + steps["two"]["nat6"])
    assert "-s fd99:4::/64 ! -o tfwbr3 -j MASQUERADE" in six
    assert "-A TFW-ISOLATION-1 -i tfwbr3 ! -o tfwbr3 -j TFW-ISOLATION-2" in six
    assert "! -i tfwbr3 -p tcp -m tcp --dport 8443 -j DNAT --to-destination [fd99:4::2]:443" in six
    assert ("-d fd99:4::2/128 ! -i tfwbr3 -o tfwbr3 -p tcp -m tcp --dport 443 "
            "-m conntrack --ctstate DNAT -j ACCEPT") in six
    assert "tfwbr0" not in six and "10.99." not in six
    assert "--to-destination 10.99.4.2:443" in two and "fd99" not in two
    # switching loopback NAT on and off swaps the OUTPUT hook, never doubles it
    if SAVERS[name] is not None:
        hooks = lambda step: [line for line in steps[step]["nat"]  # noqa: E731
                              if line.startswith("-A OUTPUT") and "TFW-DNAT" in line]
        assert hooks("two") == hooks("proxy") == [
            "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j TFW-DNAT"]
        assert hooks("loopback") == ["-A OUTPUT -m addrtype --dst-type LOCAL -j TFW-DNAT"]
        assert steps["loopback"]["nat6"] == steps["two"]["nat6"]   # ::1 is never NATed
    loop = " ".join(steps["loopback"]["nat"])
    assert "-A TFW-POSTROUTING -o tfwbr0 -m addrtype --src-type LOCAL -j MASQUERADE" in loop
    assert "--src-type LOCAL" not in " ".join(steps["proxy"]["nat"])
    one = " ".join(steps["one"]["filter"] + steps["one"]["nat"])
    assert "tfwbr0" not in one and "tfwbr1" in one and "DNAT --to" not in one
    assert "--to-destination" not in " ".join(steps["one"]["nat6"])
    assert not ours(steps["teardown"]["filter"] + steps["teardown"]["nat"])
    assert not ours(steps["teardown"]["filter6"] + steps["teardown"]["nat6"])
    if SAVERS[name] is not None:
        setup = steps["setup"]["filter"] + steps["setup"]["nat"]
        # the chains are hooked into the built-in ones exactly once each
        assert setup.count("-A FORWARD -j TFW-FORWARD") == 1
        assert setup.count("-A POSTROUTING -j TFW-POSTROUTING") == 1
        # the operator's chain first in FORWARD, and its rules kept through every change
        hooks = [line for line in setup if line.startswith("-A FORWARD -j TFW-")]
        assert hooks == ["-A FORWARD -j TFW-USER", "-A FORWARD -j TFW-FORWARD"]
        for step in ("setup", "two", "loopback", "proxy", "one"):
            assert "-A TFW-USER -s 192.0.2.99/32 -j DROP" in steps[step]["filter"], step
        # a loopback destination from outside is never NATed (moby#41872)
        assert ("-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j TFW-DNAT"
                in setup)
        # a rule that is not ours survives everything
        for step in steps.values():
            assert "-A FORWARD -i other0 -j ACCEPT" in step["filter"]


def test_real_backends_write_the_same_rules():
    """What the daemon asks for lands as the same rules whichever backend writes it."""
    real = [n for n, saver in SAVERS.items() if saver and shutil.which(saver)]
    if len(real) < 2:
        pytest.skip("needs both iptables variants")
    seen = []
    for name in real:
        two = run_backend(name)["two"]
        seen.append([sorted(ours(two["filter"] + two["nat"])),
                     sorted(ours(two["filter6"] + two["nat6"]))])
    assert len(seen[0][0]) >= 20 and len(seen[0][1]) >= 10
    assert seen[0] == seen[1]
