"""The rules of a container's life that need no host: signal names, the exit
code of a failed start, which states allow what, and the restart policy with
dockerd's backoff. Pure functions, tested without root."""
from __future__ import annotations

import signal as signal_mod

from ...errors import Conflict, DockerError, InvalidParameter, NotModified
from .record import Container

SIGNALS = {name[3:]: int(sig) for name, sig in signal_mod.Signals.__members__.items()
           if name.startswith("SIG") and not name.startswith("SIG_")}
DEFAULT_STOP_TIMEOUT = 10
RESTART_RESET_AFTER = 10   # seconds of running that start the backoff anew
MAX_RESTART_DELAY = 60     # seconds


def parse_signal(value: str | int | None, default: int = signal_mod.SIGKILL) -> int:
    """`KILL`, `SIGKILL` or `9`; dockerd's message for anything else."""
    if value in (None, ""):
        return int(default)
    text = str(value).upper()
    if text.isdigit():
        number = int(text)
        if number == 0 or number > 64:
            raise InvalidParameter(f"Invalid signal: {value}")
        return number
    name = text[3:] if text.startswith("SIG") else text
    if name in SIGNALS:
        return SIGNALS[name]
    if name.startswith("RTMIN") or name.startswith("RTMAX"):
        base = signal_mod.SIGRTMIN if name.startswith("RTMIN") else signal_mod.SIGRTMAX
        rest = name[5:]
        try:
            return int(base) + (int(rest) if rest else 0)
        except ValueError:
            pass
    raise InvalidParameter(f"Invalid signal: {value}")


def stop_timeout(ctr: Container, asked: int | None) -> int:
    if asked is not None:
        return asked
    configured = ctr.config.get("StopTimeout")
    return DEFAULT_STOP_TIMEOUT if configured is None else int(configured)


def require_running(ctr: Container) -> None:
    """dockerd's errors for acting on a container that has no process now."""
    if ctr.restarting:
        raise Conflict(f"Container {ctr.id} is restarting, wait until the container is running")
    if not ctr.running:
        raise Conflict(f"Container {ctr.id} is not running")


def check_startable(ctr: Container) -> None:
    if ctr.paused:
        raise Conflict("cannot start a paused container, try unpause instead")
    if ctr.running or ctr.restarting:
        raise NotModified("container already started")
    if ctr.removing or ctr.state.get("Dead"):
        raise Conflict("container is marked for removal and cannot be started")


def check_removable(ctr: Container, force: bool) -> None:
    if ctr.restarting and not force:
        raise Conflict(f"You cannot remove a restarting container {ctr.id}. Stop the "
                       "container before attempting removal or force remove")
    if ctr.running and not force:
        if ctr.paused:
            raise Conflict(f'cannot remove container "/{ctr.name}": container is paused '
                           "and must be unpaused first")
        raise Conflict(f'cannot remove container "/{ctr.name}": container is running: '
                       "stop the container before removing or force remove")


def check_userns(hc: dict, remapped: bool, host_network: bool) -> None:
    """--userns: `host` or private (the default); a remapped daemon's containers
    cannot be privileged nor share the host's network or PIDs unless `host`."""
    mode = hc.get("UsernsMode") or ""
    if mode not in ("", "host", "private"):
        raise InvalidParameter(f"invalid USER mode: {mode}")
    if not remapped or mode == "host":
        return
    if hc.get("Privileged"):
        raise InvalidParameter("privileged mode is incompatible with user namespaces.  You "
                               "must run the container in the host namespace when running "
                               "privileged mode")
    if host_network:
        raise InvalidParameter("cannot share the host's network namespace when user "
                               "namespaces are enabled")
    if hc.get("PidMode") == "host":
        raise InvalidParameter("cannot share the host PID namespace when user namespaces "
                               "are enabled")


def start_error(message: str) -> tuple[DockerError, int]:
    """setExitCodeFromError: the status and exit code of a failed start."""
    low = message.lower()
    if "permission denied" in low:
        return InvalidParameter(message), 126
    if "is a directory" in low:
        return InvalidParameter(message + ": permission denied"), 126
    if "not a directory" in low:
        return InvalidParameter(message + ": Are you trying to mount a directory onto a file "
                                "(or vice-versa)? Check if the specified host path exists and "
                                "is the expected type"), 127
    if any(s in low for s in ("executable file not found", "no such file or directory",
                              "system cannot find the file specified")):
        return InvalidParameter(message), 127
    return DockerError(message), 128


# -- the restart policy ---------------------------------------------------------
def should_restart(policy: dict, exit_code: int, restart_count: int, stop_requested: bool,
                   removing: bool) -> bool:
    """After an exit the user did not ask for: does the policy start it again?"""
    name = (policy or {}).get("Name") or "no"
    if stop_requested or removing or name == "no":
        return False
    if name == "on-failure":
        if exit_code == 0:
            return False
        limit = policy.get("MaximumRetryCount") or 0
        if limit and restart_count >= limit:
            return False
    return name in ("always", "unless-stopped", "on-failure")


def next_backoff(backoff: int, ran_seconds: float) -> tuple[float, int]:
    """(delay before the restart, the new backoff count): 100 ms doubling up to a
    minute, begun anew after a run of 10 s or more (dockerd's restart manager)."""
    if ran_seconds >= RESTART_RESET_AFTER:
        backoff = 0
    return min(0.1 * 2 ** min(backoff, 10), MAX_RESTART_DELAY), backoff + 1


def restarts_on_boot(policy: dict, exit_code: int, user_stopped: bool) -> bool:
    """dockerd's ShouldRestart with a fresh restart manager (at daemon start)."""
    name = (policy or {}).get("Name") or "no"
    if name == "on-failure":
        return exit_code != 0
    return name == "always" or (name == "unless-stopped" and not user_stopped)
