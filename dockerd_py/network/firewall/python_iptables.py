"""The backend for hosts whose iptables is the legacy one: python-iptables
(libiptc) edits the tables in-process. It cannot see nf_tables rules, so it is
chosen only where `iptables --version` says legacy (or by --firewall-backend).

libiptc is not thread-safe and every change must hold the xtables lock, so all
work runs on one thread of its own, in order.

IPv6 rules go through ip6tables-legacy-restore instead: libxtables registers an
extension (MASQUERADE, DNAT, ...) for the family it was first loaded for, so
one process cannot build both IPv4 and IPv6 rules with it."""
from __future__ import annotations

import asyncio
import fcntl
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .base import Firewall, Rendered
from .iptables_restore import FirewallError, RestoreTool

XTABLES_LOCK = "/run/xtables.lock"


def _rule(iptc: Any, args: list[str]) -> Any:
    """An iptc.Rule from iptables arguments (what render() writes: -s, -d, -i, -o,
    -p with an optional `!`, -m MATCH --opt value..., -j TARGET --opt value...)."""
    rule = iptc.Rule()
    i, negate, current = 0, False, None
    while i < len(args):
        arg = args[i]
        if arg == "!":
            negate = True
            i += 1
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        prefix = "!" if negate else ""
        if arg == "-s":
            rule.src = prefix + value
        elif arg == "-d":
            rule.dst = prefix + value
        elif arg == "-i":
            rule.in_interface = prefix + value
        elif arg == "-o":
            rule.out_interface = prefix + value
        elif arg == "-p":
            rule.protocol = prefix + value
        elif arg == "-m":
            current = rule.create_match(value)
        elif arg == "-j":
            current = rule.create_target(value)
        elif arg.startswith("--") and current is not None:
            setattr(current, arg[2:].replace("-", "_"), prefix + value)
        else:
            raise FirewallError(f"python-iptables backend: unsupported argument {arg}")
        negate = False
        i += 2
    return rule


class PythonIptables(Firewall):
    def __init__(self, prefix: str, ipv6: bool = True) -> None:
        super().__init__(prefix, ipv6)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="firewall")
        self.ipv6_tool = RestoreTool("ip6tables-legacy-save", "ip6tables-legacy-restore")

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def write(self, family: int, rendered: Rendered) -> None:
        if family == 6:
            await self.ipv6_tool.write(self.chains(6), rendered, keep=self.user_chain)
        else:
            await self._call(self._apply, rendered)

    async def remove(self, family: int) -> None:
        if family == 6:
            await self.ipv6_tool.remove(self.chains(6))
        else:
            await self._call(self._teardown)

    # -- on the firewall thread ----------------------------------------------------
    def _locked(self, work: Any) -> None:
        fd = os.open(XTABLES_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            work()
        finally:
            os.close(fd)

    def _apply(self, rendered: dict[str, list[list[str]]]) -> None:
        """Rewrite our chains in full and add any jump that is missing."""
        import iptc  # loads libiptc: only on hosts that use this backend

        def work() -> None:
            for table_name, hooks in self.chains(4).items():
                table = iptc.Table(table_name)
                table.autocommit = False
                table.refresh()  # anything else may have changed the table since
                ours = {}
                for name in dict.fromkeys(c for c, _, _ in hooks):
                    chain = iptc.Chain(table, name)
                    if not table.is_chain(name):
                        table.create_chain(name)
                    elif name != self.user_chain:  # the operator's: never emptied
                        chain.flush()
                    ours[name] = chain
                for args in rendered[table_name]:
                    ours[args[1]].append_rule(_rule(iptc, args[2:]))
                wanted = [(b, _rule(iptc, [*m, "-j", c])) for c, b, m in hooks if b is not None]
                for builtin in {b for b, _ in wanted}:  # a jump of another mode goes
                    chain = iptc.Chain(table, builtin)
                    mine = [j for b, j in wanted if b == builtin]
                    for rule in list(chain.rules):
                        if rule.target is not None and rule.target.name in ours \
                                and rule not in mine:
                            chain.delete_rule(rule)
                for builtin, jump in reversed(wanted):  # each at 1: the first ends first
                    if jump not in iptc.Chain(table, builtin).rules:
                        iptc.Chain(table, builtin).insert_rule(jump)
                table.commit()
                table.refresh()
        self._locked(work)

    def _teardown(self) -> None:
        import iptc

        def work() -> None:
            for table_name, hooks in self.chains(4).items():
                table = iptc.Table(table_name)
                table.autocommit = False
                table.refresh()  # anything else may have changed the table since
                ours_all = {c for c, _, _ in hooks}
                for builtin in {b for _, b, _ in hooks if b is not None}:
                    chain = iptc.Chain(table, builtin)
                    for rule in list(chain.rules):  # any jump to ours, whatever its match
                        if rule.target is not None and rule.target.name in ours_all:
                            chain.delete_rule(rule)
                ours = [n for n in dict.fromkeys(c for c, _, _ in hooks) if table.is_chain(n)]
                for name in ours:  # flush all first: they jump to each other
                    iptc.Chain(table, name).flush()
                for name in ours:
                    table.delete_chain(name)
                table.commit()
                table.refresh()
        self._locked(work)
