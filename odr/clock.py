"""The one source of "now". Tests and replays move time with `travel_to`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today():
    return now().date()


@contextmanager
def travel_to(moment: datetime) -> Iterator[None]:
    global _frozen
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward (only inside `travel_to`)."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock; use travel_to()")
    _frozen += delta
