"""The container types of the Engine API (moby v25.0, api/types/container and
mount), in Go's field order. A `default` is the value the daemon fills in for a
container whose request left the field unset (daemon_unix.go's
adaptContainerSettings and the create path); without one a missing field is Go's
zero value."""
from __future__ import annotations

from .model import ANY, BOOL, INT, STRING, Field, Map, Slice, Struct
from .network import ENDPOINT_SETTINGS

STRINGS = Slice(STRING)
STRING_MAP = Map(STRING)

HEALTH_CONFIG = Struct("HealthConfig", [
    Field("Test", STRINGS, omitempty=True),
    Field("Interval", INT, omitempty=True),
    Field("Timeout", INT, omitempty=True),
    Field("StartPeriod", INT, omitempty=True),
    Field("StartInterval", INT, omitempty=True),
    Field("Retries", INT, omitempty=True),
])

CONFIG = Struct("Config", [
    Field("Hostname", STRING),
    Field("Domainname", STRING),
    Field("User", STRING),
    Field("AttachStdin", BOOL),
    Field("AttachStdout", BOOL),
    Field("AttachStderr", BOOL),
    Field("ExposedPorts", Map(ANY), omitempty=True),
    Field("Tty", BOOL),
    Field("OpenStdin", BOOL),
    Field("StdinOnce", BOOL),
    Field("Env", STRINGS),
    Field("Cmd", STRINGS),
    Field("Healthcheck", HEALTH_CONFIG, omitempty=True, pointer=True),
    Field("ArgsEscaped", BOOL, omitempty=True),
    Field("Image", STRING),
    Field("Volumes", Map(ANY)),
    Field("WorkingDir", STRING),
    Field("Entrypoint", STRINGS),
    Field("NetworkDisabled", BOOL, omitempty=True),
    Field("MacAddress", STRING, omitempty=True),
    Field("OnBuild", STRINGS),
    Field("Labels", STRING_MAP),
    Field("StopSignal", STRING, omitempty=True),
    Field("StopTimeout", INT, omitempty=True, pointer=True),
    Field("Shell", STRINGS, omitempty=True),
])

WEIGHT_DEVICE = Struct("WeightDevice", [Field("Path", STRING), Field("Weight", INT)])
THROTTLE_DEVICE = Struct("ThrottleDevice", [Field("Path", STRING), Field("Rate", INT)])
DEVICE_MAPPING = Struct("DeviceMapping", [
    Field("PathOnHost", STRING), Field("PathInContainer", STRING),
    Field("CgroupPermissions", STRING)])
DEVICE_REQUEST = Struct("DeviceRequest", [
    Field("Driver", STRING), Field("Count", INT), Field("DeviceIDs", STRINGS),
    Field("Capabilities", Slice(STRINGS)), Field("Options", STRING_MAP)])
ULIMIT = Struct("Ulimit", [Field("Name", STRING), Field("Hard", INT), Field("Soft", INT)])

RESOURCES = Struct("Resources", [
    Field("CpuShares", INT),
    Field("Memory", INT),
    Field("NanoCpus", INT),
    Field("CgroupParent", STRING),
    Field("BlkioWeight", INT),
    Field("BlkioWeightDevice", Slice(WEIGHT_DEVICE)),
    Field("BlkioDeviceReadBps", Slice(THROTTLE_DEVICE)),
    Field("BlkioDeviceWriteBps", Slice(THROTTLE_DEVICE)),
    Field("BlkioDeviceReadIOps", Slice(THROTTLE_DEVICE)),
    Field("BlkioDeviceWriteIOps", Slice(THROTTLE_DEVICE)),
    Field("CpuPeriod", INT),
    Field("CpuQuota", INT),
    Field("CpuRealtimePeriod", INT),
    Field("CpuRealtimeRuntime", INT),
    Field("CpusetCpus", STRING),
    Field("CpusetMems", STRING),
    Field("Devices", Slice(DEVICE_MAPPING)),
    Field("DeviceCgroupRules", STRINGS),
    Field("DeviceRequests", Slice(DEVICE_REQUEST)),
    Field("KernelMemory", INT, omitempty=True),
    Field("KernelMemoryTCP", INT, omitempty=True),
    Field("MemoryReservation", INT),
    Field("MemorySwap", INT),
    Field("MemorySwappiness", INT, pointer=True),
    Field("OomKillDisable", BOOL, pointer=True, default=False),
    Field("PidsLimit", INT, pointer=True),
    Field("Ulimits", Slice(ULIMIT)),
    Field("CpuCount", INT),
    Field("CpuPercent", INT),
    Field("IOMaximumIOps", INT),
    Field("IOMaximumBandwidth", INT),
])

RESTART_POLICY = Struct("RestartPolicy", [
    Field("Name", STRING, default="no"), Field("MaximumRetryCount", INT)])
LOG_CONFIG = Struct("LogConfig", [
    Field("Type", STRING, default="json-file"), Field("Config", STRING_MAP, default={})])
PORT_BINDING = Struct("PortBinding", [Field("HostIp", STRING), Field("HostPort", STRING)])

BIND_OPTIONS = Struct("BindOptions", [
    Field("Propagation", STRING, omitempty=True),
    Field("NonRecursive", BOOL, omitempty=True),
    Field("CreateMountpoint", BOOL, omitempty=True),
    Field("ReadOnlyNonRecursive", BOOL, omitempty=True),
    Field("ReadOnlyForceRecursive", BOOL, omitempty=True),
])
DRIVER = Struct("Driver", [Field("Name", STRING, omitempty=True),
                           Field("Options", STRING_MAP, omitempty=True)])
VOLUME_OPTIONS = Struct("VolumeOptions", [
    Field("NoCopy", BOOL, omitempty=True),
    Field("Labels", STRING_MAP, omitempty=True),
    Field("DriverConfig", DRIVER, omitempty=True, pointer=True),
])
TMPFS_OPTIONS = Struct("TmpfsOptions", [Field("SizeBytes", INT, omitempty=True),
                                        Field("Mode", INT, omitempty=True)])
MOUNT = Struct("Mount", [
    Field("Type", STRING, omitempty=True),
    Field("Source", STRING, omitempty=True),
    Field("Target", STRING, omitempty=True),
    Field("ReadOnly", BOOL, omitempty=True),
    Field("Consistency", STRING, omitempty=True),
    Field("BindOptions", BIND_OPTIONS, omitempty=True, pointer=True),
    Field("VolumeOptions", VOLUME_OPTIONS, omitempty=True, pointer=True),
    Field("TmpfsOptions", TMPFS_OPTIONS, omitempty=True, pointer=True),
])

HOST_CONFIG = Struct("HostConfig", [
    Field("Binds", STRINGS),
    Field("ContainerIDFile", STRING),
    Field("LogConfig", LOG_CONFIG),
    Field("NetworkMode", STRING, default="bridge"),
    Field("PortBindings", Map(Slice(PORT_BINDING))),
    Field("RestartPolicy", RESTART_POLICY),
    Field("AutoRemove", BOOL),
    Field("VolumeDriver", STRING),
    Field("VolumesFrom", STRINGS),
    Field("ConsoleSize", Slice(INT), default=[0, 0]),  # Go's [2]uint: never null
    Field("Annotations", STRING_MAP, omitempty=True),
    Field("CapAdd", STRINGS),
    Field("CapDrop", STRINGS),
    Field("CgroupnsMode", STRING, default="host"),
    Field("Dns", STRINGS),
    Field("DnsOptions", STRINGS),
    Field("DnsSearch", STRINGS),
    Field("ExtraHosts", STRINGS),
    Field("GroupAdd", STRINGS),
    Field("IpcMode", STRING, default="private"),
    Field("Cgroup", STRING),
    Field("Links", STRINGS),
    Field("OomScoreAdj", INT),
    Field("PidMode", STRING),
    Field("Privileged", BOOL),
    Field("PublishAllPorts", BOOL),
    Field("ReadonlyRootfs", BOOL),
    Field("SecurityOpt", STRINGS),
    Field("StorageOpt", STRING_MAP, omitempty=True),
    Field("Tmpfs", STRING_MAP, omitempty=True),
    Field("UTSMode", STRING),
    Field("UsernsMode", STRING),
    Field("ShmSize", INT, default=64 << 20),
    Field("Sysctls", STRING_MAP, omitempty=True),
    Field("Runtime", STRING, omitempty=True, default="runc"),
    Field("Isolation", STRING),
    RESOURCES,
    Field("Mounts", Slice(MOUNT), omitempty=True),
    Field("MaskedPaths", STRINGS),
    Field("ReadonlyPaths", STRINGS),
    Field("Init", BOOL, omitempty=True, pointer=True),
])

# `docker update`'s body: the resources and the restart policy.
UPDATE_CONFIG = Struct("UpdateConfig", [RESOURCES, Field("RestartPolicy", RESTART_POLICY)])

EXEC_CONFIG = Struct("ExecConfig", [
    Field("User", STRING), Field("Privileged", BOOL), Field("Tty", BOOL),
    Field("ConsoleSize", Slice(INT), pointer=True, omitempty=True),
    Field("AttachStdin", BOOL), Field("AttachStderr", BOOL), Field("AttachStdout", BOOL),
    Field("Detach", BOOL), Field("DetachKeys", STRING), Field("Env", STRINGS),
    Field("WorkingDir", STRING), Field("Cmd", STRINGS),
])
EXEC_START = Struct("ExecStartCheck", [
    Field("Detach", BOOL), Field("Tty", BOOL),
    Field("ConsoleSize", Slice(INT), pointer=True, omitempty=True)])

# A container's mount as inspect shows it (api/types.MountPoint).
MOUNT_POINT = Struct("MountPoint", [
    Field("Type", STRING, omitempty=True),
    Field("Name", STRING, omitempty=True),
    Field("Source", STRING),
    Field("Destination", STRING),
    Field("Driver", STRING, omitempty=True),
    Field("Mode", STRING),
    Field("RW", BOOL),
    Field("Propagation", STRING),
])

GRAPH_DRIVER_DATA = Struct("GraphDriverData", [
    Field("Data", Map(STRING)), Field("Name", STRING)])

HEALTHCHECK_RESULT = Struct("HealthcheckResult", [
    Field("Start", STRING), Field("End", STRING), Field("ExitCode", INT),
    Field("Output", STRING)])
HEALTH = Struct("Health", [
    Field("Status", STRING), Field("FailingStreak", INT),
    Field("Log", Slice(HEALTHCHECK_RESULT))])

CONTAINER_STATE = Struct("ContainerState", [
    Field("Status", STRING),
    Field("Running", BOOL),
    Field("Paused", BOOL),
    Field("Restarting", BOOL),
    Field("OOMKilled", BOOL),
    Field("Dead", BOOL),
    Field("Pid", INT),
    Field("ExitCode", INT),
    Field("Error", STRING),
    Field("StartedAt", STRING),
    Field("FinishedAt", STRING),
    Field("Health", HEALTH, omitempty=True, pointer=True),
])

# NetworkSettings: NetworkSettingsBase and DefaultNetworkSettings embedded, then
# Networks. Ports and Networks are {} for a container that has none.
NETWORK_SETTINGS = Struct("NetworkSettings", [
    Field("Bridge", STRING),
    Field("SandboxID", STRING),
    Field("SandboxKey", STRING),
    Field("Ports", Map(Slice(PORT_BINDING)), default={}),
    Field("HairpinMode", BOOL),
    Field("LinkLocalIPv6Address", STRING),
    Field("LinkLocalIPv6PrefixLen", INT),
    Field("SecondaryIPAddresses", Slice(ANY)),
    Field("SecondaryIPv6Addresses", Slice(ANY)),
    Field("EndpointID", STRING),
    Field("Gateway", STRING),
    Field("GlobalIPv6Address", STRING),
    Field("GlobalIPv6PrefixLen", INT),
    Field("IPAddress", STRING),
    Field("IPPrefixLen", INT),
    Field("IPv6Gateway", STRING),
    Field("MacAddress", STRING),
    Field("Networks", Map(ENDPOINT_SETTINGS), default={}),
])

# `container inspect` (types.ContainerJSON: ContainerJSONBase, then Mounts, Config,
# NetworkSettings).
CONTAINER_JSON = Struct("ContainerJSON", [
    Field("Id", STRING),
    Field("Created", STRING),
    Field("Path", STRING),
    Field("Args", STRINGS),
    Field("State", CONTAINER_STATE, pointer=True),
    Field("Image", STRING),
    Field("ResolvConfPath", STRING),
    Field("HostnamePath", STRING),
    Field("HostsPath", STRING),
    Field("LogPath", STRING),
    Field("Node", Map(ANY), omitempty=True, pointer=True),
    Field("Name", STRING),
    Field("RestartCount", INT),
    Field("Driver", STRING),
    Field("Platform", STRING),
    Field("MountLabel", STRING),
    Field("ProcessLabel", STRING),
    Field("AppArmorProfile", STRING),
    Field("ExecIDs", STRINGS),
    Field("HostConfig", HOST_CONFIG, pointer=True, open=True),
    Field("GraphDriver", GRAPH_DRIVER_DATA),
    Field("SizeRw", INT, omitempty=True, pointer=True),
    Field("SizeRootFs", INT, omitempty=True, pointer=True),
    Field("Mounts", Slice(MOUNT_POINT)),
    Field("Config", CONFIG, pointer=True),
    Field("NetworkSettings", NETWORK_SETTINGS, pointer=True),
])
