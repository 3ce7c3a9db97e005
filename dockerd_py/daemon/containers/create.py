"""`docker create`: check the request, merge in the image's config, reserve the
name, make the filesystem and record the container."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import posixpath
import secrets
from typing import Any

from shared.api import API_VERSION, version_tuple
from shared.timeutil import now_rfc3339

from ...apitypes.container import CONFIG
from ...crashpoints import crashpoint
from ...errors import InvalidParameter, NotFound
from ...runtime import cgroups, spec
from .. import container_mounts as mounts_mod
from .. import names as names_mod
from .. import validate
from ..container_mounts import MountPoint
from ..images.shapes import format_platform, image_platform, parse_platform, platform_matches
from ..networking.endpoints import mode_network, user_defined
from ..networking.ports import check_bindings
from . import ipc, rules
from .deps import ContainerDeps
from .record import Container, Internal, network_settings_shape, new_state
from .storage import create_filesystem, remove_filesystem

CONFIG_KEYS = CONFIG.names  # a create body's top level: Config's fields


def merge_image_config(user: dict[str, Any], image: dict[str, Any]) -> None:
    """dockerd's merge(): the image fills what the request left out."""
    if not user.get("User"):
        user["User"] = image.get("User", "")
    ports = dict(image.get("ExposedPorts") or {})
    ports.update(user.get("ExposedPorts") or {})
    user["ExposedPorts"] = ports or None
    env = list(user.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    for item in image.get("Env") or []:
        if item.split("=", 1)[0] not in keys:
            env.append(item)
    user["Env"] = env
    labels = dict(image.get("Labels") or {})
    labels.update(user.get("Labels") or {})
    user["Labels"] = labels
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = image.get("Cmd")
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = image.get("Entrypoint")
    if image.get("Healthcheck"):
        merged = dict(image["Healthcheck"])
        merged.update({k: v for k, v in (user.get("Healthcheck") or {}).items() if v})
        user["Healthcheck"] = merged
    if not user.get("WorkingDir"):
        user["WorkingDir"] = image.get("WorkingDir", "")
    volumes = dict(image.get("Volumes") or {})
    volumes.update(user.get("Volumes") or {})
    user["Volumes"] = volumes or None
    if not user.get("StopSignal"):
        user["StopSignal"] = image.get("StopSignal") or None
    if user.get("StopSignal") is None:
        user.pop("StopSignal", None)


MAX_API = version_tuple(API_VERSION)


def parse_link(text: str) -> tuple[str, str]:
    """A `--link` as opts.ParseLink reads it: `name:alias`, `name`, or the stored
    `/name:/parent/alias` form; (name, alias)."""
    if not text:
        raise InvalidParameter("empty string specified for links")
    parts = text.split(":")
    if len(parts) > 2:
        raise InvalidParameter(f"bad format for links: {text}")
    if len(parts) == 1:
        return text, text
    if parts[0].startswith("/"):
        return parts[0][1:], parts[1].rsplit("/", 1)[-1]
    return parts[0], parts[1]


def _migrate_mac_address(config: dict[str, Any], mode: str, endpoints: dict[str, Any],
                         api_version: tuple[int, ...]) -> str | None:
    """dockerd's handleMACAddressBC: the container-wide Config.MacAddress goes to the
    main network's endpoint (kept in the config below API 1.44, where an endpoint's
    own address was ignored; dropped with a warning from 1.44)."""
    mac = config.get("MacAddress") or ""
    name = mode_network(mode)
    settable = name == "bridge" or user_defined(mode)  # IsDefault, IsBridge, IsUserDefined
    if api_version < (1, 44):
        if not mac:
            for key, ep in endpoints.items():
                endpoints[key] = dict(ep or {}, MacAddress="")
            return None
        if not settable:
            raise InvalidParameter("conflicting options: mac-address and the network mode")
        for key, ep in (endpoints or {name: {}}).items():
            endpoints[key] = dict(ep or {}, MacAddress=mac)
        return None
    if not mac:
        return None
    if settable:
        if not endpoints:
            endpoints[name] = {"MacAddress": mac}
        elif name not in endpoints and mode not in endpoints:
            raise InvalidParameter("if a container-wide MAC address is supplied, "
                                   "HostConfig.NetworkMode must match the identity of a network "
                                   "in NetworkSettings.Networks")
        else:
            key = name if name in endpoints else mode
            ep = dict(endpoints[key] or {})
            if ep.get("MacAddress") and ep["MacAddress"] != mac:
                raise InvalidParameter("the container-wide MAC address must match the "
                                       "endpoint-specific MAC address for the main network, or "
                                       "be left empty")
            endpoints[key] = dict(ep, MacAddress=mac)
    config["MacAddress"] = ""
    return ("The container-wide MacAddress field is now deprecated. It should be specified in "
            "EndpointsConfig instead.")


def _daemon_defaults(hc: dict[str, Any], api_version: tuple[int, ...]) -> None:
    """What dockerd's adaptContainerSettings fills in where the request left a
    field empty (the Go client sends "" and 0, not nothing)."""
    if not hc.get("IpcMode"):  # API < 1.40 had "shareable" as the default
        hc["IpcMode"] = "shareable" if api_version < (1, 40) else "private"
    if not hc.get("ShmSize"):
        hc["ShmSize"] = spec.DEFAULT_SHM_SIZE
    if not hc.get("CgroupnsMode"):  # private on a pure cgroup v2 host, unless privileged
        hc["CgroupnsMode"] = "private" if cgroups.unified() else "host"
    if hc.get("OomKillDisable") is None:
        hc["OomKillDisable"] = False
    if not hc.get("Privileged"):  # an empty list (systempaths=unconfined) stays empty
        if hc.get("MaskedPaths") is None:
            hc["MaskedPaths"] = spec.default_masked_paths()
        if hc.get("ReadonlyPaths") is None:
            hc["ReadonlyPaths"] = list(spec.READONLY_PATHS)


class ContainerCreator:
    def __init__(self, deps: ContainerDeps) -> None:
        self.deps = deps

    def _host_config(self, hc: dict[str, Any], api_version: tuple[int, ...]) -> list[str]:
        """Check and complete the HostConfig; returns dockerd's warnings."""
        d = self.deps
        warnings = validate.host_config(hc)
        ipc.check_mode(hc.get("IpcMode") or "")
        _daemon_defaults(hc, api_version)
        if not (hc.get("LogConfig") or {}).get("Type"):
            hc["LogConfig"] = {"Type": d.cfg.log_driver,
                               "Config": dict(d.cfg.log_opts, **((hc.get("LogConfig") or {})
                                                                 .get("Config") or {}))}
        d.log_drivers.of(hc["LogConfig"])  # an unknown driver or option is refused now
        hc["Runtime"] = d.runtimes.get(hc.get("Runtime")).name
        d.networks.validate_mode(hc["NetworkMode"])
        check_bindings(hc)
        host_network = d.networks.uses_host_namespace(hc["NetworkMode"])
        if host_network and hc.get("PortBindings"):
            warnings.append("Published ports are discarded when using host network mode")
        rules.check_userns(hc, d.idmap.remapped, host_network)
        spec.capabilities(hc)  # unknown capabilities are refused now, not at start
        if hc.get("Sysctls"):
            spec.validate_sysctls(hc["Sysctls"], hc)
        return warnings

    async def create(self, body: dict[str, Any], name: str | None,
                     api_version: tuple[int, ...] = MAX_API,
                     platform: str | None = None) -> tuple[str, list[str]]:
        """POST /containers/create: (ID, warnings); platform, when given, is the
        one the image must be for."""
        d = self.deps
        if not any(k in body for k in CONFIG_KEYS):
            raise InvalidParameter("config cannot be empty in order to create a container")
        config = {k: v for k, v in body.items() if k in CONFIG_KEYS}
        for key in ("Cmd", "Entrypoint", "Env"):  # Go decodes a null string as ""
            if isinstance(config.get(key), list):
                config[key] = ["" if v is None else v for v in config[key]]
        validate.working_dir(config)
        if config.get("StopSignal"):
            rules.parse_signal(config["StopSignal"])  # dockerd's "Invalid signal: X" now
        validate.env(config)
        validate.healthcheck(config)
        hc = dict(body.get("HostConfig") or {})
        image_ref = config.get("Image") or ""
        wanted = parse_platform(platform) if platform else None
        image = d.images.get(image_ref)
        if wanted is not None and not platform_matches(wanted, image_platform(image.config)):
            raise NotFound(f"image with reference {image_ref} was found but does not match the "
                           f"specified platform: wanted {format_platform(*wanted)}, actual: "
                           f"{format_platform(*image_platform(image.config))}")
        warnings = self._host_config(hc, api_version)
        mount_list = mounts_mod.from_host_config(hc)
        mounts_mod.settle_propagation(mount_list, d.cfg.data_root)
        for path in config.get("Volumes") or {}:
            mounts_mod.check_volume(path)
        merge_image_config(config, image.container_config)
        mount_list = self._volumes_from(hc, mount_list) + self._anonymous(config, mount_list)
        links = self._links(hc)
        entrypoint = list(config.get("Entrypoint") or [])
        cmd = list(config.get("Cmd") or [])
        if not entrypoint and not cmd:
            raise InvalidParameter("no command specified")
        path, args = (entrypoint[0], entrypoint[1:] + cmd) if entrypoint else (cmd[0], cmd[1:])
        networking = body.get("NetworkingConfig") or {}
        if not isinstance(networking, dict):
            raise InvalidParameter("invalid NetworkingConfig")
        endpoints = dict(networking.get("EndpointsConfig") or {})
        warning = _migrate_mac_address(config, hc["NetworkMode"], endpoints, api_version)
        if warning:
            warnings.append(warning)
        networks = d.networks.initial_settings(hc["NetworkMode"], endpoints)
        cid = secrets.token_hex(32)
        name = names_mod.validate(name) if name else names_mod.generate(d.repo.names)
        d.repo.reserve_name(name, cid)  # before the first await: one winner per name
        top = image.top_layer
        if d.networks.uses_host_namespace(hc["NetworkMode"]):
            config.setdefault("Hostname", os.uname().nodename)
        if not config.get("Hostname"):
            config["Hostname"] = cid[:12]
        config["Image"] = image_ref
        made_filesystem = False
        try:
            await self._make_volumes(mount_list, hc.get("VolumeDriver") or "")
            await asyncio.to_thread(create_filesystem, d.layers, d.paths, cid, top, d.idmap)
            made_filesystem = True
            crashpoint("container-create:filesystem-made")
            doc = self._document(cid, name, path, args, image.id, hc, config, networks)
            ctr = Container(cid, name, doc, Internal(
                rw_layer=cid, top_layer=top, runtime=hc["Runtime"], mounts=mount_list,
                links={posixpath.normpath(f"/{name}/{alias}"): child for alias, child in links}))
            await d.repo.save(ctr)
        except BaseException:
            d.repo.release_name(name, cid)
            for m in mount_list:  # the anonymous volumes made for it go with it
                if m.type == "volume" and m.anonymous:
                    await d.volumes.remove(m.name, force=True)
            # the image's layers are released only if they were acquired
            await asyncio.to_thread(remove_filesystem, d.layers, d.paths, cid,
                                    top if made_filesystem else None, not made_filesystem)
            raise
        d.repo.add(ctr)
        d.events.publish("container", "create", cid, ctr.event_attrs())
        return cid, warnings

    def _links(self, hc: dict[str, Any]) -> list[tuple[str, str]]:
        """dockerd's registerLinks at create, for the default bridge (a user-defined
        network has no link index): (alias, child ID) per link. A link to no
        container is an invalid parameter (whether it runs is the start's question)."""
        if user_defined(hc.get("NetworkMode") or "default"):
            return []
        out = []
        for link in hc.get("Links") or []:
            name, alias = parse_link(str(link))
            try:
                child = self.deps.repo.get(name)
                while (child.host_config.get("NetworkMode") or "").startswith("container:"):
                    child = self.deps.repo.get(child.host_config["NetworkMode"].split(":", 1)[1])
            except NotFound as exc:
                raise InvalidParameter(f"could not get container for {name}: "
                                       f"{exc.message}") from None
            if child.host_config.get("NetworkMode") == "host":
                raise InvalidParameter("conflicting options: host type networking can't be used "
                                       "with links. This would result in undefined behavior")
            out.append((alias, child.id))
        return out

    def _anonymous(self, config: dict[str, Any],
                   mount_list: list[MountPoint]) -> list[MountPoint]:
        """The config's (and image's) VOLUME paths that no mount covers: an
        anonymous volume each."""
        covered = {m.destination for m in mount_list}
        extra = []
        for path in config.get("Volumes") or {}:
            clean = mounts_mod.check_volume(path)
            if clean not in covered:
                extra.append(mounts_mod.volume("", clean, "", True, False))
                covered.add(clean)
        return extra

    def _volumes_from(self, hc: dict[str, Any],
                      mount_list: list[MountPoint]) -> list[MountPoint]:
        """--volumes-from CTR[:ro|rw]: the other container's volumes and binds at
        the same paths (a mount of this container's own wins)."""
        out = list(mount_list)
        covered = {m.destination for m in out}
        for item in hc.get("VolumesFrom") or []:
            name, _, mode = str(item).partition(":")
            if mode not in ("", "ro", "rw"):
                raise InvalidParameter(f"invalid mode for volumes-from: {mode}")
            try:
                other = self.deps.repo.get(name)
            except NotFound as exc:  # dockerd: an invalid parameter, not a missing object
                raise InvalidParameter(exc.message) from None
            for m in other.internal.mounts:
                if m.type == "tmpfs" or m.destination in covered:
                    continue
                out.append(dataclasses.replace(m, rw=m.rw if not mode else mode == "rw",
                                               nocopy=True))
                covered.add(m.destination)
        return out

    async def _make_volumes(self, mount_list: list[MountPoint], default_driver: str) -> None:
        """Create the named volumes that do not exist yet and the anonymous ones."""
        volumes = self.deps.volumes
        for m in mount_list:
            if m.type != "volume":
                continue
            doc = await volumes.create(m.name or None, m.driver or default_driver,
                                       m.driver_opts or None, m.labels or None)
            m.anonymous = not m.name
            m.name, m.source, m.driver = doc["Name"], doc["Mountpoint"], doc["Driver"]
            m.driver_opts, m.labels = {}, {}  # the volume has them now

    def _document(self, cid: str, name: str, path: str, args: list[str], image_id: str,
                  hc: dict[str, Any], config: dict[str, Any],
                  networks: dict[str, Any]) -> dict[str, Any]:
        """The container in Docker's shape: what inspect returns."""
        cdir = self.deps.paths.dir(cid)
        settings = network_settings_shape()
        settings["Networks"] = networks
        return {
            "Id": cid, "Created": now_rfc3339(), "Path": path, "Args": args,
            "State": new_state(), "Image": image_id,
            "ResolvConfPath": os.path.join(cdir, "resolv.conf"),
            "HostnamePath": os.path.join(cdir, "hostname"),
            "HostsPath": os.path.join(cdir, "hosts"),
            "LogPath": os.path.join(cdir, f"{cid}-json.log"),
            "Name": "/" + name, "RestartCount": 0, "Driver": self.deps.layers.driver_name,
            "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
            "ExecIDs": None, "HostConfig": hc, "Config": config,
            "NetworkSettings": settings,
        }
