"""`freeze_startup_heap`: what is alive when a server starts leaves the
collector's sight; what requests allocate afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from flowpilot.runtime.heap import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.self_ref = self  # a cycle: only the collector frees it


def test_startup_objects_are_frozen_and_later_garbage_is_collected() -> None:
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        later = Node()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
