"""Sessions ended before their cookie expired. The session lives in a signed cookie (Starlette's
`SessionMiddleware`), so signing out clears the browser's copy only; a copy taken earlier (a
stolen cookie) would still be accepted. Each sign-in gets its own id; sign-out records the id
here until the session could no longer be used anyway (its absolute lifetime), and requests
carrying an ended id are signed out."""

from __future__ import annotations

__all__ = ["EndedSessions"]


class EndedSessions:
    """Ids of signed-out sessions, each kept until `until` (a console clock time).

    Held in this process: with several processes behind one address, a copied cookie stays
    usable on the others until its idle timeout or absolute lifetime ends it (docs/operations)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def end(self, session_id: str, until: float, now: float) -> None:
        self._until = {k: t for k, t in self._until.items() if t > now}
        self._until[session_id] = until

    def ended(self, session_id: str, now: float) -> bool:
        until = self._until.get(session_id)
        return until is not None and until > now
