"""The partner portal: an agency's desk sees only its referrals, accepts or declines them and
reports progress and the outcome on the web, with the same rules as the API."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from odr.accounts.services import find_user_by_email, hash_password
from odr.delivery.models import OutboxMessage
from odr.documents.models import Document
from odr.extensions import db
from tests.cases.test_evidence import must_upload, pdf
from tests.factories import PASSWORD, Dispute, make_user
from tests.referrals.agency import GERMAN_LAW, Agency

SUMMARY = "Settled at our hearing: the merchant refunds EUR 60."


def desk_of(app, agency_name: str) -> str:
    """The agency's desk account, given a password as its welcome link would."""
    email = f"desk@{agency_name.lower().replace(' ', '-')}.example"
    with app.app_context():
        find_user_by_email(email).password_hash = hash_password(PASSWORD)
        db.session.commit()
    return email


@pytest.fixture
def agency(app) -> Agency:
    return Agency(app, "Schlichtung Online")


@pytest.fixture
def dispute(app, api, agency) -> Dispute:
    dispute = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    dispute.referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    return dispute


@pytest.fixture
def desk(app, agency, make_web):
    web = make_web()
    web.login(desk_of(app, "Schlichtung Online"))
    return web


def referral_path(dispute: Dispute, step: str = "") -> str:
    return f"/partner/referrals/{dispute.referral}{'/' + step if step else ''}"


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_agency_desk_is_invited_to_choose_a_password(app, agency):
    with app.app_context():
        invited = db.session.scalar(
            sa.select(OutboxMessage.destination).where(
                OutboxMessage.payload["template"].as_string() == "staff_welcome"
            )
        )
    assert invited == "desk@schlichtung-online.example"


def test_the_desk_lands_on_its_referrals_and_reads_the_package(app, desk, dispute):
    assert desk.get("/").headers["Location"].endswith("/partner/referrals")
    listing = text(desk.get("/partner/referrals"))
    reference = dispute.data["reference"]
    assert reference in listing and "Waiting for your answer" in listing
    page = text(desk.get(referral_path(dispute)))
    assert "Rheinland Electronics GmbH" in page and dispute.users["claimant"].email in page
    assert "Accept the referral" in page and "Transfer record" in page


def test_another_agency_and_everyone_else_see_nothing(app, api, dispute, make_web):
    Agency(app, "Zweite Stelle")
    other = make_web()
    other.login(desk_of(app, "Zweite Stelle"))
    assert dispute.data["reference"] not in text(other.get("/partner/referrals?show=all"))
    assert other.get(referral_path(dispute)).status_code == 404
    assert (
        other.post(referral_path(dispute, "accept"), {"partner_reference": "x"}).status_code == 404
    )
    consumer = make_web()
    consumer.login(dispute.users["claimant"].email)
    assert consumer.get("/partner/referrals").status_code == 404
    assert consumer.get(referral_path(dispute)).status_code == 404
    assert dispute.state == "referred"


def test_accepting_needs_a_reference_then_moves_the_dispute_to_the_agency(app, desk, dispute):
    refused = desk.post(referral_path(dispute, "accept"), {"partner_reference": ""})
    assert refused.status_code == 422 and 'id="partner_reference-error"' in text(refused)
    assert dispute.state == "referred"
    accepted = desk.post(referral_path(dispute, "accept"), {"partner_reference": "SO-77"})
    assert accepted.status_code == 303
    assert dispute.state == "with_partner"
    page = text(desk.get(referral_path(dispute)))
    assert "Your reference: SO-77" in page and "Report the outcome" in page
    again = desk.post(referral_path(dispute, "decline"), {"reason": "changed our mind"})
    assert again.status_code == 303 and dispute.state == "with_partner"
    assert "not possible any more" in text(desk.get(referral_path(dispute)))


def test_declining_sends_the_dispute_home(app, desk, dispute):
    desk.post(referral_path(dispute, "decline"), {"reason": "Outside our remit."})
    assert dispute.state == "negotiation"
    assert "Declined" in text(desk.get("/partner/referrals?show=all"))


def test_progress_and_a_pdf_outcome_from_the_portal(app, desk, dispute):
    desk.post(referral_path(dispute, "accept"), {"partner_reference": "SO-78"})
    receipt = pdf()
    must_upload(dispute.clients["claimant"], dispute.id, "receipt.pdf", receipt)
    page = text(desk.get(referral_path(dispute)))
    [link] = [line for line in page.split('"') if "/evidence/" in line]
    assert desk.get(link).data == receipt

    progress = desk.post(referral_path(dispute, "updates"), {"status": "hearing_held"})
    assert progress.status_code == 303
    assert "report_progress" in dispute.kinds()

    decision = pdf()
    done = desk.post(
        referral_path(dispute, "outcome"),
        {
            "outcome": "settled",
            "summary": SUMMARY,
            "amount.amount": "60.00",
            "amount.currency": "EUR",
            "document": (io.BytesIO(decision), "decision.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 303, text(done)[:500]
    assert dispute.state == "resolved"
    with app.app_context():
        stored = db.session.scalar(sa.select(Document).where(Document.kind == "partner_outcome"))
        assert (stored.status, stored.size) == ("ready", len(decision))
    listing = text(desk.get("/partner/referrals?show=all"))
    assert "Closed with your outcome" in listing
    closed = text(desk.get(referral_path(dispute)))
    assert "no longer open" in closed and "Transfer record" in closed
    assert dispute.users["claimant"].email not in closed and "receipt.pdf" not in closed


def test_an_outcome_that_is_not_a_pdf_is_refused_naming_the_file(app, desk, dispute):
    desk.post(referral_path(dispute, "accept"), {"partner_reference": "SO-79"})
    refused = desk.post(
        referral_path(dispute, "outcome"),
        {
            "outcome": "settled",
            "summary": SUMMARY,
            "document": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 32), "decision.png"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and 'id="document-error"' in text(refused)
    assert SUMMARY in text(refused)  # what was typed is kept
    assert dispute.state == "with_partner"


def test_a_consumer_cannot_use_the_portal_forms(app, dispute, make_web):
    consumer = make_web()
    consumer.login(make_user(app, "consumer").email)
    assert (
        consumer.post(referral_path(dispute, "accept"), {"partner_reference": "x"}).status_code
        == 404
    )


def test_the_dispute_page_sends_the_agency_to_its_portal(app, desk, dispute):
    page = text(desk.get(f"/disputes/{dispute.id}"))
    assert f'href="/partner/referrals/{dispute.referral}"' in page
    assert "/actions/accept_referral" not in page  # answered in the portal, with its fields


def test_the_referral_list_costs_the_same_queries_for_2_or_20_referrals(app, api, desk):
    from tests.cases.test_query_count import _queries_for
    from tests.factories import lodge

    claimant = api.as_user(make_user(app, "consumer"))

    def refer(count: int) -> None:
        for _ in range(count):
            lodge(claimant, law=GERMAN_LAW, transfer_consent=True)

    def page():
        return lambda: desk.get("/partner/referrals")

    refer(2)
    few = _queries_for(app, page())
    refer(18)
    assert text(desk.get("/partner/referrals")).count("Waiting for your answer") == 20
    assert _queries_for(app, page()) == few
