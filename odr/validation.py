"""Reading untrusted input field by field, collecting a message per field path.

Web forms and the JSON API both build a plain dict and read it through a `FieldReader`, so one set
of rules (and one set of messages) applies everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from odr import clock, money
from odr.errors import ValidationError
from odr.i18n import canonical_language

_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ"}
COUNTRIES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)

_MISSING = object()
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FieldReader:
    """Reads fields of a nested dict; every problem is recorded under its dotted path."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def fail(self, path: str, message: Any) -> None:
        self.errors.setdefault(path, message)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ValidationError(self.errors, detail=_l("Some fields need your attention."))

    def obj(
        self, data: Any, path: str, allowed: set[str], required: bool = True
    ) -> dict[str, Any] | None:
        if data is _MISSING or data is None:
            if required:
                self.fail(path, _l("This field is required."))
            return None
        if not isinstance(data, dict):
            self.fail(path, _l("Must be an object."))
            return None
        for key in data:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else key, _l("Unknown field."))
        return data

    def _get(self, data: dict | None, key: str) -> Any:
        if data is None:
            return _MISSING
        return data.get(key, _MISSING)

    def string(
        self,
        data: dict | None,
        key: str,
        path: str,
        *,
        max_length: int = 200,
        required: bool = True,
        multiline: bool = False,
    ) -> str | None:
        value = self._get(data, key)
        if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if required and data is not None:
                self.fail(path, _l("This field is required."))
            return None
        if not isinstance(value, str):
            self.fail(path, _l("Must be text."))
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, _l("At most %(count)d characters.", count=max_length))
            return None
        allowed = "\n\r\t" if multiline else ""
        if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
            self.fail(path, _l("Contains characters that are not allowed."))
            return None
        return value

    def email(self, data: dict | None, key: str, path: str) -> str | None:
        value = self.string(data, key, path, max_length=254)
        if value is None:
            return None
        try:
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            self.fail(path, _l("Enter a valid e-mail address, such as name@example.com."))
            return None
        return checked.normalized.lower()

    def country(self, data: dict | None, key: str, path: str) -> str | None:
        value = self.string(data, key, path, max_length=2)
        if value is None:
            return None
        if value.upper() not in COUNTRIES:
            self.fail(path, _l("Enter a two-letter ISO 3166 country code, such as CN or DE."))
            return None
        return value.upper()

    def language(self, data: dict | None, key: str, path: str) -> str | None:
        value = self.string(data, key, path, max_length=20)
        if value is None:
            return None
        language = canonical_language(value)
        if language is None:
            self.fail(path, _l("Enter a language code, such as en, zh-Hans or zh-Hant."))
        return language

    def choice(
        self, data: dict | None, key: str, path: str, choices: tuple[str, ...]
    ) -> str | None:
        value = self.string(data, key, path, max_length=40)
        if value is None:
            return None
        if value not in choices:
            self.fail(path, _l("Choose one of: %(choices)s.", choices=", ".join(choices)))
            return None
        return value

    def boolean(self, data: dict | None, key: str, path: str, default: bool = False) -> bool:
        value = self._get(data, key)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            self.fail(path, _l("Must be true or false."))
            return default
        return value

    def date(
        self, data: dict | None, key: str, path: str, *, required: bool = True, past: bool = True
    ) -> date | None:
        value = self.string(data, key, path, max_length=10, required=required)
        if value is None:
            return None
        try:
            # fromisoformat also takes 20240101 and week dates; the contract is YYYY-MM-DD.
            if not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            parsed = date.fromisoformat(value)
        except ValueError:
            self.fail(path, _l("Enter a date as YYYY-MM-DD."))
            return None
        if past and parsed > clock.today():
            self.fail(path, _l("Cannot be in the future."))
            return None
        if not past and parsed < clock.today():
            self.fail(path, _l("Cannot be in the past."))
            return None
        return parsed

    def money(
        self, data: dict | None, key: str, path: str, *, allow_zero: bool = False
    ) -> tuple[int, str] | None:
        value = self.obj(self._get(data, key), path, {"amount", "currency"})
        if value is None:
            return None
        currency = self.string(value, "currency", f"{path}.currency", max_length=3)
        if currency is not None and not money.is_currency(currency.upper()):
            self.fail(f"{path}.currency", _l("Enter an ISO 4217 currency code, such as CNY."))
            currency = None
        amount = value.get("amount", _MISSING)
        if amount is _MISSING or amount is None or amount == "":
            self.fail(f"{path}.amount", _l("This field is required."))
            return None
        if isinstance(amount, bool) or not isinstance(amount, str | int):
            self.fail(
                f"{path}.amount", _l('Write the amount as a decimal string, such as "129.90".')
            )
            return None
        if currency is None:
            return None
        currency = currency.upper()
        try:
            minor = money.to_minor(str(amount), currency)
        except ValueError:
            self.fail(
                f"{path}.amount",
                _l(
                    "Enter an amount with at most %(places)d decimal places for %(currency)s.",
                    places=money.precision(currency),
                    currency=currency,
                ),
            )
            return None
        if minor < 0 and allow_zero:
            self.fail(f"{path}.amount", _l("Cannot be negative."))
        elif minor < 0 or (minor == 0 and not allow_zero):
            self.fail(f"{path}.amount", _l("Must be more than zero."))
            return None
        if minor >= 10**15:
            self.fail(f"{path}.amount", _l("This amount is too large."))
            return None
        return minor, currency
