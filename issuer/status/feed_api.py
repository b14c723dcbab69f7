"""HTTP route of the status-list change feed: `GET /status-lists/events` (Server-Sent Events).

Public, like the lists themselves: an event names a list and its new token only, and a
subscriber trusts nothing but the signed token it then fetches. `Last-Event-ID` resumes after a
feed position; anything but digits is 400 `invalid_last_event_id`. Include this router before
the status lists' own (`/status-lists/{list_id}` would otherwise take `events` for an id).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from issuer.status.feed import StatusFeed, parse_last_event_id
from schemas.hr_api import ErrorBody
from vc.status_feed import STATUS_FEED_MEDIA_TYPE

__all__ = ["status_feed_router"]

status_feed_router = APIRouter(tags=["Token Status List"])


@status_feed_router.get(
    "/status-lists/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {STATUS_FEED_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: `status_list` per publication, `resync`",
        },
        400: {"model": ErrorBody},
    },
)
def status_list_events(
    request: Request,
    last_event_id: Annotated[str | None, Header()] = None,  # any length: our 400, not a 422
) -> StreamingResponse:
    """Every status-list publication from now on (or after `Last-Event-ID`)."""
    position = parse_last_event_id(last_event_id)
    feed: StatusFeed = request.app.state.status_feed
    return StreamingResponse(
        feed.stream(position),
        media_type=STATUS_FEED_MEDIA_TYPE,
        headers={
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "Access-Control-Allow-Origin": "*",
        },
    )
