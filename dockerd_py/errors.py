"""The one error tree. The server maps each class to a status code in one place
(`server/middlewares.py`); messages are Docker's own texts, which clients match on."""
from __future__ import annotations


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
