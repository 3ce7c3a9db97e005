"""Containers as several small services, each with one reason to change:

- `repository`: the index by ID and name, and the container SQL;
- `create`: `docker create`; `bundle` writes the OCI bundle at start;
- `lifecycle`: start/stop/kill/restart/pause/remove and the restart policy,
  with `monitor` (exits, waits) and `rules` (the pure rules);
- `listing`: ps, inspect, counts; `archive`: diff, export, cp, commit;
- `logs`: log drivers and rotation; `attach`: stdio; `stats`: top and stats;
- `updates`: rename and update; `restore`: daemon start and stop.

`service.Containers` builds them from one `ContainerDeps` and hands each router only
the services it talks to.
"""
