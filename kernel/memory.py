"""What a service process builds at start-up, kept out of the cycle collector's way.

A full collection walks every object the process holds: after start-up that is the imported
modules, the schemas, the compiled routes and statements, about 100,000 objects that live as long
as the process. Under load a full collection then stopped a service for 60-250 ms (reporting:
110-190 ms, its freshness tail), and every request in flight waited. Frozen, they are no longer
walked. A frozen cycle that becomes garbage later is never freed, hence the switch
(GC_FREEZE_AT_START in config.yml; off in the test suite, whose one process starts and drops
hundreds of containers).
"""
from __future__ import annotations

import gc

from nameko.extensions import SharedExtension


class StartupFrozen(SharedExtension):
    """Once the service's extensions are set up: collect what start-up left over, freeze the rest."""

    def start(self):
        if self.container.config.get("GC_FREEZE_AT_START", True):
            gc.collect()
            gc.freeze()
