"""Images as several small services, split as the containers are:

- `repository`: Image and the images/refs SQL, indexed by ID, reference, parent;
- `catalog`: lookups, references, registering and tagging (what builds,
  distribution and the containers use);
- `views`: inspect, list, history, system df; `archives`: import, save, load;
- `removal`: Docker's ImageDelete and image prune;
- `shapes`: Docker's shapes and names around images.

`Images` wires them from one catalog; the images router gets it whole, every
other service only the catalog (and builds the removal, for the cache prune).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...storage.layers import LayerStore
from ..events import Events
from ..store import Store
from .archives import ImageArchives
from .catalog import ImageCatalog
from .removal import ImageRemoval
from .views import ImageViews


class Images:
    def __init__(self, db: Store, layers: LayerStore, events: Events,
                 containers_using: Callable[[str], list[Any]], spool_root: str) -> None:
        self.catalog = ImageCatalog(db, layers, events, containers_using, spool_root)
        self.views = ImageViews(self.catalog)
        self.archives = ImageArchives(self.catalog)
        self.removal = ImageRemoval(self.catalog)
