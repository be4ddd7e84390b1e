"""Money as integer minor units and an ISO 4217 code; the precision comes from Babel."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import (
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)
from flask_babel import lazy_gettext as _l

from odr.errors import ValidationError
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


# ---- amounts as people type them in the web forms ---------------------------------------------
#
# The API takes "1299.50" and nothing else. A person types "1,299.50", "1.299,50", "€ 89",
# "¥1299" or "１２９９元" from a Chinese input method. `parse_amount` reads all of these; what it
# cannot read for sure it refuses with a message that says how to write it. The rules:
# - NFKC first: full-width digits, commas, points and ¥ become their ASCII forms, and every kind of
#   space becomes a plain one.
# - A currency sign or code before or after the figures must be able to mean the chosen currency
#   ("¥" is yen or yuan, "$" any dollar): `€ 89` with CNY chosen is an error, not a conversion.
# - Spaces and apostrophes only ever group thousands. When both "." and "," appear, the last one is
#   the decimal separator. One mark that occurs several times groups thousands.
# - One mark followed by other than three digits is the decimal separator, whatever the page's
#   language: "1299,50" is 1299.50 in English too.
# - One mark followed by exactly three digits ("1,299", "1.299") is read as the page's language
#   writes it when that language groups thousands with it (English "1,299" and German "1.299" are
#   1299). When that language writes decimals with it, or uses neither mark, the amount is refused
#   as unclear, unless the currency has three decimal places.

COMMON_CURRENCIES = (
    "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "IDR",
    "ILS", "INR", "JPY", "KRW", "MOP", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK",
    "SGD", "THB", "TRY", "TWD", "USD", "VND", "ZAR",
)  # fmt: skip
"""The currencies the web forms offer: those of most cross-border online shopping. Any current
ISO 4217 code (`CURRENCIES`) stays valid, in the API and in a form that already holds it."""

_DOLLARS = frozenset({"USD", "AUD", "CAD", "HKD", "MXN", "MOP", "NZD", "SGD", "TWD"})
_YUAN = frozenset({"CNY", "HKD", "MOP", "TWD"})  # 元 is the unit of all four
_MARKERS: dict[str, frozenset[str]] = {
    "$": _DOLLARS,
    "¥": frozenset({"CNY", "JPY"}),
    "元": _YUAN,
    "圆": _YUAN,
    "块": frozenset({"CNY"}),
    "RMB": frozenset({"CNY"}),
    "人民币": frozenset({"CNY"}),
    "人民幣": frozenset({"CNY"}),
    "CN¥": frozenset({"CNY"}),
    "JP¥": frozenset({"JPY"}),
    "円": frozenset({"JPY"}),
    "日元": frozenset({"JPY"}),
    "日圓": frozenset({"JPY"}),
    "美元": frozenset({"USD"}),
    "欧元": frozenset({"EUR"}),
    "歐元": frozenset({"EUR"}),
    "港元": frozenset({"HKD"}),
    "港币": frozenset({"HKD"}),
    "港幣": frozenset({"HKD"}),
    "新台币": frozenset({"TWD"}),
    "新台幣": frozenset({"TWD"}),
    "英镑": frozenset({"GBP"}),
    "英鎊": frozenset({"GBP"}),
    "US$": frozenset({"USD"}),
    "HK$": frozenset({"HKD"}),
    "NT$": frozenset({"TWD"}),
    "A$": frozenset({"AUD"}),
    "C$": frozenset({"CAD"}),
    "S$": frozenset({"SGD"}),
    "NZ$": frozenset({"NZD"}),
    "MOP$": frozenset({"MOP"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "₩": frozenset({"KRW"}),
    "원": frozenset({"KRW"}),
    "₹": frozenset({"INR"}),
    "₺": frozenset({"TRY"}),
    "₫": frozenset({"VND"}),
    "฿": frozenset({"THB"}),
    "₱": frozenset({"PHP"}),
    "₪": frozenset({"ILS"}),
    "zł": frozenset({"PLN"}),
    "Kč": frozenset({"CZK"}),
    "Ft": frozenset({"HUF"}),
    "kr": frozenset({"DKK", "ISK", "NOK", "SEK"}),
    "kr.": frozenset({"DKK", "ISK", "NOK", "SEK"}),
    "Fr.": frozenset({"CHF"}),
    "RM": frozenset({"MYR"}),
    "Rp": frozenset({"IDR"}),
    "lei": frozenset({"RON"}),
}
_MARKER_KEYS = {key.casefold(): meant for key, meant in _MARKERS.items()}
_SYMBOL_LOCALES = ("en", "zh_Hans", "zh_Hant", "de", "fr", "ja", "ko")
_NUMBER = re.compile(r"\d(?:[\d.,' ’]*\d)?(?:[.,][-–])?")
_GROUP_SPACES = " '’"
_MAX_TYPED = 64


def parse_amount(text: str, currency: str, locale: str, field: str = "amount") -> int:
    """An amount typed in a web form as minor units of `currency`, read as the page's `locale`
    writes numbers; raises `ValidationError` keyed by `field` with what to type instead."""
    places = precision(currency)
    typed = unicodedata.normalize("NFKC", text or "").strip()
    if not typed:
        raise ValidationError({field: _l("This field is required.")})
    example = _example(places, locale)
    not_a_number = ValidationError(
        {field: _l("Enter the amount in figures, such as %(example)s.", example=example)}
    )
    typed = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in typed)
    numbers = list(_NUMBER.finditer(typed))
    if len(numbers) != 1 or len(typed) > _MAX_TYPED:
        raise not_a_number
    found = numbers[0]
    before, after = typed[: found.start()].strip(), typed[found.end() :].strip()
    negative = before[:1] in ("-", "−")
    if negative:
        before = before[1:].strip()
    if before[-1:] in ("-", "−"):  # "€-5"
        negative, before = True, before[:-1].strip()
    for marker in (before, after):
        if not marker:
            continue
        meant = _currencies_meant_by(marker, currency, locale)
        if meant is None:
            raise not_a_number
        if currency not in meant:
            message = _l(
                "You typed %(symbol)s, which is not %(currency)s. Choose the currency that "
                "matches, or leave the symbol out.",
                symbol=marker,
                currency=currency,
            )
            raise ValidationError({field: message})
    try:
        value = _read_number(found.group(0), places, locale)
    except _Unclear as unclear:
        message = _l(
            "We cannot tell whether the “%(mark)s” in %(typed)s separates thousands or decimals. "
            "Write the amount without a thousands separator, such as %(example)s.",
            mark=unclear.mark,
            typed=found.group(0),
            example=_example(places, locale, grouped=False),
        )
        raise ValidationError({field: message}) from None
    except ValueError:
        raise not_a_number from None
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        if places == 0:
            message = _l(
                "%(currency)s has no smaller unit: enter a whole amount, such as %(example)s.",
                currency=currency,
                example=example,
            )
        else:
            message = _l(
                "Enter an amount with at most %(places)d decimal places for %(currency)s.",
                places=places,
                currency=currency,
            )
        raise ValidationError({field: message})
    return -int(scaled) if negative else int(scaled)


class _Unclear(ValueError):
    def __init__(self, mark: str) -> None:
        super().__init__(mark)
        self.mark = mark


def _read_number(number: str, places: int, locale: str) -> Decimal:
    """The figures of an amount, separators resolved by the rules at the top of this section."""
    if number[-1] in "-–":  # "89,-": no cents
        number = number[:-2]
    marks = [c for c in number if c in ".,"]
    decimal_mark = group_mark = None
    if len(set(marks)) == 2:
        decimal_mark = number[max(number.rfind("."), number.rfind(","))]
        group_mark = "," if decimal_mark == "." else "."
        if marks.count(decimal_mark) > 1:
            raise ValueError(number)
    elif marks and marks.count(marks[0]) > 1:
        group_mark = marks[0]
    elif marks:
        mark = marks[0]
        fraction = number.rsplit(mark, 1)[1]
        if len(fraction) != 3 or not fraction.isdigit():
            decimal_mark = mark
        elif _normalised(get_group_symbol(locale)) == mark:
            group_mark = mark
        elif _normalised(get_decimal_symbol(locale)) == mark and places >= 3:
            decimal_mark = mark
        else:
            raise _Unclear(mark)
    whole, fraction = number.rsplit(decimal_mark, 1) if decimal_mark else (number, "")
    if not fraction.isdigit() and fraction:
        raise ValueError(number)
    groups = re.split(f"[{re.escape(_GROUP_SPACES + (group_mark or ''))}]", whole)
    if len(groups) > 1 and not (
        1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
    ):
        raise ValueError(number)
    if not all(group.isdigit() for group in groups):
        raise ValueError(number)
    return Decimal("".join(groups) + ("." + fraction if fraction else ""))


def _normalised(symbol: str) -> str:
    return unicodedata.normalize("NFKC", symbol)


def _currencies_meant_by(marker: str, currency: str, locale: str) -> frozenset[str] | None:
    """The currencies a sign, code or word typed beside the figures can mean; None: not money."""
    key = marker.casefold()
    if len(marker) == 3 and marker.upper() in CURRENCIES:
        return frozenset({marker.upper()})
    meant = set(_symbols(locale).get(key, ()))
    if key in _MARKER_KEYS:
        meant |= _MARKER_KEYS[key]
    for where in (locale, "en"):  # the chosen currency's own symbol, if it is not a common one
        if _normalised(get_currency_symbol(currency, where)).casefold() == key:
            meant.add(currency)
    return frozenset(meant) or None


@lru_cache(maxsize=16)
def _symbols(locale: str) -> dict[str, frozenset[str]]:
    """Babel's symbols of the common currencies, in the page's language and a few more."""
    found: dict[str, set[str]] = {}
    for code in COMMON_CURRENCIES:
        for where in dict.fromkeys((locale, *_SYMBOL_LOCALES)):
            symbol = _normalised(get_currency_symbol(code, where)).casefold()
            found.setdefault(symbol, set()).add(code)
    return {symbol: frozenset(codes) for symbol, codes in found.items()}


def _example(places: int, locale: str, *, grouped: bool = True) -> str:
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * places if places else "")
    value = Decimal("1299.50") if places else Decimal("1299")
    return format_decimal(value, format=pattern, locale=locale)
