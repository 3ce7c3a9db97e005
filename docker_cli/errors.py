"""Errors and exit codes, as the Docker CLI reports them."""
from __future__ import annotations

import json
import sys

# docker run's codes: 125 the daemon or the flags, 126 cannot invoke, 127 not found.
EXIT_DAEMON = 125
EXIT_CANNOT_INVOKE = 126
EXIT_NOT_FOUND = 127


class CLIError(Exception):
    """An error printed on one line with an exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConnectionFailed(CLIError):
    pass


class FlagError(CLIError):
    """A flag's value refused as the Docker CLI's flag parser refuses it: printed
    as is (no program prefix), exit 125."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 125)


class APIError(CLIError):
    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(f"Error response from daemon: {message}")
        self.http_status = http_status
        self.daemon_message = message

    @classmethod
    def from_response(cls, status: int, body: bytes) -> APIError:
        try:
            message = json.loads(body).get("message") or body.decode(errors="replace")
        except (ValueError, AttributeError):
            message = body.decode(errors="replace").strip() or f"HTTP {status}"
        return cls(status, message)


def run_exit_status(message: str) -> int:
    """The docker CLI's reading of a failed start: 127, 126 or 125."""
    low = message.lower()
    if any(s in low for s in ("executable file not found", "no such file or directory",
                              "system cannot find the file specified")):
        return EXIT_NOT_FOUND
    if "permission denied" in low or "is a directory" in low:
        return EXIT_CANNOT_INVOKE
    return EXIT_DAEMON


def fail(message: str, status: int = 1) -> None:
    print(message, file=sys.stderr)
    sys.exit(status)
