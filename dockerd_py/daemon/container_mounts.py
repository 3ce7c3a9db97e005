"""A container's mounts (binds, volumes, tmpfs): parsed from HostConfig.Binds,
HostConfig.Mounts and HostConfig.Tmpfs, checked with dockerd's messages, kept
as the `Mounts` of inspect, and turned into OCI mounts at start. Volumes are
named here; volumes.py makes and mounts them."""
from __future__ import annotations

import os
import posixpath
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..apitypes.container import MOUNT_POINT
from ..errors import InvalidParameter

PROPAGATIONS = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
# Files under /proc that runc lets a bind mount cover (what lxcfs uses).
PROC_ALLOWED = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
                "/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo"}


class MountError(InvalidParameter):
    pass


@dataclass
class MountPoint:
    """One of a container's mounts: Docker's MountPoint (inspect's `Mounts`), and
    what the daemon keeps about it for itself."""
    type: str                 # bind, volume, tmpfs
    destination: str
    source: str = ""          # a volume's: where its data is, once it is mounted
    name: str = ""            # a volume's name ("" until an anonymous one is made)
    driver: str = ""          # a volume's driver ("": the existing volume's, or the default)
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    create_source: bool = False  # a bind whose missing source is made at start (-v)
    nocopy: bool = False      # a volume not filled from the image (nocopy, --volumes-from)
    copied: bool = False      # the image's files were copied into the volume once
    anonymous: bool = False   # a volume made for this container (it goes with it on rm -v)
    tmpfs_option: bool = False  # from HostConfig.Tmpfs: no MountPoint of dockerd's (not listed)
    non_recursive: bool = False  # a bind without the mounts below its source (BindOptions)
    driver_opts: dict[str, str] = field(default_factory=dict)  # for a volume made at create
    labels: dict[str, str] = field(default_factory=dict)

    def inspect(self) -> dict[str, Any]:
        return MOUNT_POINT.marshal({"Type": self.type, "Name": self.name, "Source": self.source,
                                    "Destination": self.destination, "Driver": self.driver,
                                    "Mode": self.mode, "RW": self.rw,
                                    "Propagation": self.propagation})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> MountPoint:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


def _check_target(kind: str, target: str) -> str:
    if not target:
        raise MountError(f'invalid mount config for type "{kind}": field Target must not be empty')
    if not target.startswith("/"):
        raise MountError(f'invalid mount config for type "{kind}": invalid mount path: '
                         f"'{target}' mount path must be absolute")
    clean = "/" + posixpath.normpath(target).lstrip("/")  # Go's Clean: "//" is "/"
    if clean == "/":
        raise MountError(f'invalid mount config for type "{kind}": invalid specification: '
                         "destination can't be '/'")
    if (clean == "/proc" or clean.startswith("/proc/")) and clean not in PROC_ALLOWED:
        raise MountError(f'invalid mount config for type "{kind}": invalid specification: '
                         f"destination can't be '{clean}'")
    return clean


def check_volume(path: str) -> str:
    """A volume path of a config (`-v /data`): the same rules as mount targets."""
    try:
        return _check_target("volume", path)
    except MountError as exc:
        raise MountError(f"invalid volume specification: '{path}': {exc.message}") from None


def parse_bind(spec: str) -> MountPoint:
    """`-v SRC:DST[:OPTS]` (or `-v DST`, an anonymous volume)."""
    parts = spec.split(":")
    try:
        if len(parts) == 1:
            return volume("", check_volume(spec), "", True, False)
        if len(parts) > 3:
            raise MountError(f"invalid volume specification: '{spec}'")
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else ""
        if not source.startswith("/"):
            clean = _check_target("volume", target)
            options = [o for o in mode.split(",") if o]
            for opt in options:
                if opt not in {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached",
                               "delegated"}:
                    raise MountError(f"invalid mode: {mode}")
            return volume(source, clean, mode or "z", "ro" not in options, "nocopy" in options)
        clean = _check_target("bind", target)
        options = [o for o in mode.split(",") if o]
        for opt in options:
            if opt not in PROPAGATIONS | {"ro", "rw", "z", "Z", "nocopy", "consistent",
                                          "cached", "delegated"}:
                raise MountError(f"invalid mode: {mode}")
        if posixpath.normpath(source) == "/" and clean == "/":
            raise MountError("destination can't be '/'")
    except MountError as exc:
        if exc.message.startswith("invalid volume specification"):
            raise
        raise MountError(f"invalid volume specification: '{spec}': {exc.message}") from None
    propagation = next((o for o in options if o in PROPAGATIONS), "")  # see settle_propagation
    return MountPoint("bind", clean, source=posixpath.normpath(source), mode=mode,
                      rw="ro" not in options, propagation=propagation, create_source=True)


def parse_mount(m: dict[str, Any]) -> MountPoint:
    """One entry of HostConfig.Mounts (`--mount type=...`)."""
    kind = m.get("Type") or ""
    target = _check_target(kind or "bind", m.get("Target") or "")
    if kind == "bind":
        source = m.get("Source") or ""
        if not source:
            raise MountError('invalid mount config for type "bind": field Source must not be '
                             "empty")
        if not source.startswith("/"):
            raise MountError(f'invalid mount config for type "bind": invalid mount path: '
                             f"'{source}' mount path must be absolute")
        options = m.get("BindOptions") or {}
        propagation = options.get("Propagation") or ""  # see settle_propagation
        if propagation and propagation not in PROPAGATIONS:
            raise MountError(f'invalid mount config for type "bind": invalid propagation mode: '
                             f"{propagation}")
        if not os.path.exists(source) and not options.get("CreateMountpoint"):
            raise MountError(f'invalid mount config for type "bind": bind source path does not '
                             f"exist: {source}")
        return MountPoint("bind", target, source=posixpath.normpath(source),
                          rw=not m.get("ReadOnly"), propagation=propagation,
                          create_source=bool(options.get("CreateMountpoint")),
                          non_recursive=bool(options.get("NonRecursive")))
    if kind == "tmpfs":
        if m.get("Source"):
            raise MountError('invalid mount config for type "tmpfs": field Source must not be '
                             "specified")
        opts = m.get("TmpfsOptions") or {}
        data = []
        if opts.get("SizeBytes"):
            data.append(f"size={int(opts['SizeBytes'])}")
        if opts.get("Mode"):
            data.append(f"mode={int(opts['Mode']):o}")
        return tmpfs(target, ",".join(data), read_only=bool(m.get("ReadOnly")))
    if kind == "volume":
        options = m.get("VolumeOptions") or {}
        driver = (options.get("DriverConfig") or {}).get("Name") or ""
        entry = volume(m.get("Source") or "", target, "", not m.get("ReadOnly"),
                       bool(options.get("NoCopy")), driver)
        entry.driver_opts = dict((options.get("DriverConfig") or {}).get("Options") or {})
        entry.labels = dict(options.get("Labels") or {})
        return entry
    raise MountError(f'invalid mount config for type "{kind}": mount type unknown')


def volume(name: str, target: str, mode: str, rw: bool, nocopy: bool,
           driver: str = "") -> MountPoint:
    """A volume mount; an empty name is an anonymous volume (named at create), an
    empty driver the existing volume's (else --volume-driver, else local)."""
    return MountPoint("volume", target, name=name, driver=driver, mode=mode, rw=rw,
                      nocopy=nocopy)


def tmpfs(target: str, options: str, read_only: bool = False) -> MountPoint:
    clean = _check_target("tmpfs", target)
    opts = [o for o in options.split(",") if o]
    for opt in opts:
        key = opt.split("=", 1)[0]
        if key not in ("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "noexec",
                       "exec", "nosuid", "suid", "nodev", "dev", "ro", "rw", "noatime",
                       "relatime", "strictatime", "nodiratime", "tmpcopyup", "notmpcopyup"):
            raise MountError(f"invalid tmpfs option {opt!r}")
    if read_only and "ro" not in opts:
        opts.append("ro")
    return MountPoint("tmpfs", clean, mode=",".join(opts), rw="ro" not in opts)


def from_host_config(hc: dict[str, Any]) -> list[MountPoint]:
    """All mounts a HostConfig asks for, checked; duplicates are refused."""
    mounts = [parse_bind(b) for b in hc.get("Binds") or []]
    mounts += [parse_mount(m) for m in hc.get("Mounts") or []]
    for dst, opts in (hc.get("Tmpfs") or {}).items():
        mounts.append(replace(tmpfs(dst, opts or ""), tmpfs_option=True))
    seen: set[str] = set()
    for m in mounts:
        if m.destination in seen:
            raise MountError(f"Duplicate mount point: {m.destination}")
        seen.add(m.destination)
    return mounts


def settle_propagation(mounts: list[MountPoint], data_root: str) -> None:
    """dockerd's validateBindDaemonRoot: a bind whose source holds the daemon's root
    (or lies in it) is rslave unless it asked for rslave or rshared (any other mode
    is refused), so that no container pins the daemon's own mounts; any other bind
    without a mode is rprivate. (Prefixes as dockerd compares them: strings.)"""
    for m in mounts:
        if m.type != "bind":
            continue
        if not (m.source.startswith(data_root) or data_root.startswith(m.source)):
            m.propagation = m.propagation or "rprivate"
        elif not m.propagation:
            m.propagation = "rslave"
        elif m.propagation not in ("rslave", "rshared"):
            raise MountError('invalid mount config: must use either propagation mode "rslave" '
                             'or "rshared" when mount source is within the daemon root, daemon '
                             f'root: "{data_root}", bind mount source: "{m.source}", '
                             f'propagation: "{m.propagation}"')


def oci_mounts(mounts: list[MountPoint], owner: tuple[int, int] | None = None,
               volume_sources: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The OCI mounts (binds get their source made when `-v` asked for it, owned
    by owner: a remapped container root, as dockerd makes them). volume_sources:
    where each volume (by destination) is mounted, when that is new."""
    sources = volume_sources or {}
    out = []
    for m in sorted(mounts, key=lambda m: m.destination.count("/")):
        if m.type in ("bind", "volume"):
            source = sources.get(m.destination, m.source) if m.type == "volume" else m.source
            if m.create_source and not os.path.exists(source):
                os.makedirs(source, mode=0o755, exist_ok=True)
                if owner is not None:
                    os.chown(source, *owner)
            options = ["bind" if m.non_recursive else "rbind", m.propagation or "rprivate"]
            if not m.rw:
                options.append("ro")
            out.append({"destination": m.destination, "type": "bind", "source": source,
                        "options": options})
        elif m.type == "tmpfs":
            options = ["noexec", "nosuid", "nodev"]
            for opt in m.mode.split(","):
                if opt and opt not in options:
                    options.append(opt)
            out.append({"destination": m.destination, "type": "tmpfs", "source": "tmpfs",
                        "options": options})
    return out
