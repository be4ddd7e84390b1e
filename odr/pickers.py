"""What the web forms offer to choose from (currencies, countries, languages, time zones), named
and sorted in the page's language from Babel's CLDR data; the values are the codes the API takes.

Sorting: by the name folded to its base letters ("Åland" beside "Aland"), then by code, so the
order is stable. Chinese names sort in Unicode order, which is radical-and-stroke order; pinyin
order would need ICU's collation, which we do not add for this.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location
from babel.numbers import get_currency_name, get_territory_currencies
from flask import has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from odr.config import SUPPORTED_LOCALES
from odr.i18n import canonical_language
from odr.money import COMMON_CURRENCIES, is_currency
from odr.validation import COUNTRIES

# Languages a merchant may be written to in: the supported ones, the EU's, and those of the
# largest online markets. Any language Babel knows stays valid where it is typed in the API.
LANGUAGES = (
    *SUPPORTED_LOCALES,
    "ar", "bg", "cs", "da", "de", "el", "es", "et", "fi", "fil", "fr", "ga", "he", "hi", "hr",
    "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "ro", "ru",
    "sk", "sl", "sv", "th", "tr", "uk", "vi",
)  # fmt: skip
UTC = "UTC"


class Choice(NamedTuple):
    value: str
    label: str
    aliases: tuple[str, ...] = ()  # other names of the same value (a time zone's old names)


def _page_locale() -> str:
    return str(get_locale() or "en")


def _sort_key(choice: Choice) -> tuple[str, str]:
    folded = unicodedata.normalize("NFKD", choice.label)
    base = "".join(c for c in folded if not unicodedata.combining(c))
    return base.casefold(), choice.value


def _with(choices: tuple[Choice, ...], also: tuple[str, ...]) -> list[Choice]:
    """The choices, and a value already chosen that is not among them (kept, not lost)."""
    known = {choice.value for choice in choices}
    return list(choices) + [Choice(value, value) for value in also if value and value not in known]


# ---- currencies ----------------------------------------------------------------------------


def currencies(first: str | None = None, *also: str) -> list[str]:
    """The common currencies by code, `first` leading (the claim's, the consumer's own);
    `also` keeps a code already chosen that is not a common one."""
    codes = dict.fromkeys(code for code in (first, *also) if code and is_currency(code))
    rest = sorted((set(COMMON_CURRENCIES) | set(codes)) - {first})
    return [first, *rest] if first in codes else rest


def currency_label(code: str) -> str:
    """ "EUR — Euro", the name in the page's language."""
    try:
        name = get_currency_name(code, locale=_page_locale())
    except ValueError:
        return code
    return f"{code} — {name}" if name and name != code else code


def home_currency(country: str | None) -> str | None:
    """The currency in use in a country today, if Babel knows it and it is a current code."""
    if not country:
        return None
    found = get_territory_currencies(country.upper(), tender=True, non_tender=False)
    return next((code for code in found if is_currency(code)), None)


# ---- countries, languages, time zones ------------------------------------------------------


def countries(*also: str) -> list[Choice]:
    return _with(_countries(_page_locale()), also)


@lru_cache(maxsize=8)
def _countries(locale: str) -> tuple[Choice, ...]:
    names = Locale.parse(locale).territories
    return tuple(sorted((Choice(code, names.get(code, code)) for code in COUNTRIES), key=_sort_key))


def browser_country() -> str:
    """A first guess at the reader's country: the region of the first language their browser asks
    for that has one (zh-CN: CN, de-AT: AT); empty when none does."""
    if not has_request_context():
        return ""
    for tag, _quality in request.accept_languages:
        for part in tag.replace("_", "-").split("-")[1:]:
            if len(part) == 2 and part.upper() in COUNTRIES:
                return part.upper()
    return ""


def languages(*also: str) -> list[Choice]:
    chosen = tuple(canonical_language(value) or value for value in also if value)
    return _with(_languages(_page_locale()), chosen)


@lru_cache(maxsize=8)
def _languages(locale: str) -> tuple[Choice, ...]:
    choices = []
    for code in LANGUAGES:
        name = Locale.parse(code).get_display_name(locale) or code
        choices.append(Choice(code, name[:1].upper() + name[1:]))
    return tuple(sorted(choices, key=_sort_key))


def time_zones(*also: str) -> list[Choice]:
    utc = Choice(UTC, str(_l("Coordinated Universal Time (UTC)")), ("Etc/UTC", "Etc/GMT", "GMT"))
    return _with((utc, *_time_zones(_page_locale())), also)


@lru_cache(maxsize=8)
def _time_zones(locale: str) -> tuple[Choice, ...]:
    """CLDR's zones of a country, by "Germany (Berlin) Time" in the page's language, each with
    its other names, which a browser may report instead (Asia/Calcutta for Asia/Kolkata)."""
    aliases: dict[str, list[str]] = {}
    for alias, zone in get_global("zone_aliases").items():
        aliases.setdefault(zone, []).append(alias)
    usable = available_timezones()
    zones = [
        Choice(zone, get_timezone_location(zone, locale=locale), tuple(aliases.get(zone, ())))
        for zone, territory in get_global("zone_territories").items()
        if len(territory) == 2 and territory.isalpha() and territory != "ZZ" and zone in usable
    ]
    return tuple(sorted(zones, key=_sort_key))
