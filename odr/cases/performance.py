"""Performance deadlines: a date a person is given ends with that day where the one who must act
lives.

"Perform by 20 Dec" means until 23:59 on 20 Dec in the time zone of the respondent, the party who
performs: the zone of the respondent's account (the merchant account named by the dispute's
address, else one that joined it through the invitation) when it chose one, else the main zone of
the respondent's country, else UTC. An account still on `UTC`, the default of an account that
never chose, counts as not having chosen. The zone is fixed with the date (on the offer, the
proposal, the award and the case), so the deadline does not move when an account changes its zone
later. The claimant confirms performance or reports a breach within the same period: the deadline
that ends it is the respondent's.

The sweep's deadline is the instant the day ends there (00:00 of the next day, in UTC); what a
person reads is "20 Dec 2026, 23:59 (Europe/Berlin)"; the API gives the last second on time with
its offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_skeleton
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from odr import clock
from odr.accounts.models import User
from odr.cases.models import Case
from odr.cases.reading import party_account_ids
from odr.errors import ValidationError
from odr.extensions import db
from odr.workflow import get_workflow

UNCHOSEN = frozenset({"UTC", "Etc/UTC"})  # what an account holds until its owner picks a zone

# Countries whose territory spans several zones: the zone most of their people live in (CLDR lists
# a country's zones in no useful order). Every other country has one zone, read from Babel.
MAIN_ZONES = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UM": "Pacific/Wake",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def country_zone(country: str | None) -> str:
    """The main time zone of a country (ISO 3166 alpha-2), or UTC when there is none."""
    code = (country or "").upper()
    zone = MAIN_ZONES.get(code)
    if zone is None:
        zones = get_global("territory_zones").get(code, [])
        zone = zones[0] if len(zones) == 1 else None
    return zone if zone in _known_zones() else "UTC"


def respondent_zone(case: Case) -> str:
    """The zone in which the respondent's days end (see the module's docstring): that of the
    account the dispute names, else of the one that joined it first, else of the country."""
    for _joined, _id, timezone in sorted(party_account_ids(case)["principals"]):
        if timezone not in UNCHOSEN and timezone in _known_zones():
            return timezone
    return country_zone(case.respondent_country)


def chosen_zone(timezone: str | None, country: str | None) -> str:
    """The zone a person's dates are stated in: the one their account chose, else the main zone
    of their country."""
    if timezone not in UNCHOSEN and timezone in _known_zones():
        return timezone
    return country_zone(country)


def party_zone(case: Case, party: str) -> str:
    """Where a party of the case lives, for the dates a mail gives it: the respondent's zone as
    above; the claimant's account's zone, else the claimant's country's."""
    if party == "respondent":
        return respondent_zone(case)
    timezone = None
    if case.claimant_user_id is not None:  # often the account at hand: no query then
        timezone = db.session.get(User, case.claimant_user_id).timezone
    return chosen_zone(timezone, case.claimant_country)


def _zone(zone: str | None) -> ZoneInfo:
    return ZoneInfo(zone if zone in _known_zones() else "UTC")


def day_ends_at(day: date, zone: str | None) -> datetime:
    """The instant (UTC) a day ends in a zone: the next day's first moment there. Where a clock
    change skips or repeats midnight, the first reading is the moment the day ended."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=_zone(zone)).astimezone(UTC)


def last_second(day: date, zone: str | None) -> datetime:
    """The last whole second still on time, in the zone's own offset (what the API shows)."""
    return (day_ends_at(day, zone) - timedelta(seconds=1)).astimezone(_zone(zone))


def today_in(zone: str | None) -> date:
    return clock.now().astimezone(_zone(zone)).date()


def default_due(zone: str, days: int) -> date:
    """`days` days from today where the respondent is."""
    return today_in(zone) + timedelta(days=days)


def check_not_over(day: date | None, zone: str) -> None:
    """Refuse a date whose day has already ended where the respondent is (the readers' check
    compares with today in UTC, a day off either way)."""
    if day is not None and day_ends_at(day, zone) <= clock.now():
        raise ValidationError(
            {"performance_due": _l("Cannot be in the past.")},
            detail=_l("Some fields need your attention."),
        )


def default_days(case: Case, state: str) -> int:
    """How long performance takes when the terms name no date: the days of the state's deadline
    in the workflow (DESIGN.md: 14 for a settlement, 30 for an award)."""
    return get_workflow(case.workflow, case.workflow_version).states[state]["deadline"]["days"]


def terms_performance(case: Case, due: date | None, state: str) -> tuple[date, str]:
    """The date and zone new terms (a proposal, an award) state: the date given, else the default
    of the state they lead to, from today; refused when that day is already over."""
    zone = respondent_zone(case)
    due = due or default_due(zone, default_days(case, state))
    check_not_over(due, zone)
    return due, zone


def set_case_performance(case: Case, due: date | None, zone: str | None, state: str) -> None:
    """Fix the case's performance date and zone from the agreed terms (`state`: where the case
    goes, settled or awarded); terms without a date get that state's default from today."""
    zone = zone or respondent_zone(case)
    case.performance_due = due or default_due(zone, default_days(case, state))
    case.performance_zone = zone


def deadline_text(day: date | None, zone: str | None, fmt: str = "medium", locale=None) -> str:
    """What a person reads: "Dec 20, 2026, 23:59 (Europe/Berlin)", in Chinese
    "2026年12月20日 23:59（Europe/Berlin）"; `fmt` is the date's Babel format."""
    if day is None:
        return ""
    return _moment_text(datetime.combine(day, time(23, 59)), zone or "UTC", fmt, locale)


def _moment_text(local: datetime, zone: str, fmt: str, locale=None) -> str:
    locale = locale or get_locale() or Locale("en")
    return _(
        "%(date)s, %(time)s (%(zone)s)",
        date=format_date(local.date(), fmt, locale=locale),
        time=format_skeleton("Hm", local, locale=locale),
        zone=zone,
    )


def moment_text(at: datetime | None, zone: str | None) -> str:
    """An instant as a person reads it where they live, with the zone named: "Dec 11, 2026, 09:00
    (Europe/Berlin)". Mails use it: a mail has no reader's zone to fall back on."""
    if at is None:
        return ""
    return _moment_text(
        at.astimezone(_zone(zone)), zone if zone in _known_zones() else "UTC", "medium"
    )


def to_api(day: date | None, zone: str | None) -> dict[str, str | None]:
    """The API's fields beside a `performance_due` date."""
    if day is None:
        return {"performance_due_at": None, "performance_zone": None}
    zone = zone or "UTC"
    return {
        "performance_due_at": last_second(day, zone).isoformat(timespec="seconds"),
        "performance_zone": zone,
    }


class FormDefaults:
    """What the dispute page shows of performance dates: per action that sets one the default
    number of days, the respondent's zone and the dates the defaults give from today (the zone is
    read only when a form shows it)."""

    def __init__(self, case: Case) -> None:
        self.case = case
        settled, awarded = default_days(case, "settled"), default_days(case, "awarded")
        self.days = {"make_offer": settled, "propose_settlement": settled, "issue_award": awarded}

    @cached_property
    def zone(self) -> str:
        return respondent_zone(self.case)

    @cached_property
    def due(self) -> dict[str, date]:
        return {action: default_due(self.zone, days) for action, days in self.days.items()}


def in_viewers_zone(day: date | None, zone: str | None) -> str:
    """The same deadline in the reader's own zone ("Dec 21, 2026, 06:59 (Asia/Shanghai)"), or ""
    when the reader is in that zone already."""
    viewer = str(get_timezone())
    if day is None or viewer == (zone or "UTC"):
        return ""
    local = last_second(day, zone).astimezone(_zone(viewer)).replace(second=0)
    return _moment_text(local, viewer if viewer in _known_zones() else "UTC", "medium")
