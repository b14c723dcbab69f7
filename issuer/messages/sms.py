"""SMS senders for the outbox: an HTTP gateway (production) and a development stand-in.

`SmsGatewaySender` posts each message as JSON `{"to", "text", "id"}` with a bearer token to the
operator's SMS gateway and keeps nothing: no file, no log line with the text. A timeout, a
transport error or a non-2xx answer raises `DeliveryError`, and the outbox retries with back-off;
`id` (the outbox row) lets the gateway drop a message it accepted already, since delivery is at
least once.

`DevSmsSender` sends nothing. It shows each SMS to the developer on the console under a
"개발용 / development only — not sent" banner and appends it, as a JSON line, to a 0600 file in
the data directory (`dev-sms.log`), where the quick start and the tests read links and codes.
The assembly uses it only with MOBILEID_ENV=dev and no gateway configured.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from issuer.errors import DeliveryError
from issuer.messages.outbox import OutgoingMessage
from vc.private_files import ensure_private_file

__all__ = ["DEV_ONLY_BANNER", "DevSmsSender", "SmsGatewaySender"]

DEV_ONLY_BANNER = "개발용 / development only — not sent"


class SmsGatewaySender:
    """Delivers through an HTTP SMS gateway; remembers nothing of what it sent."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self._timeout = httpx.Timeout(timeout_s)
        self._transport = transport

    def send(self, message: OutgoingMessage) -> None:
        payload = {"to": message.recipient, "text": message.body, "id": message.id}
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            # A client per message: a few SMS an approval, and nothing lingers between them.
            with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                response = client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable ({type(exc).__name__})") from None
        if not response.is_success:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")


class DevSmsSender:
    """Development only: shows each SMS instead of sending it (console, `dev-sms.log`)."""

    def __init__(self, path: Path | None, console: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.console = console
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> None:
        if self.path is not None:
            line = json.dumps(
                {
                    "id": message.id,
                    "channel": message.channel,
                    "to": message.recipient,
                    "kind": message.kind,
                    "body": message.body,
                    "note": DEV_ONLY_BANNER,
                },
                ensure_ascii=False,
            )
            with self._lock:
                ensure_private_file(self.path)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
        if self.console is not None:
            self.console(f"[{DEV_ONLY_BANNER}] SMS → {message.recipient}: {message.body}")
