"""A container's networking, split by concern as the containers and the images are:

- `networks`: the network documents and their rules (create, remove, prune,
  lookup, address pools); the network drivers do the host work;
- `endpoints`: containers on networks: `Endpoints.sandbox(ctr)` is a container's
  Sandbox from a start to the stop after it, `prepare` (addresses and the
  SandboxPlan), `plug` (the interfaces in, the ports published, the container's
  DNS server up), `unplug`, `release` (the addresses back); connect and
  disconnect while it runs; legacy links;
- `ports`: published ports (host ports, NAT rules, the userland proxy);
- `names`: the names the embedded DNS answers;
- `sandbox`: the plain-data plan a start's worker thread reads.
"""
