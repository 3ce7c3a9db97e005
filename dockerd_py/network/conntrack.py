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
    from pyroute2.netlink.exceptions import NetlinkError
    removed = 0
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with Conntrack(nfgen_family=family) as ct:
            flows = list(ct.dump_entries(tuple_reply=NFCTAttrTuple(saddr=address,
                                                                   family=family)))
            for flow in flows:
                try:
                    ct.delete(flow)
                    removed += 1
                except (OSError, NetlinkError):
                    pass  # gone meanwhile
    except OSError as exc:  # no conntrack in this kernel: nothing to forget
        log.debug("conntrack: %s", exc)
    except NetlinkError as exc:  # a kernel that cannot filter so: the flows time out
        log.warning("conntrack: cannot forget the flows of %s: %s", address, exc)
    return removed
