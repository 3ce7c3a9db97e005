"""Field types of request bodies, for dockerd's `invalid JSON: json: cannot
unmarshal ...` answers. Unknown fields are not listed and pass (Go ignores them)."""
from __future__ import annotations

from .http import BOOL, FLOAT, INT, STR

STRS = [STR]
STR_MAP = ("map", STR)
ANY_MAP = ("map", "any")

HEALTHCHECK = {"Test": STRS, "Interval": INT, "Timeout": INT, "Retries": INT,
               "StartPeriod": INT, "StartInterval": INT}

CONTAINER_CONFIG = {
    "Hostname": STR, "Domainname": STR, "User": STR, "AttachStdin": BOOL,
    "AttachStdout": BOOL, "AttachStderr": BOOL, "ExposedPorts": ANY_MAP, "Tty": BOOL,
    "OpenStdin": BOOL, "StdinOnce": BOOL, "Env": STRS, "Cmd": STRS, "Healthcheck": HEALTHCHECK,
    "ArgsEscaped": BOOL, "Image": STR, "Volumes": ANY_MAP, "WorkingDir": STR,
    "Entrypoint": STRS, "NetworkDisabled": BOOL, "MacAddress": STR, "OnBuild": STRS,
    "Labels": STR_MAP, "StopSignal": STR, "StopTimeout": INT, "Shell": STRS,
}

PORT_BINDING = [{"HostIp": STR, "HostPort": STR}]
ULIMIT = {"Name": STR, "Soft": INT, "Hard": INT}
DEVICE = {"PathOnHost": STR, "PathInContainer": STR, "CgroupPermissions": STR}
MOUNT = {"Target": STR, "Source": STR, "Type": STR, "ReadOnly": BOOL, "Consistency": STR,
         "BindOptions": {"Propagation": STR, "NonRecursive": BOOL, "CreateMountpoint": BOOL},
         "VolumeOptions": {"NoCopy": BOOL, "Labels": STR_MAP,
                           "DriverConfig": {"Name": STR, "Options": STR_MAP}, "Subpath": STR},
         "TmpfsOptions": {"SizeBytes": INT, "Mode": INT}}
WEIGHT_DEVICE = [{"Path": STR, "Weight": INT}]
THROTTLE_DEVICE = [{"Path": STR, "Rate": INT}]

RESOURCES = {
    "CpuShares": INT, "Memory": INT, "CgroupParent": STR, "BlkioWeight": INT,
    "BlkioWeightDevice": WEIGHT_DEVICE, "BlkioDeviceReadBps": THROTTLE_DEVICE,
    "BlkioDeviceWriteBps": THROTTLE_DEVICE, "BlkioDeviceReadIOps": THROTTLE_DEVICE,
    "BlkioDeviceWriteIOps": THROTTLE_DEVICE, "CpuPeriod": INT, "CpuQuota": INT,
    "CpuRealtimePeriod": INT, "CpuRealtimeRuntime": INT, "CpusetCpus": STR, "CpusetMems": STR,
    "Devices": [DEVICE], "DeviceCgroupRules": STRS, "KernelMemoryTCP": INT,
    "MemoryReservation": INT, "MemorySwap": INT, "MemorySwappiness": INT, "NanoCpus": INT,
    "OomKillDisable": BOOL, "Init": BOOL, "PidsLimit": INT, "Ulimits": [ULIMIT],
    "CpuCount": INT, "CpuPercent": INT, "IOMaximumIOps": INT, "IOMaximumBandwidth": INT,
}

HOST_CONFIG = dict(RESOURCES, **{
    "Binds": STRS, "ContainerIDFile": STR, "LogConfig": {"Type": STR, "Config": STR_MAP},
    "NetworkMode": STR, "PortBindings": ("map", PORT_BINDING),
    "RestartPolicy": {"Name": STR, "MaximumRetryCount": INT}, "AutoRemove": BOOL,
    "VolumeDriver": STR, "VolumesFrom": STRS, "Mounts": [MOUNT], "ConsoleSize": [INT],
    "Annotations": STR_MAP, "CapAdd": STRS, "CapDrop": STRS, "CgroupnsMode": STR,
    "Dns": STRS, "DnsOptions": STRS, "DnsSearch": STRS, "ExtraHosts": STRS, "GroupAdd": STRS,
    "IpcMode": STR, "Cgroup": STR, "Links": STRS, "OomScoreAdj": INT, "PidMode": STR,
    "Privileged": BOOL, "PublishAllPorts": BOOL, "ReadonlyRootfs": BOOL, "SecurityOpt": STRS,
    "StorageOpt": STR_MAP, "Tmpfs": STR_MAP, "UTSMode": STR, "UsernsMode": STR,
    "ShmSize": INT, "Sysctls": STR_MAP, "Runtime": STR, "Isolation": STR,
    "MaskedPaths": STRS, "ReadonlyPaths": STRS,
})

ENDPOINT = {"IPAMConfig": {"IPv4Address": STR, "IPv6Address": STR, "LinkLocalIPs": STRS},
            "Links": STRS, "Aliases": STRS, "MacAddress": STR, "NetworkID": STR,
            "EndpointID": STR, "Gateway": STR, "IPAddress": STR, "IPPrefixLen": INT,
            "DriverOpts": STR_MAP}

CREATE_REQUEST = dict(CONTAINER_CONFIG, HostConfig=HOST_CONFIG,
                      NetworkingConfig={"EndpointsConfig": ("map", ENDPOINT)})
EXEC_CREATE = {"AttachStdin": BOOL, "AttachStdout": BOOL, "AttachStderr": BOOL,
               "ConsoleSize": [INT], "DetachKeys": STR, "Tty": BOOL, "Env": STRS, "Cmd": STRS,
               "Privileged": BOOL, "User": STR, "WorkingDir": STR}
EXEC_START = {"Detach": BOOL, "Tty": BOOL, "ConsoleSize": [INT]}
UPDATE_REQUEST = dict(RESOURCES, RestartPolicy={"Name": STR, "MaximumRetryCount": INT})

__all__ = ["CREATE_REQUEST", "UPDATE_REQUEST", "CONTAINER_CONFIG", "HOST_CONFIG", "FLOAT"]

NETWORK_CREATE = {"Name": STR, "CheckDuplicate": BOOL, "Driver": STR, "Scope": STR,
                  "Internal": BOOL, "Attachable": BOOL, "Ingress": BOOL, "ConfigOnly": BOOL,
                  "EnableIPv6": BOOL, "Options": STR_MAP, "Labels": STR_MAP,
                  "IPAM": {"Driver": STR, "Options": STR_MAP,
                           "Config": [{"Subnet": STR, "IPRange": STR, "Gateway": STR,
                                       "AuxiliaryAddresses": STR_MAP}]}}
NETWORK_CONNECT = {"Container": STR, "EndpointConfig": ENDPOINT}
NETWORK_DISCONNECT = {"Container": STR, "Force": BOOL}
VOLUME_CREATE = {"Name": STR, "Driver": STR, "DriverOpts": STR_MAP, "Labels": STR_MAP}
AUTH_CONFIG = {"username": STR, "password": STR, "auth": STR, "email": STR,
               "serveraddress": STR, "identitytoken": STR, "registrytoken": STR}
