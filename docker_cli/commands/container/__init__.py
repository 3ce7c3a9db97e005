"""Container commands, one module each for a few; the `container` group is in
group.py, so that `run` (which parses its own flags) loads without click."""
from __future__ import annotations

# verb -> "module:function" under docker_cli.commands
COMMANDS = {
    "ls": "container.listing:ps", "ps": "container.listing:ps", "list": "container.listing:ps",
    "inspect": "system:container_inspect",
    "run": "container.run:run", "create": "container.run:create",
    "start": "container.lifecycle:start", "stop": "container.lifecycle:stop",
    "restart": "container.lifecycle:restart", "kill": "container.lifecycle:kill",
    "rm": "container.lifecycle:rm", "remove": "container.lifecycle:rm",
    "wait": "container.lifecycle:wait", "pause": "container.lifecycle:pause",
    "unpause": "container.lifecycle:unpause", "rename": "container.lifecycle:rename",
    "update": "container.lifecycle:update", "prune": "container.lifecycle:prune",
    "logs": "container.io:logs", "attach": "container.io:attach", "exec": "container.io:exec_",
    "commit": "container.files:commit", "diff": "container.files:diff",
    "export": "container.files:export", "cp": "container.files:cp",
    "top": "container.stats:top", "stats": "container.stats:stats",
    "port": "container.stats:port",
}

