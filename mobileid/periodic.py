"""Housekeeping in a running service: one blocking pass (a purge) every so often, in a worker
thread so the event loop keeps serving, logged when it did something and never fatal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["every"]

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], object], *, what: str) -> None:
    """Run `work` every `seconds` until cancelled; a failing pass is logged and tried again at the
    next interval. A truthy result that is not all zeros is logged as what the pass did."""
    while True:
        await asyncio.sleep(seconds)
        try:
            done = await asyncio.to_thread(work)
        except Exception:  # keep trying later; housekeeping never takes the service down
            log.exception("%s failed", what)
            continue
        if isinstance(done, dict) and not any(done.values()):
            continue
        if done:
            log.info("%s: %s", what, done)
