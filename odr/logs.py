"""What the logs hold and how they are written: one line per record, JSON in production, a
request id on every line of a request, and never a secret.

Every record, from structlog or from `logging.getLogger(__name__)`, goes through one formatter
(structlog's `ProcessorFormatter` on the root logger): `ODR_LOG_FORMAT=json` writes one JSON
object a line (timestamp, level, logger, event, request_id and the context), `plain` a line for
people.

The request id comes from `X-Request-ID` when it is sane (at most 128 of `[A-Za-z0-9._:-]`), else a
new uuid4; it is sent back in the response, bound for the request's log lines, passed to the queue
tasks the request schedules and kept on the outbox rows it writes (a webhook carries it).

Nothing secret reaches a line: the values of keys that name a secret (password, token, secret,
authorization, cookie) are replaced; API tokens (`odr_...`), webhook secrets (`whsec_...`),
`Bearer ...` credentials, passwords in URLs and link tokens (`/password/reset/<token>`) are cut
out of every text, the message and tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from flask import Flask, Response, g, request

LINK_PATHS = (
    "account/verify",
    "account/email/confirm",
    "password/reset",
    "password/welcome",
    "invitations",
)
_LINK_TOKEN = re.compile(r"(/(?:" + "|".join(map(re.escape, LINK_PATHS)) + r")/)[^\s/?#\"']+")
REDACTED = "[link-token]"
HIDDEN = "[redacted]"
LOG_FORMATS = ("json", "plain")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRET_KEY_NAME = re.compile(r"pass(word|wd)?|token|secret|authori[sz]ation|cookie|api_?key", re.I)
_SECRETS_IN_TEXT = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 " + HIDDEN),
    (re.compile(r"\bodr_[A-Za-z0-9_\-]{16,}"), "odr_" + HIDDEN),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]{8,}"), "whsec_" + HIDDEN),
    (re.compile(r"(://[^/\s:@]*:)[^@/\s]+@"), r"\1" + HIDDEN + "@"),  # scheme://user:password@
    (
        re.compile(r"(?i)\b((?:pass(?:word)?|token|secret|api_?key)=)[^&\s\"']+"),
        r"\1" + HIDDEN,
    ),
)
_HANDLER_MARK = "odr_log_handler"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (a test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def redact_links(text: str) -> str:
    return _LINK_TOKEN.sub(lambda found: found.group(1) + REDACTED, text)


_MAY_HOLD_A_SECRET = re.compile(r"(?i)odr_|whsec_|bearer|basic|://|=|/(?:account|password|invit)")


def redact_text(text: str) -> str:
    """The text without link tokens, API tokens, webhook secrets, credentials or URL passwords."""
    if not _MAY_HOLD_A_SECRET.search(text):  # most values: one scan instead of six
        return text
    text = redact_links(text)
    for pattern, replacement in _SECRETS_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


def safe_url(url: str) -> str:
    """A URL to show an operator: its password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:{HIDDEN}@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


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


def _redacted(value: Any, key: str = "") -> Any:
    if isinstance(value, str):
        return HIDDEN if _SECRET_KEY_NAME.search(key) else redact_text(value)
    if isinstance(value, dict):
        return {name: _redacted(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, key) for item in value]
    return value


FIRST_KEYS = ("timestamp", "level", "logger", "event", "request_id")


def redact_secrets(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: no secret in any value, nor in the message; the fixed keys first."""
    ordered = {key: event[key] for key in FIRST_KEYS if key in event}
    ordered.update(event)
    return {
        key: value if key in ("timestamp", "level", "logger") else _redacted(value, key)
        for key, value in ordered.items()
    }


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]


def log_formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every handler: the context added, secrets removed, then rendered."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )


def check_log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"ODR_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return value


def configure_logging(log_format: str) -> None:
    """Route structlog and the standard library through one handler on the root logger (made
    once a process; a second app only changes its format)."""
    check_log_format(log_format)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = _StderrHandler()
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    handler.setFormatter(log_formatter(log_format))
    for name in ("odr", "huey"):
        logging.getLogger(name).setLevel(logging.INFO)
    install_log_filters()


def gunicorn_logconfig(log_format: str) -> dict[str, Any]:
    """A `logconfig_dict` for gunicorn's own loggers (its error log; its access log is not
    needed, the app writes a line a request), in the app's format."""
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": _shared_processors(),
        "processors": log_formatter(check_log_format(log_format)).processors,
    }
    handler = {"class": "logging.StreamHandler", "formatter": "odr", "filters": ["links"]}
    logger = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"links": {"()": LinkTokenFilter}},
        "formatters": {"odr": formatter},
        "handlers": {"console": handler},
        "loggers": {"gunicorn.error": logger, "gunicorn.access": logger},
        # gunicorn's defaults give the root logger a handler of its own: with the app's (made by
        # `configure_logging` when the app loads, after this) every line would be written twice.
        "root": {"level": "WARNING", "handlers": []},
    }


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is sane, else a new one."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id bound for this request or task, if any."""
    return structlog.contextvars.get_contextvars().get("request_id")


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[str]:
    """Within a task: the id of the request that scheduled it (a new one if none), on every line."""
    chosen = request_id_from(request_id)
    with structlog.contextvars.bound_contextvars(request_id=chosen):
        yield chosen


def init_request_logging(app: Flask) -> None:
    """Bind the request id first thing, answer with it, and log one line a request (the route,
    the path without its query and link token, the status and the time taken)."""
    request_log = structlog.get_logger("odr.request")

    @app.before_request
    def bind_request_id() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def answer_with_request_id(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:  # a request refused before any hook ran
            return response
        response.headers[REQUEST_ID_HEADER] = request_id
        request_log.info(
            "request",
            method=request.method,
            route=request.url_rule.rule if request.url_rule else None,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - g.request_started) * 1000, 1),
        )
        return response

    @app.teardown_request
    def unbind_request_id(_error: BaseException | None) -> None:
        structlog.contextvars.clear_contextvars()
