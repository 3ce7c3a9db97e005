"""Named points between the steps of an operation where a test may kill the
daemon (DPY_CRASH_AT=name[,name...], read at start): the crash tests stop it
exactly there, then check that a restart repairs. DPY_STOP_AT freezes it there
instead (SIGSTOP, as a wedged daemon would hang), until the test sends SIGCONT.
Without the variables, a call is one set lookup."""
from __future__ import annotations

import os
import signal

_ARMED = frozenset(p for p in os.environ.get("DPY_CRASH_AT", "").split(",") if p)
_FROZEN = frozenset(p for p in os.environ.get("DPY_STOP_AT", "").split(",") if p)


def crashpoint(name: str) -> None:
    if name in _ARMED:
        os._exit(137)  # as kill -9 would leave it: nothing flushed, nothing cleaned
    if name in _FROZEN:
        os.kill(os.getpid(), signal.SIGSTOP)
