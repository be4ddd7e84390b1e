"""Performance deadlines (issue 14, items 2 and 3): "perform by 20 Dec" lasts until 23:59 on
20 Dec where the merchant is, is stated with that zone on the page, in the API, the mails and
the PDF, and a settlement or an award without a date gets the contract's default."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases.models import Case, RespondentLink
from odr.cases.performance import country_zone, respondent_zone
from odr.extensions import db
from tests.documents.test_documents import listed, pdf_of, text_of
from tests.factories import ApiClient, Dispute, make_neutral, make_user

SETTLED_AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
DUE = date(2026, 12, 20)
OFFER = {
    "amount": {"amount": "1299.50", "currency": "EUR"},
    "remedy": "refund",
    "terms": "The merchant refunds the price.",
}
TERMS = {"amount": {"amount": "80.00", "currency": "EUR"}, "remedy": "partial_refund"}
MERCHANTS = [("DE", "Europe/Berlin"), ("CN", "Asia/Shanghai")]


def set_timezone(app, user, zone: str) -> None:
    with app.app_context():
        db.session.get(User, user.id).timezone = zone
        db.session.commit()


def merchant_in(app, api, country: str, zone: str | None, **lodging) -> Dispute:
    """A dispute against a merchant in `country` whose account chose `zone` (None: never chose)."""
    dispute = Dispute(app, api, respondent__country=country, **lodging)
    if zone is not None:
        set_timezone(app, dispute.users["respondent"], zone)
    return dispute


def settle_by(app, api, country: str, zone: str, due: date | None = DUE, **lodging) -> Dispute:
    """Settled on SETTLED_AT by the merchant's offer "perform by `due`"."""
    with clock.travel_to(SETTLED_AT):
        dispute = merchant_in(app, api, country, zone, **lodging)
        offer = dict(OFFER, performance_due=due.isoformat()) if due else OFFER
        made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", offer)
        assert made.status_code == 201, made.get_json()
        accept = f"/api/v1/disputes/{dispute.id}/offers/{made.get_json()['id']}/accept"
        assert dispute.client("claimant").post(accept).get_json()["state"] == "settled"
    return dispute


@pytest.mark.parametrize("country, zone", MERCHANTS)
def test_a_settlement_by_20_dec_is_broken_only_after_20_dec_where_the_merchant_is(
    app, api, country, zone
):
    dispute = settle_by(app, api, country, zone)
    local = ZoneInfo(zone)
    # Before issue 14 the sweep acted at 00:00 UTC: 01:00 in Berlin, 08:00 in Beijing.
    assert dispute.at(datetime(2026, 12, 20, 22, 0, tzinfo=local))["timeouts"] == 0
    assert dispute.state == "settled"
    assert dispute.at(datetime(2026, 12, 21, 0, 1, tzinfo=local))["timeouts"] == 1
    assert dispute.state == "non_compliant"


@pytest.mark.parametrize("country, zone", MERCHANTS)
def test_a_merchant_who_pays_late_on_the_day_is_in_time(app, api, country, zone):
    dispute = settle_by(app, api, country, zone)
    local = ZoneInfo(zone)
    assert dispute.at(datetime(2026, 12, 20, 12, 0, tzinfo=local))["timeouts"] == 0  # the sweep ran
    with clock.travel_to(datetime(2026, 12, 20, 23, 30, tzinfo=local)):
        dispute.must("respondent", "declare_performance", note="paid tonight")
    assert dispute.at(datetime(2026, 12, 21, 0, 1, tzinfo=local))["timeouts"] == 1
    assert dispute.state == "resolved"


@pytest.mark.parametrize(
    "country, zone, offset", [("DE", "Europe/Berlin", "+01:00"), ("CN", "Asia/Shanghai", "+08:00")]
)
def test_the_api_states_the_deadline_with_its_zone(app, api, country, zone, offset):
    dispute = settle_by(app, api, country, zone)
    shown = dispute.read()
    ends = datetime.combine(DUE + timedelta(days=1), time.min, tzinfo=ZoneInfo(zone))
    assert shown["deadline_at"] == ends.astimezone(UTC).isoformat()
    assert shown["performance_due"] == "2026-12-20"  # the date field as it was
    assert shown["performance_due_at"] == f"2026-12-20T23:59:59{offset}"
    assert shown["performance_zone"] == zone
    [offer] = shown["offers"]
    assert (offer["performance_due"], offer["performance_zone"]) == ("2026-12-20", zone)
    assert offer["performance_due_at"] == f"2026-12-20T23:59:59{offset}"


def test_the_page_the_mail_and_the_pdf_state_the_zone(app, api, web, mailbox):
    dispute = settle_by(app, api, "DE", "Europe/Berlin")
    stated = "Dec 20, 2026, 23:59 (Europe/Berlin)"

    web.login(dispute.users["claimant"].email)
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert f"To be performed by: {stated}" in page
    assert "your time: Dec 20, 2026, 22:59 (UTC)" in page  # the claimant never chose a zone

    merchant = dispute.users["respondent"].email  # told with the agreement attached
    [settled] = [m for m in mailbox.to(merchant) if "is settled" in m["Subject"]]
    assert stated in settled.get_body(("plain",)).get_content()
    assert stated in settled.get_body(("html",)).get_content()

    [item] = listed(dispute.client("claimant"), {"id": dispute.id})
    text = " ".join(text_of(pdf_of(dispute.client("claimant"), item)).split())
    assert "The Merchant performs by December 20, 2026, 23:59 (Europe/Berlin)" in text


def test_in_chinese_the_page_and_the_pdf_state_it_in_chinese(app, api, web):
    dispute = settle_by(app, api, "CN", "Asia/Shanghai", claimant_language="zh_Hans")
    web.login(dispute.users["claimant"].email)
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "2026年12月20日" in page and "23:59" in page and "Asia/Shanghai" in page

    [item] = listed(dispute.client("claimant"), {"id": dispute.id})
    text = "".join(text_of(pdf_of(dispute.client("claimant"), item)).split())
    assert "2026年12月20日" in text and "23:59" in text and "Asia/Shanghai" in text


def test_the_zone_stays_when_the_merchant_changes_theirs(app, api):
    with clock.travel_to(SETTLED_AT):
        dispute = merchant_in(app, api, "DE", "Europe/Berlin")
        made = dispute.client("respondent").post(
            f"/api/v1/disputes/{dispute.id}/offers", dict(OFFER, performance_due="2026-12-20")
        )
        # The offer said Berlin; the merchant moves before it is accepted, and after.
        set_timezone(app, dispute.users["respondent"], "America/Los_Angeles")
        dispute.client("claimant").post(
            f"/api/v1/disputes/{dispute.id}/offers/{made.get_json()['id']}/accept"
        )
    set_timezone(app, dispute.users["respondent"], "Pacific/Auckland")
    shown = dispute.read()
    assert shown["performance_zone"] == "Europe/Berlin"
    assert shown["deadline_at"] == "2026-12-20T23:00:00+00:00"


def test_a_day_already_over_where_the_merchant_is_is_refused(app, api):
    # 20 Dec 17:00 UTC is already 21 Dec in Beijing, though still 20 Dec in UTC.
    with clock.travel_to(datetime(2026, 12, 20, 17, 0, tzinfo=UTC)):
        dispute = merchant_in(app, api, "CN", "Asia/Shanghai")
        response = dispute.client("respondent").post(
            f"/api/v1/disputes/{dispute.id}/offers", dict(OFFER, performance_due="2026-12-20")
        )
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["performance_due"]
        assert dispute.read()["offers"] == []


# ---- which zone ----------------------------------------------------------------------------------


def test_the_main_zone_of_a_country():
    assert country_zone("DE") == "Europe/Berlin"
    assert country_zone("cn") == "Asia/Shanghai"
    assert country_zone("US") == "America/New_York"
    assert country_zone("RU") == "Europe/Moscow"
    assert country_zone("FR") == "Europe/Paris"  # one zone: read from Babel
    assert country_zone("JP") == "Asia/Tokyo"
    assert country_zone("AQ") == "UTC"  # several zones, none the main one
    assert country_zone(None) == "UTC"


def test_the_respondents_account_zone_when_one_was_chosen_else_the_countrys(app, api):
    dispute = merchant_in(app, api, "DE", None)  # the account still on UTC: never chose

    def zone() -> str:
        with app.app_context():
            return respondent_zone(
                db.session.scalar(sa.select(Case).filter_by(public_id=dispute.id))
            )

    assert zone() == "Europe/Berlin"
    joined = make_user(app, "merchant", email="owner@other-shop.example", timezone="Asia/Tokyo")
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).filter_by(public_id=dispute.id))
        db.session.add(RespondentLink(case_id=case_id, merchant_id=joined.id))
        db.session.commit()
    assert zone() == "Asia/Tokyo"  # the account that joined through the invitation
    set_timezone(app, dispute.users["respondent"], "Europe/Vienna")
    assert zone() == "Europe/Vienna"  # the account the dispute names comes first


# ---- defaults (item 3) ---------------------------------------------------------------------------


def test_a_proposal_without_a_date_gets_14_days_to_the_end_of_the_day(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    with clock.travel_to(SETTLED_AT):
        dispute = merchant_in(app, api, "DE", "Europe/Berlin")
        dispute.to_mediation()
        proposal = dispute.must(mediator, "propose_settlement", **TERMS, terms="t")["proposal"]
        assert proposal["performance_due"] == "2026-12-19"
        assert proposal["performance_due_at"] == "2026-12-19T23:59:59+01:00"
        assert proposal["performance_zone"] == "Europe/Berlin"
        again = dispute.must(
            mediator, "propose_settlement", **TERMS, terms="t2", performance_due=None
        )["proposal"]
        assert again["performance_due"] == "2026-12-19"
        dispute.must("claimant", "accept_proposal")
        settled = dispute.must("respondent", "accept_proposal")
    assert (settled["performance_due"], settled["performance_zone"]) == (
        "2026-12-19",
        "Europe/Berlin",
    )
    assert settled["deadline_at"] == "2026-12-19T23:00:00+00:00"


def test_an_award_without_a_date_gets_30_days_where_the_merchant_is(app, api):
    mediator = make_neutral(app, "mediator", ["en"])
    arbitrator = make_neutral(app, "arbitrator", ["en"])
    # 5 Dec 20:00 UTC is already 6 Dec in Beijing: the 30 days count from there.
    with clock.travel_to(datetime(2026, 12, 5, 20, 0, tzinfo=UTC)):
        dispute = merchant_in(app, api, "CN", "Asia/Shanghai", arbitration_consent=True)
        dispute.must("respondent", "consent_to_arbitration")
        dispute.to_mediation()
        dispute.must(mediator, "escalate", reason="no agreement")
        awarded = dispute.must(arbitrator, "issue_award", **TERMS, reasons="r")
    assert awarded["state"] == "awarded"
    assert awarded["performance_due"] == "2027-01-05"
    assert awarded["performance_due_at"] == "2027-01-05T23:59:59+08:00"
    assert awarded["deadline_at"] == "2027-01-05T16:00:00+00:00"


def test_the_forms_show_the_default_and_say_what_it_means(app, api, make_web):
    mediator = make_neutral(app, "mediator", ["en"])
    arbitrator = make_neutral(app, "arbitrator", ["en"])
    with clock.travel_to(SETTLED_AT):
        dispute = merchant_in(app, api, "DE", "Europe/Berlin", arbitration_consent=True)
        merchant = make_web()
        merchant.login(dispute.users["respondent"].email)
        page = merchant.get(f"/disputes/{dispute.id}").get_data(as_text=True)
        assert "Left empty: 14 days from the acceptance." in page
        assert "until 23:59 that day in their time zone (Europe/Berlin)" in page

        dispute.must("respondent", "consent_to_arbitration")
        dispute.to_mediation()
        web = make_web()
        web.login(mediator.email)
        page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
        assert 'name="performance_due" value="2026-12-19"' in page
        assert "Prefilled with the default: 14 days from today." in page
        assert "(Europe/Berlin)" in page
        # Sent as it is, or emptied: the form is accepted and the default applies.
        form = {"version": str(dispute.read()["version"]), "terms": "t", "remedy": "refund"}
        form |= {"amount.amount": "80.00", "amount.currency": "EUR", "performance_due": ""}
        web.post(f"/disputes/{dispute.id}/actions/propose_settlement", form)
        assert dispute.read()["proposal"]["performance_due"] == "2026-12-19"

        dispute.must(mediator, "escalate", reason="no agreement")
        web = make_web()
        web.login(arbitrator.email)
        page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
        assert 'name="performance_due" value="2027-01-04"' in page
        assert "Prefilled with the default: 30 days from today." in page


# ---- the migration -------------------------------------------------------------------------------


def test_the_migration_gives_existing_deadlines_the_merchants_zone(app, mailbox):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import build_app

    fresh = build_app(app.backend, mailbox, name="performance-zones.db")
    try:
        dispute = settle_by(fresh, ApiClient(fresh), "CN", "Asia/Shanghai")
        with fresh.app_context():
            downgrade(revision="a13a0d170003")
            deadline = db.session.execute(sa.text("SELECT deadline_at FROM cases")).scalar()
            assert str(deadline).startswith("2026-12-20 00:00:00")  # the old rule
            db.session.remove()
            upgrade()
            case = db.session.scalar(sa.select(Case))
            assert (case.performance_zone, case.deadline_at) == (
                "Asia/Shanghai",
                datetime(2026, 12, 20, 16, 0, tzinfo=UTC),
            )
            zones = db.session.execute(sa.text("SELECT performance_zone FROM offers")).scalars()
            assert zones.all() == ["Asia/Shanghai"]
        assert dispute.read()["performance_due_at"] == "2026-12-20T23:59:59+08:00"
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
