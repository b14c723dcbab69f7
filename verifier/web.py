"""What the verifier's routers take from the web edge the assembly builds (`mobileid.edge`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi.responses import Response

__all__ = ["Respond"]


class Respond(Protocol):
    """Shapes a JSON answer no cache keeps: the assembly hands in `mobileid.edge.json_response`,
    the one helper of every service, since the verifier does not import the assembly."""

    def __call__(
        self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response: ...
