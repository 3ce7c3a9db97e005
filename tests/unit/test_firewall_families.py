"""The firewall seam's families: which rules are due, and when."""
from __future__ import annotations

import asyncio

from dockerd_py.network.firewall import BridgeRules, new_firewall


def test_firewall_families_follow_ip6tables():
    """--ip6tables=false: IPv4 rules only; else IPv6 is written once, then only
    when it changes (a reconcile writes both again)."""
    async def run() -> None:
        off = new_firewall("recorder", "T6", ipv6=False)
        await off.add_bridge(BridgeRules("t6br", "10.9.0.0/24", subnet6="fd09::/64"))
        assert list(off.due()) == [4]
        on = new_firewall("recorder", "T6")
        await on.add_bridge(BridgeRules("t6br", "10.9.0.0/24", subnet6="fd09::/64"))
        assert list(on.due()) == [4]                      # IPv6 written, unchanged since
        assert "fd09::/64" in " ".join(" ".join(r) for r in on.rules(6)["nat"])
        await on.reconcile()
        assert on.applied == 4                            # both at the add, both again
    asyncio.run(run())
