"""The default backend: `iptables-restore --noflush -w`, which follows whatever
iptables the host runs (nf_tables on Debian 12, or legacy)."""
from __future__ import annotations

import asyncio

from ...errors import DockerError
from .base import Firewall, Rendered

Chains = dict[str, list[tuple[str, str | None, list[str]]]]


class FirewallError(DockerError):
    pass


def _join(args: list[str]) -> str:
    """One iptables-restore line (it splits on blanks and knows double quotes only)."""
    return " ".join(f'"{a}"' if (" " in a or not a) else a for a in args)


async def _run(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin)
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


TOOLS = {4: ("iptables-save", "iptables-restore"), 6: ("ip6tables-save", "ip6tables-restore")}


class RestoreTool:
    """One family's rules written through an iptables-save/-restore pair."""

    def __init__(self, save: str, restore: str) -> None:
        self.save_cmd, self.restore_cmd = save, restore

    async def _save(self, table: str) -> list[str]:
        code, out, err = await _run(self.save_cmd, "-t", table)
        if code != 0:
            raise FirewallError(f"{self.save_cmd}: {err.strip()}")
        return out.splitlines()

    async def _restore(self, script: str) -> None:
        code, _, err = await _run(self.restore_cmd, "--noflush", "-w", stdin=script.encode())
        if code != 0:
            raise FirewallError(f"{self.restore_cmd}: {err.strip()}")

    async def write(self, chains: Chains, rendered: Rendered, keep: str = "") -> None:
        """Rewrite our chains in full (declaring a chain with --noflush empties it),
        the chain `keep` only made if missing, and add any jump that is missing.
        One restore per table is atomic."""
        for table, hooks in chains.items():
            existing = await self._save(table)
            lines = [f"*{table}"]
            for chain in dict.fromkeys(c for c, _, _ in hooks):
                if chain != keep or not any(line.startswith(f":{chain} ") for line in existing):
                    lines.append(f":{chain} - [0:0]")
            lines += [_join(rule) for rule in rendered[table]]
            wanted = {" ".join(["-A", b, *m, "-j", c]) for c, b, m in hooks if b is not None}
            for line in existing:  # a jump of another mode (loopback NAT or not) goes
                words = line.split()
                if len(words) > 3 and words[0] == "-A" and words[-2] == "-j" \
                        and words[-1] in {c for c, b, _ in hooks if b == words[1]} \
                        and line not in wanted:
                    lines.append("-D " + line[3:])
            for chain, builtin, match in reversed(hooks):  # each at 1: the first ends first
                if builtin is None:
                    continue
                jump = " ".join(["-A", builtin, *match, "-j", chain])
                if jump not in existing:
                    lines.append(_join(["-I", builtin, "1", *match, "-j", chain]))
            lines.append("COMMIT")
            await self._restore("\n".join(lines) + "\n")

    async def remove(self, chains: Chains) -> None:
        """Delete every jump to our chains (whatever its match was) and the chains."""
        for table, hooks in chains.items():
            existing = await self._save(table)
            lines = [f"*{table}"]
            ours_all = {c for c, _, _ in hooks}
            builtins = {b for _, b, _ in hooks if b is not None}
            for line in existing:
                words = line.split()
                if len(words) > 3 and words[0] == "-A" and words[1] in builtins \
                        and words[-2] == "-j" and words[-1] in ours_all:
                    lines.append("-D " + line[3:])
            ours = [c for c in dict.fromkeys(c for c, _, _ in hooks)
                    if any(line.startswith(f":{c} ") for line in existing)]
            lines += [f"-F {chain}" for chain in ours]
            lines += [f"-X {chain}" for chain in ours]
            lines.append("COMMIT")
            if len(lines) > 2:
                await self._restore("\n".join(lines) + "\n")


class IptablesRestore(Firewall):
    def __init__(self, prefix: str, ipv6: bool = True) -> None:
        super().__init__(prefix, ipv6)
        self.tools = {family: RestoreTool(*TOOLS[family]) for family in (4, 6)}

    async def write(self, family: int, rendered: Rendered) -> None:
        await self.tools[family].write(self.chains(family), rendered, keep=self.user_chain)

    async def remove(self, family: int) -> None:
        await self.tools[family].remove(self.chains(family))
