"""Everything a request handler of the issuer needs, handed over by the assembly."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from issuer.api_tokens import FailureCounter
from issuer.config import IssuerConfig
from issuer.keys.signing import IssuerKeyring
from issuer.keys.store import KeyStore
from issuer.status.publication import StatusListPublisher

__all__ = ["IssuerContext", "issuer_context"]


def _no_wakeup() -> None:
    return None


@dataclass(frozen=True, slots=True)
class IssuerContext:
    """Config, keys, status list publisher, the edge's unit of work (one transaction per
    request), clock, the count of failed tokens, randomness."""

    config: IssuerConfig
    keys: KeyStore
    status: StatusListPublisher
    unit_of_work: Callable[[], AbstractContextManager[Session]]
    clock: Callable[[], datetime]
    throttle: FailureCounter
    wake_outbox: Callable[[], None] = _no_wakeup
    rng: Callable[[int], bytes] = field(default=secrets.token_bytes)

    @property
    def keyring(self) -> IssuerKeyring:
        """The signing keys as of now (a rotation by another process is followed within about a
        second, `issuer.keys.store`)."""
        return self.keys.current()


def issuer_context(request: Request) -> IssuerContext:
    """FastAPI dependency: the context the assembly stored on `app.state.issuer`."""
    ctx: IssuerContext = request.app.state.issuer
    return ctx
