"""The one error tree. The server maps each class to a status code in one place
(`server/middlewares.py`); messages are Docker's own texts, which clients match on."""
from __future__ import annotations

import errno


class DockerError(Exception):
    """Base: an internal error (500)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DiskFull(DockerError):
    """The disk of the data root is full, so the metadata cannot be written (500)."""


class InvalidParameter(DockerError):
    """The request is malformed or asks for something impossible (400)."""


class Unauthorized(DockerError):
    """Credentials are missing or wrong (401)."""


class Forbidden(DockerError):
    """The request is understood and refused (403)."""


class NotFound(DockerError):
    """The object named does not exist (404)."""


class Conflict(DockerError):
    """The request clashes with the object's state (409)."""


class NotModified(DockerError):
    """Nothing to do: already in the asked state (304)."""


class NotImplementedByEngine(DockerError):
    """A feature this engine does not have (501)."""


class Unavailable(DockerError):
    """A subsystem that is not running here, such as swarm (503)."""


class NoSuchContainer(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such container: {name}")


class NoSuchImage(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such image: {name}")


class NoSuchExec(NotFound):
    def __init__(self, exec_id: str) -> None:
        super().__init__(f"No such exec instance: {exec_id}")


class NameConflict(Conflict):
    def __init__(self, name: str, owner_id: str) -> None:
        super().__init__(
            f'Conflict. The container name "/{name}" is already in use by container '
            f'"{owner_id}". You have to remove (or rename) that container to be able '
            "to reuse that name.")


def system_error(exc: OSError, doing: str) -> DockerError:
    """Turn an OSError from the host into a message that says what failed."""
    return DockerError(f"{doing}: {exc.strerror or exc}")


# What a client's value can make the kernel answer (a path too long, a symlink
# loop, a NUL byte, an argument list too big), in Go's words: a 400, never a 500.
_CLIENT_ERRNOS = {
    errno.ENAMETOOLONG: "file name too long",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENOTDIR: "not a directory",
    errno.EINVAL: "invalid argument",
    errno.E2BIG: "argument list too long",
}


def client_input_error(exc: BaseException) -> InvalidParameter | None:
    """The 400 for an error that only a client's value can cause; None for the
    rest (the daemon's own trouble stays a 500). The one place for it, so that
    no route can forget it."""
    if isinstance(exc, ValueError) and "null byte" in str(exc):
        return InvalidParameter("invalid argument")  # Go's EINVAL for a NUL in a path
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return InvalidParameter("invalid JSON: number out of range")
    if isinstance(exc, RecursionError):
        return InvalidParameter("invalid JSON: exceeded max depth")
    if isinstance(exc, OSError) and exc.errno in _CLIENT_ERRNOS:
        return InvalidParameter(_CLIENT_ERRNOS[exc.errno])  # no host path in the text
    return None
