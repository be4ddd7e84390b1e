"""Money as integer minor units and an ISO 4217 code; the precision comes from Babel."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

from odr.i18n import minor_to_decimal_string

CURRENCIES = frozenset(code for code in list_currencies() if len(code) == 3 and code.isupper())


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in CURRENCIES


def precision(currency: str) -> int:
    return get_currency_precision(currency)


def to_minor(amount: str, currency: str) -> int:
    """Parse "129.90" in EUR to 12990; raises ValueError when malformed or too precise."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if not value.is_finite():
        raise ValueError("not a number")
    places = precision(currency)
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError("too many decimal places")
    return int(scaled)


def to_api(amount_minor: int, currency: str) -> dict[str, str]:
    return {"amount": minor_to_decimal_string(amount_minor, currency), "currency": currency}
