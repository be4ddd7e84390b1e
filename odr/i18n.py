"""Languages: choosing the reader's locale, and formatting money, countries and times for them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.numbers import format_currency, get_currency_precision
from flask import has_request_context, request, session
from flask_babel import format_date, format_timedelta, get_locale, get_timezone
from flask_login import current_user

from odr.config import SUPPORTED_LOCALES

# Werkzeug's matching maps zh-TW to zh_Hans or misses zh-HK entirely; the mapping is explicit.
_CHINESE = {
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh-sg": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-hans-cn": "zh_Hans",
    "zh-tw": "zh_Hant",
    "zh-hk": "zh_Hant",
    "zh-mo": "zh_Hant",
    "zh-hant": "zh_Hant",
    "zh-hant-tw": "zh_Hant",
    "zh-hant-hk": "zh_Hant",
}

LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}


def normalise_language(tag: str | None) -> str | None:
    """Map a language tag (`zh-TW`, `zh_Hans`, `en-GB`, `fr`) to a supported locale or None."""
    if not tag:
        return None
    key = tag.strip().replace("_", "-").lower()
    if key in _CHINESE:
        return _CHINESE[key]
    if key.startswith("zh-hant"):
        return "zh_Hant"
    if key.startswith("zh"):
        return "zh_Hans"
    if key == "en" or key.startswith("en-"):
        return "en"
    return None


def canonical_language(tag: str) -> str | None:
    """A language tag a party may declare: any language Babel knows, in canonical form."""
    supported = normalise_language(tag)
    if supported:
        return supported
    try:
        return str(Locale.parse(tag.strip().replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None


def mail_locale(language: str | None) -> str:
    return normalise_language(language) or "en"


def _accept_language() -> str | None:
    for tag, _quality in request.accept_languages:
        found = normalise_language(tag)
        if found:
            return found
    return None


def select_locale() -> str:
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated and current_user.language:
        chosen = normalise_language(current_user.language)
        if chosen:
            return chosen
    chosen = normalise_language(session.get("language"))
    return chosen or _accept_language() or "en"


def select_timezone() -> str:
    if not has_request_context():
        return "UTC"
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return "UTC"


def minor_to_decimal_string(amount_minor: int, currency: str) -> str:
    precision = get_currency_precision(currency)
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor)).rjust(precision + 1, "0")
    if precision == 0:
        return sign + digits
    return f"{sign}{digits[:-precision]}.{digits[-precision:]}"


def format_money(amount_minor: int | None, currency: str | None) -> str:
    if amount_minor is None or not currency:
        return ""
    value = minor_to_decimal_string(amount_minor, currency)
    return format_currency(value, currency, locale=str(get_locale() or "en"))


def country_name(code: str | None) -> str:
    if not code:
        return ""
    locale = get_locale() or Locale("en")
    return locale.territories.get(code, code)


def language_name(code: str | None) -> str:
    if not code:
        return ""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en") or code
    except (ValueError, UnknownLocaleError):
        return code


def format_time(value: datetime | None, zone: str | None = None, locale: str | None = None) -> str:
    """A moment as people read it, to the minute: "Dec 4, 2026, 19:05", "2026年12月4日 19:05".

    The date as everywhere else (Babel's medium date), hours and minutes in 24 hours, joined the
    way the locale joins them; in `zone` (default: the viewer's) and `locale` (default: the
    page's). Pages and PDFs both use it, so the same moment reads the same in both.
    """
    if value is None:
        return ""
    where = ZoneInfo(zone) if zone else get_timezone()
    babel_locale = Locale.parse(locale or get_locale() or "en")
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(where)
    return babel_locale.datetime_formats["medium"].format(
        format_skeleton("Hm", local, locale=babel_locale),
        babel_format_date(local.date(), "medium", locale=babel_locale),
    )


def format_countdown(value: datetime | None) -> str:
    """How far a deadline is, in words: "in 3 days", "2 hours ago"."""
    from odr import clock

    if value is None:
        return ""
    return format_timedelta(value - clock.now(), add_direction=True, threshold=1.1)


def format_day(value: date | None) -> str:
    return format_date(value, "medium") if value else ""


def supported_locales() -> tuple[str, ...]:
    return SUPPORTED_LOCALES
