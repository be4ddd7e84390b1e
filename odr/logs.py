"""What the logs may hold: never a link token.

An e-mail link carries its token in the path (`/password/reset/<token>`); a log line of that
request would let whoever reads the logs use the link. Access-log lines are rewritten with the
token replaced before any handler sees them.
"""

from __future__ import annotations

import logging
import re

LINK_PATHS = (
    "account/verify",
    "account/email/confirm",
    "password/reset",
    "password/welcome",
    "invitations",
)
_LINK_TOKEN = re.compile(r"(/(?:" + "|".join(map(re.escape, LINK_PATHS)) + r")/)[^\s/?#\"']+")
REDACTED = "[link-token]"


def redact_links(text: str) -> str:
    return _LINK_TOKEN.sub(lambda found: found.group(1) + REDACTED, text)


class LinkTokenFilter(logging.Filter):
    """Rewrites a record whose message names a link path, so no handler writes the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_links(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_filters() -> None:
    """On the loggers that write request lines: Werkzeug's server and gunicorn's access log."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, LinkTokenFilter) for f in logger.filters):
            logger.addFilter(LinkTokenFilter())
