"""`--userns-remap`: container IDs mapped to a subordinate range of the host's,
so that root in a container is an unprivileged user on the host.

The mapping comes from /etc/subuid and /etc/subgid for a user (and group), as
dockerd reads them; `default` means `dockremap`, made (with a 65536-ID range
from 100000 up that nothing else holds) when it does not exist. The daemon then
keeps its state under <data-root>/<uid>.<gid>; layers are stored shifted
(extract.py maps IDs in, tarwriter.py maps them back out), so images keep their
IDs and digests."""
from __future__ import annotations

import asyncio
import grp
import logging
import os
import pwd
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_USER = "dockremap"
RANGE_START = 100000
RANGE_SIZE = 65536
OVERFLOW_ID = 65534  # what a namespace shows for an ID it does not map (nobody)


class UsernsError(Exception):
    """The remap setting cannot be used (the daemon does not start)."""


class IdMapError(ValueError):
    """An ID that the mapping does not cover."""


@dataclass(frozen=True)
class IdRange:
    container: int
    host: int
    size: int


class IdMap:
    """Container IDs to host IDs and back; IDENTITY when nothing is remapped."""

    def __init__(self, uids: tuple[IdRange, ...] = (), gids: tuple[IdRange, ...] = ()) -> None:
        self.uids, self.gids = uids, gids

    @property
    def remapped(self) -> bool:
        return bool(self.uids)

    @property
    def root(self) -> tuple[int, int]:
        """The host IDs of the container's root."""
        return self.to_host(0, 0)

    @property
    def owner(self) -> tuple[int, int] | None:
        """Who owns what the daemon makes for a container: its root's host IDs
        when remapped, None (the daemon's own) when not."""
        return self.root if self.uids else None

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        """Raises IdMapError (Docker's text) for an ID outside the ranges."""
        if not self.uids:
            return uid, gid
        return _map(self.uids, uid, "container"), _map(self.gids, gid, "container")

    def to_container(self, uid: int, gid: int) -> tuple[int, int]:
        """Host IDs as the container sees them: unmapped ones are nobody (65534)."""
        if not self.uids:
            return uid, gid
        try:
            cuid = _map(self.uids, uid, "host")
        except IdMapError:
            cuid = OVERFLOW_ID
        try:
            cgid = _map(self.gids, gid, "host")
        except IdMapError:
            cgid = OVERFLOW_ID
        return cuid, cgid

    def oci(self) -> dict[str, list[dict[str, int]]]:
        """uidMappings/gidMappings of the runtime spec."""
        def one(ranges: tuple[IdRange, ...]) -> list[dict[str, int]]:
            return [{"containerID": r.container, "hostID": r.host, "size": r.size} for r in ranges]
        return {"uidMappings": one(self.uids), "gidMappings": one(self.gids)}

    def __repr__(self) -> str:
        return f"IdMap(uids={self.uids}, gids={self.gids})"


IDENTITY = IdMap()


def _map(ranges: tuple[IdRange, ...], ident: int, side: str) -> int:
    for r in ranges:
        start = r.container if side == "container" else r.host
        if start <= ident < start + r.size:
            return ident - start + (r.host if side == "container" else r.container)
    if side == "container":
        raise IdMapError(f"Container ID {ident} cannot be mapped to a host ID")
    raise IdMapError(f"Host ID {ident} cannot be mapped to a container ID")


# -- the daemon's setting -------------------------------------------------------------
async def setup(setting: str, subuid: str = "/etc/subuid",
                subgid: str = "/etc/subgid") -> IdMap:
    """The mapping that `--userns-remap=<setting>` names (`default`, `user`,
    `user:group`, `uid`, `uid:gid`); `default` creates dockremap when missing."""
    user, group = _names(setting)
    if setting.split(":")[0] == "default" and not user_exists(user):
        await _create_default_user(user, subuid, subgid)
    uids = _ranges(subuid, user, _uid_of(user))
    gids = _ranges(subgid, group, _gid_of(group))
    if not uids:
        raise UsernsError(f"Can't create ID mappings: no subuid ranges found for user "
                          f"\"{user}\"")
    if not gids:
        raise UsernsError(f"Can't create ID mappings: no subgid ranges found for group "
                          f"\"{group}\"")
    log.info("User namespaces: ID ranges will be mapped to subuid/subgid ranges of: %s", user)
    return IdMap(uids, gids)


def _names(setting: str) -> tuple[str, str]:
    """(user name, group name) of the setting, checked against passwd and group."""
    parts = setting.split(":")
    if len(parts) > 2 or not parts[0]:
        raise UsernsError(f"Invalid user/group specification in --userns-remap: {setting!r}")
    first = DEFAULT_USER if parts[0] == "default" else parts[0]
    if first.isdigit():
        try:
            user = pwd.getpwuid(int(first)).pw_name
        except KeyError:
            raise UsernsError(f"Uid {first} has no entry in /etc/passwd") from None
    elif parts[0] == "default" or user_exists(first):
        user = first
    else:
        raise UsernsError(f"Error during uid lookup for \"{first}\": no such user")
    if user == "root":
        raise UsernsError("User namespaces: root cannot be remapped with itself")
    second = parts[1] if len(parts) == 2 else first  # a user's own group, a uid's gid
    if second.isdigit():
        try:
            return user, grp.getgrgid(int(second)).gr_name
        except KeyError:
            raise UsernsError(f"Gid {second} has no entry in /etc/group") from None
    if parts[0] != "default":
        try:
            grp.getgrnam(second)
        except KeyError:
            raise UsernsError(f"Error during gid lookup for \"{second}\": no such group") \
                from None
    return user, second


def user_exists(name: str) -> bool:
    return _uid_of(name) is not None


def _uid_of(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _gid_of(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def read_ranges(path: str) -> list[tuple[str, int, int]]:
    """(name or id, start, count) of each well-formed line of a subid file."""
    out: list[tuple[str, int, int]] = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit() and \
                not line.lstrip().startswith("#"):
            out.append((fields[0], int(fields[1]), int(fields[2])))
    return out


def _ranges(path: str, name: str, ident: int | None) -> tuple[IdRange, ...]:
    """The ranges of name (or its numeric ID), in file order, given container IDs
    one after the other from 0, as dockerd assigns them."""
    out: list[IdRange] = []
    next_container = 0
    for owner, start, count in read_ranges(path):
        if owner == name or (ident is not None and owner == str(ident)):
            out.append(IdRange(next_container, start, count))
            next_container += count
    return tuple(out)


def next_free_start(taken: list[tuple[str, int, int]], size: int = RANGE_SIZE) -> int:
    """The lowest start from 100000 up whose `size` IDs overlap no taken range."""
    start = RANGE_START
    for _, begin, count in sorted(taken, key=lambda r: r[1]):
        if begin < start + size and start < begin + count:
            start = begin + count
    return start


async def _create_default_user(name: str, subuid: str, subgid: str) -> None:
    """Docker's dockremap: a system user and group with no shell, and a range in
    /etc/subuid and /etc/subgid."""
    await _run("useradd", "--system", "--user-group", "--shell", "/bin/false",
               "--no-create-home", name)
    uid_start = next_free_start(read_ranges(subuid))
    gid_start = next_free_start(read_ranges(subgid))
    await _run("usermod", "--add-subuids", f"{uid_start}-{uid_start + RANGE_SIZE - 1}",
               "--add-subgids", f"{gid_start}-{gid_start + RANGE_SIZE - 1}", name)
    log.info("created user %s with subordinate IDs from %d (uids) and %d (gids)",
             name, uid_start, gid_start)


async def _run(*argv: str) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise UsernsError(f"Error during \"{DEFAULT_USER}\" user creation: {argv[0]}: "
                          f"{exc.strerror}") from None
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise UsernsError(f"Error during \"{DEFAULT_USER}\" user creation: {argv[0]} failed: "
                          f"{err.decode(errors='replace').strip()}")


def prepare_root(data_root: str, idmap: IdMap) -> str:
    """The remapped data root `<data_root>/<uid>.<gid>` (0710, root:<remapped gid>),
    with data_root itself searchable by others (0711) so that the container's
    root can reach its layers; refuses a path whose parents shut it out."""
    uid, gid = idmap.root
    os.chmod(data_root, 0o711)
    root = os.path.join(data_root, f"{uid}.{gid}")
    os.makedirs(root, mode=0o710, exist_ok=True)
    os.chown(root, os.getuid(), gid)
    os.chmod(root, 0o710)
    parent = os.path.dirname(os.path.abspath(data_root))
    while parent != "/":
        if not _can_search(parent, uid, gid):
            raise UsernsError(f"a subdirectory in your graphroot path ({root}) restricts "
                              "access to the remapped root uid/gid; please fix by allowing "
                              "'o+x' permissions on existing directories")
        parent = os.path.dirname(parent)
    return root


def _can_search(path: str, uid: int, gid: int) -> bool:
    st = os.stat(path)
    return bool(st.st_mode & 0o001 or (st.st_uid == uid and st.st_mode & 0o100)
                or (st.st_gid == gid and st.st_mode & 0o010))


def chown_dir(path: str, idmap: IdMap, mode: int) -> None:
    """A directory of the data root the container's root passes through: owned
    by the daemon, group the remapped root's group (Docker's root:<gid> 0710)."""
    if idmap.remapped:
        os.chown(path, os.getuid(), idmap.root[1])
        os.chmod(path, mode)
