"""A container's networking, split by concern as the containers and the images are:

- `networks`: the network documents and their rules (create, remove, prune,
  lookup, address pools); the network drivers do the host work;
- `endpoints`: containers on networks, from start to stop: `prepare` (addresses
  and the SandboxPlan), `attach` (plug the interfaces in, publish the ports, start
  the container's DNS server), `detach` (unplug), `release` (give the addresses
  back); connect and disconnect; legacy links;
- `ports`: published ports (host ports, NAT rules, the userland proxy);
- `names`: the names the embedded DNS answers;
- `sandbox`: the plain-data plan a start's worker thread reads.
"""
