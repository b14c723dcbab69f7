"""No offer reference or sign-in link in a log line: `/credential-offer/<reference>` and
`/console/link/<token>` paths are cut.

The reference in a `credential_offer_uri` is what an offer link redeems (with its tx_code), the
token of a console sign-in link signs its holder in (`mobileid admin login-link`), and request
paths reach the logs: uvicorn's access log, our error log. `install_log_redaction` (by
`mobileid serve`, once per process) puts a record factory in front of every logger, so no
logger, present or future, writes one: `.../credential-offer/[redacted]`,
`.../console/link/[redacted]`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

__all__ = ["install_log_redaction", "redact_offer_references"]

# The path as sent, or percent-encoded inside an offer link's `credential_offer_uri=`.
_OFFER_REFERENCE = re.compile(
    r"((?:/|%2F)(?:credential-offer|console(?:/|%2F)link)(?:/|%2F))[^\s\"'?#/&%]+", re.I
)
_MARK = "_mobileid_redacts_offer_references"


def redact_offer_references(text: str) -> str:
    return _OFFER_REFERENCE.sub(r"\1[redacted]", text)


def _redacted(value: Any) -> Any:
    """`value`, or its text redacted when that names an offer reference or a sign-in link (a URL
    object too)."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    cut = redact_offer_references(text)
    return value if cut == text else cut


def install_log_redaction() -> Callable[[], None]:
    """Redact offer references in every log record from now on; returns the undo (for tests).

    The arguments are redacted one by one and keep their shape: uvicorn's access formatter
    unpacks them.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return lambda: None

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.msg = _redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)
    return lambda: logging.setLogRecordFactory(previous)
