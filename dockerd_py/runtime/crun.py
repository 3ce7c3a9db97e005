"""crun: refuses some cgroup layouts (1.8: hybrid v1+v2) only when it runs a
container, so the probe runs a throwaway one to know at daemon start."""
from __future__ import annotations

import json
import os
import tempfile

from .oci import OCIRuntime, run_command, runtime_error_text


class Crun(OCIRuntime):
    async def probe_host(self) -> None:
        probe_id = f"dpy-probe-{os.getpid()}"
        with tempfile.TemporaryDirectory(prefix="dpy-probe-", dir=self.root) as bundle:
            os.mkdir(os.path.join(bundle, "rootfs"))
            spec = {"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "mounts": [],
                    "process": {"terminal": False, "args": ["/nonexistent"], "cwd": "/",
                                "user": {"uid": 0, "gid": 0}},
                    "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}],
                              "cgroupsPath": f"/{probe_id}"}}
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(spec, f)
            code, out, err = await run_command(*self._argv("run", "--bundle", bundle, probe_id),
                                               timeout=20)
            await run_command(*self._argv("delete", "--force", probe_id))
        text = runtime_error_text(err or out)
        if "nonexistent" not in text and "No such file" not in text:
            self.available, self.reason = False, f"crun {self.version} cannot run here: {text}"
