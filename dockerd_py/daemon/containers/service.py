"""The container services wired together from one ContainerDeps."""
from __future__ import annotations

from ..health import HealthMonitor
from .archive import ContainerFiles
from .attach import Attacher
from .create import ContainerCreator
from .deps import ContainerDeps
from .lifecycle import Lifecycle
from .listing import ContainerViews
from .logs import ContainerLogs
from .restore import ContainerRestore
from .stats import ContainerStats
from .updates import ContainerUpdates


class Containers:
    def __init__(self, deps: ContainerDeps, health: HealthMonitor) -> None:
        self.repo = deps.repo
        self.creator = ContainerCreator(deps)
        self.logs = ContainerLogs(deps.log_drivers, deps.paths)
        self.attacher = Attacher(deps.paths)
        self.lifecycle = Lifecycle(deps, self.logs, health, self.attacher)
        self.views = ContainerViews(deps.repo, deps.layers, deps.images)
        self.files = ContainerFiles(deps)
        self.stats = ContainerStats(deps.cfg)
        self.updates = ContainerUpdates(deps)
        self.restore = ContainerRestore(deps, self.lifecycle, self.logs, health)



