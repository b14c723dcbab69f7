"""The security headers of console pages (CSP without inline script or style, no framing, no
caching, no sniffing) and the middleware that puts them on a console's paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["SecurityHeaders", "content_security_policy", "security_headers"]


def content_security_policy(form_action: Iterable[str] = ()) -> str:
    """Only our own script, style and connections; forms may also go to `form_action` origins
    (the sign-in form redirects to the login service, which CSP's form-action covers)."""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "form-action": " ".join(["'self'", *form_action]),
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(form_action: Iterable[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(form_action),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


class SecurityHeaders:
    """ASGI middleware: the headers on every response to a path `is_page` accepts (set only
    where the response did not choose its own)."""

    def __init__(
        self, app: Any, headers: Mapping[str, str], is_page: Callable[[str], bool]
    ) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.is_page = is_page

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.is_page(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
