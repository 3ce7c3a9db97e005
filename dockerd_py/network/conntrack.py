"""Connection tracking entries of a container that goes: the flows NATed to its
address would otherwise outlive it by minutes (and steer a new container that
gets the address and the port into old state). Blocking: run off the loop."""
from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)


def forget(address: str) -> int:
    """Delete every tracked flow whose reply comes from address; how many."""
    from pyroute2 import Conntrack
    from pyroute2.conntrack import NFCTAttrTuple
    removed = 0
    try:
        with Conntrack() as ct:
            flows = list(ct.dump_entries(tuple_reply=NFCTAttrTuple(saddr=address,
                                                                   family=socket.AF_INET)))
            for flow in flows:
                try:
                    ct.delete(flow)
                    removed += 1
                except OSError:
                    pass  # gone meanwhile
    except OSError as exc:  # no conntrack in this kernel: nothing to forget
        log.debug("conntrack: %s", exc)
    return removed
