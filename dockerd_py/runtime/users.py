"""Users and groups resolved from the container's own /etc/passwd and /etc/group,
read through the confined opener: never NSS, never the host's databases, never
a FIFO or a symlink out of the root."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidParameter
from ..storage.confined import Root

MAX_ID = 2**31 - 1


@dataclass
class ExecUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    home: str = "/"


@dataclass
class _Passwd:
    name: str
    uid: int
    gid: int
    home: str


@dataclass
class _Group:
    name: str
    gid: int
    members: list[str]


def _read(root: Root, path: str) -> list[list[str]]:
    try:
        data = root.read_file(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InvalidParameter(f"unable to read {path} in the container: "
                               f"{exc.strerror or exc}") from None
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _parse_id(text: str) -> int | None:
    """A numeric user or group; out of range is an error, never a name."""
    if not text.isdigit():
        return None
    value = int(text)
    if value > MAX_ID:
        raise InvalidParameter(f"uids and gids must be in range 0-{MAX_ID}")
    return value


def _passwd(root: Root) -> list[_Passwd]:
    out = []
    for f in _read(root, "etc/passwd"):
        if len(f) >= 4 and f[2].isdigit() and f[3].isdigit():
            out.append(_Passwd(f[0], int(f[2]), int(f[3]), f[5] if len(f) > 5 else "/"))
    return out


def _groups(root: Root) -> list[_Group]:
    out = []
    for f in _read(root, "etc/group"):
        if len(f) >= 3 and f[2].isdigit():
            members = [m for m in (f[3].split(",") if len(f) > 3 else []) if m]
            out.append(_Group(f[0], int(f[2]), members))
    return out


def resolve(rootfs: str, spec: str, group_add: list[str] | None = None) -> ExecUser:
    """Docker's `--user` forms: name, uid, name:group, uid:gid (and mixes)."""
    user_part, _, group_part = (spec or "").partition(":")
    with Root(rootfs) as root:
        passwd = _passwd(root)
        groups = None
        uid_num = _parse_id(user_part) if user_part else 0
        entry = None
        if user_part and uid_num is None:
            entry = next((p for p in passwd if p.name == user_part), None)
            if entry is None:
                raise InvalidParameter(f"unable to find user {user_part}: no matching "
                                       "entries in passwd file")
        elif uid_num is not None:
            entry = next((p for p in passwd if p.uid == uid_num), None)
        uid = entry.uid if entry else (uid_num or 0)
        gid = entry.gid if entry else 0
        home = entry.home if entry and entry.home else "/"
        if group_part:
            gid_num = _parse_id(group_part)
            if gid_num is not None:
                gid = gid_num
            else:
                groups = _groups(root)
                found = next((g for g in groups if g.name == group_part), None)
                if found is None:
                    raise InvalidParameter(f"unable to find group {group_part}: no matching "
                                           "entries in group file")
                gid = found.gid
        additional: list[int] = []
        if entry is not None and not group_part:  # as runc: only the implicit form adds them
            groups = groups if groups is not None else _groups(root)
            additional = [g.gid for g in groups if entry.name in g.members and g.gid != gid]
        for extra in group_add or []:
            gid_num = _parse_id(extra)
            if gid_num is None:
                groups = groups if groups is not None else _groups(root)
                found = next((g for g in groups if g.name == extra), None)
                if found is None:
                    raise InvalidParameter(f"Unable to find group {extra}: no matching "
                                           "entries in group file")
                gid_num = found.gid
            if gid_num not in additional:
                additional.append(gid_num)
    return ExecUser(uid, gid, additional, home)
