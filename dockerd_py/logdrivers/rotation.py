"""json-file's max-size and max-file, done by the daemon.

conmon (2.1.6) can only start a fresh log file when the current one reaches
--log-size-max, dropping the old one. So the daemon keeps a second name (a hard
link, `<log>.hold`) on the current file: when conmon replaces the file, its
content survives under that name and the daemon shifts it to `<log>.1` (and
`.1` to `.2`, ...), deleting what is beyond max-file. A container that starts
again begins with a fresh file, so conmon's byte count (which restarts with
each conmon, containers/conmon#468) cannot let a file grow past the limit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    max_size: int   # bytes; 0 = unlimited
    max_files: int  # files kept, the current one included
    compress: bool = False  # rotated files gzip-compressed (json-file)


def rotated(log_path: str, index: int) -> str:
    return f"{log_path}.{index}"


def hold_path(log_path: str) -> str:
    return log_path + ".hold"


def files_oldest_first(log_path: str) -> list[str]:
    """The files of a container's log, oldest first (rotated ones, a replaced file
    not yet rotated, the current one)."""
    out = []
    index = 1
    while os.path.exists(rotated(log_path, index)):
        index += 1
    for i in range(index - 1, 0, -1):
        out.append(rotated(log_path, i))
    hold = hold_path(log_path)
    try:
        if os.stat(hold).st_ino != os.stat(log_path).st_ino:
            out.append(hold)
    except OSError:
        pass
    out.append(log_path)
    return out


def _shift(log_path: str, pol: Policy, newest: str) -> None:
    """newest becomes .1, .1 becomes .2, ...; what passes max-file goes."""
    keep = pol.max_files - 1
    if keep <= 0:
        unlink_if_there(newest)
        return
    unlink_if_there(rotated(log_path, keep))
    for i in range(keep - 1, 0, -1):
        if os.path.exists(rotated(log_path, i)):
            os.rename(rotated(log_path, i), rotated(log_path, i + 1))
    os.rename(newest, rotated(log_path, 1))


def unlink_if_there(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def before_start(log_path: str, pol: Policy) -> None:
    """A restarting container starts a fresh file (conmon counts from zero)."""
    if not pol.max_size:
        return
    unlink_if_there(hold_path(log_path))
    try:
        if os.path.getsize(log_path) > 0:
            _shift(log_path, pol, log_path)
    except FileNotFoundError:
        pass


def hold(log_path: str) -> None:
    """Give the current file its second name (conmon created it)."""
    hp = hold_path(log_path)
    unlink_if_there(hp)
    try:
        os.link(log_path, hp)
    except FileNotFoundError:
        pass


def check(log_path: str, pol: Policy) -> bool:
    """Rotate if conmon replaced the file since the last look; True if it did."""
    hp = hold_path(log_path)
    try:
        current = os.stat(log_path).st_ino
    except FileNotFoundError:
        return False
    try:
        held = os.stat(hp).st_ino
    except FileNotFoundError:
        hold(log_path)
        return False
    if held == current:
        return False
    _shift(log_path, pol, hp)
    hold(log_path)
    return True


def remove_all(log_path: str) -> None:
    for path in files_oldest_first(log_path) + [hold_path(log_path)]:
        unlink_if_there(path)
