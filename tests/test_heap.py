"""`freeze_startup_heap`: what is alive moves to the permanent generation, garbage does not."""

from __future__ import annotations

import gc
import weakref

from mobileid.heap import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


def test_freezes_what_is_alive_and_collects_cycles_first() -> None:
    live = [_Node() for _ in range(10)]
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    try:
        frozen = freeze_startup_heap()
        assert gone() is None  # collected before freezing, not frozen forever
        assert frozen == gc.get_freeze_count() > len(live)
        assert not any(gc.is_tracked(n) and n in gc.get_objects(0) for n in live)
    finally:
        gc.unfreeze()
