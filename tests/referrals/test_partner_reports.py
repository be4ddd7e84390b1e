"""What an agency reports on a dispute it took on: progress, and the outcome that ends it, with
its summary told to both parties in their languages and its PDF kept as a document."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.delivery.models import OutboxMessage
from odr.delivery.services import render_mail
from odr.documents.models import Document
from odr.extensions import db
from odr.referrals.models import Referral
from tests.cases.test_evidence import _launch, must_upload, pdf
from tests.factories import Dispute, make_user, notice_kinds
from tests.referrals.agency import GERMAN_LAW, Agency

SUMMARY = "The merchant agreed to refund EUR 80 within 14 days; the consumer keeps the goods."


@pytest.fixture
def agency(app) -> Agency:
    return Agency(app, "Schlichtung Online")


@pytest.fixture
def dispute(app, api, agency) -> Dispute:
    """Accepted by the agency; the claimant reads Simplified Chinese, the merchant English."""
    dispute = Dispute(app, api, claimant_language="zh_Hans", law=GERMAN_LAW, transfer_consent=True)
    dispute.referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    accepted = agency.post(
        f"/api/v1/referrals/{dispute.referral}/accept", {"partner_reference": "SO-2026-4411"}
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert dispute.state == "with_partner"
    return dispute


def outcome_path(dispute: Dispute) -> str:
    return f"/api/v1/referrals/{dispute.referral}/outcome"


def as_document(data: bytes, filename: str = "decision.pdf") -> dict:
    return {"filename": filename, "content_base64": base64.b64encode(data).decode()}


def mails(app, template: str) -> dict[str, dict]:
    """The queued mails of one template, rendered, by recipient."""
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "mail"))
        return {
            row.destination: render_mail(row.payload)
            for row in rows
            if row.payload["template"] == template
        }


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def page(web, user, path: str) -> str:
    web.login(user.email)
    return web.get(path).get_data(as_text=True)


def test_progress_goes_on_the_timeline_and_to_both_parties(app, web, agency, dispute):
    path = f"/api/v1/referrals/{dispute.referral}/updates"
    answer = agency.post(path, {"status": "hearing_scheduled", "note": "Hearing on 12 January."})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "accepted"
    [event] = [e for e in dispute.events() if e["kind"] == "report_progress"]
    assert event["data"]["status"] == "hearing_scheduled" and event["actor"] == "partner"
    assert dispute.state == "with_partner"
    told = mails(app, "partner_update")
    assert set(told) == {dispute.users["claimant"].email, "shop@merchant.example"}
    assert "Hearing scheduled" in told["shop@merchant.example"]["text"]
    assert "hearing_scheduled" not in told["shop@merchant.example"]["text"]
    assert "Hearing on 12 January." in told[dispute.users["claimant"].email]["text"]
    assert "partner_update" in notice_kinds(app, dispute.users["claimant"])
    assert "Hearing on 12 January." in page(
        web, dispute.users["claimant"], f"/disputes/{dispute.id}"
    )


def test_a_progress_status_must_be_a_code_of_the_vocabulary(app, agency, dispute):
    path = f"/api/v1/referrals/{dispute.referral}/updates"
    for status in ("", "Hearing scheduled!", "hearing_adjourned", "x" * 65, None):
        answer = agency.post(path, {"status": status})
        assert answer.status_code == 422 and "status" in answer.get_json()["errors"], status
    assert "report_progress" not in dispute.kinds()


def test_progress_before_acceptance_is_a_conflict(app, api, agency):
    pending = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    answer = agency.post(f"/api/v1/referrals/{referral}/updates", {"status": "under_review"})
    assert answer.status_code == 409
    assert pending.state == "referred"


def test_a_settled_outcome_resolves_the_dispute_with_summary_amount_and_pdf(
    app, web, agency, dispute
):
    data = pdf()
    answer = agency.post(
        outcome_path(dispute),
        {
            "outcome": "settled",
            "summary": SUMMARY,
            "amount": {"amount": "80.00", "currency": "EUR"},
            "document": as_document(data),
        },
    )
    assert answer.status_code == 200, answer.get_json()
    referral = answer.get_json()
    assert (referral["status"], referral["outcome"]) == ("closed", "settled")
    assert referral["closed_at"] is not None
    assert dispute.state == "resolved"
    [event] = [e for e in dispute.events() if e["kind"] == "report_outcome"]
    assert event["data"]["outcome"] == "settled"
    assert (event["data"]["amount"], event["data"]["currency"]) == (8000, "EUR")
    assert SUMMARY not in str(event["data"])  # free text stays out of the event chain

    claimant = dispute.client("claimant")
    [document] = claimant.get(f"/api/v1/disputes/{dispute.id}/documents").get_json()["items"]
    assert (document["kind"], document["status"]) == ("partner_outcome", "ready")
    assert document["id"] == event["data"]["document"]
    assert claimant.get(f"/api/v1/documents/{document['id']}").data == data
    verified = claimant.get(f"/api/v1/verify/{document['verification_code']}").get_json()
    assert verified["valid"] and verified["kind"] == "partner_outcome"

    shown = page(web, dispute.users["claimant"], f"/disputes/{dispute.id}")
    assert SUMMARY in shown and "已解决" in shown


def test_both_parties_are_told_the_summary_in_their_languages(app, web, agency, dispute):
    state_mails = count(app, OutboxMessage, OutboxMessage.kind == "mail")
    agency.post(outcome_path(dispute), {"outcome": "settled", "summary": SUMMARY})
    # one mail for each party, the outcome's, rather than a plain "state changed" beside it
    assert count(app, OutboxMessage, OutboxMessage.kind == "mail") == state_mails + 2
    told = mails(app, "partner_outcome")
    claimant, merchant = told[dispute.users["claimant"].email], told["shop@merchant.example"]
    assert claimant["language"] == "zh_Hans" and merchant["language"] == "en"
    assert SUMMARY in claimant["text"] and SUMMARY in merchant["text"]
    assert "Schlichtung Online" in claimant["text"]
    assert "已解决" in claimant["subject"] and "Resolved" in merchant["subject"]
    assert "partner_outcome" in notice_kinds(app, dispute.users["respondent"])
    assert SUMMARY in page(web, dispute.users["respondent"], "/notices")


@pytest.mark.parametrize(
    "outcome, state",
    [("awarded", "resolved"), ("unresolved", "unresolved"), ("withdrawn", "withdrawn")],
)
def test_each_outcome_ends_the_dispute_in_its_state(app, agency, dispute, outcome, state):
    answer = agency.post(outcome_path(dispute), {"outcome": outcome, "summary": SUMMARY})
    assert answer.status_code == 200, answer.get_json()
    assert dispute.state == state


def test_the_same_outcome_twice_has_one_effect_and_a_different_one_is_a_conflict(
    app, agency, dispute
):
    body = {"outcome": "settled", "summary": SUMMARY, "document": as_document(pdf())}
    first = agency.post(outcome_path(dispute), body)
    again = agency.post(outcome_path(dispute), body)  # a retry, without an Idempotency-Key
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    other = agency.post(outcome_path(dispute), {**body, "outcome": "unresolved"})
    assert other.status_code == 409
    assert dispute.kinds().count("report_outcome") == 1
    assert count(app, Document, Document.kind == "partner_outcome") == 1
    assert len(mails(app, "partner_outcome")) == 2


def test_the_same_outcome_sent_twice_at_once_has_one_effect(app, agency, dispute):
    body = {"outcome": "unresolved", "summary": SUMMARY}
    answers: list = []
    barrier = threading.Barrier(2)

    def call() -> None:
        client = app.test_client()
        barrier.wait()
        try:
            response = client.post(
                outcome_path(dispute),
                json=body,
                headers={"Authorization": f"Bearer {agency.token}"},
            )
            answers.append(response.status_code)
        except Exception as exc:  # shown in the assertion below
            answers.append(repr(exc))
        with app.app_context():
            db.session.remove()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert dispute.kinds().count("report_outcome") == 1
    assert dispute.state == "unresolved"


def test_a_replayed_idempotency_key_answers_as_before(app, agency, dispute):
    body = {"outcome": "withdrawn", "summary": SUMMARY}
    first = agency.post(outcome_path(dispute), body, **{"Idempotency-Key": "outcome-1"})
    again = agency.post(outcome_path(dispute), body, **{"Idempotency-Key": "outcome-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.get_json() == again.get_json()
    assert dispute.kinds().count("report_outcome") == 1


def _not_a_pdf() -> dict:
    return as_document(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "decision.png")


def _active_pdf() -> dict:
    return as_document(pdf(_launch))


def _too_large() -> dict:
    return as_document(pdf() + b"%" + b"0" * (10 * 1024 * 1024))


@pytest.mark.parametrize(
    "body, field",
    [
        ({"summary": SUMMARY}, "outcome"),
        ({"outcome": "won", "summary": SUMMARY}, "outcome"),
        ({"outcome": "settled"}, "summary"),
        (
            {
                "outcome": "settled",
                "summary": SUMMARY,
                "amount": {"amount": "x", "currency": "EUR"},
            },
            "amount.amount",
        ),
        ({"outcome": "settled", "summary": SUMMARY, "document": "x"}, "document"),
        (
            {"outcome": "settled", "summary": SUMMARY, "document": {"filename": "a.pdf"}},
            "document.content_base64",
        ),
        (
            {
                "outcome": "settled",
                "summary": SUMMARY,
                "document": {"filename": "a.pdf", "content_base64": "not base64!"},
            },
            "document.content_base64",
        ),
        (
            {"outcome": "settled", "summary": SUMMARY, "document": _not_a_pdf()},
            "document.content_base64",
        ),
        (
            {"outcome": "settled", "summary": SUMMARY, "document": _active_pdf()},
            "document.content_base64",
        ),
        (
            {"outcome": "settled", "summary": SUMMARY, "document": _too_large()},
            "document.content_base64",
        ),
        ({"outcome": "settled", "summary": SUMMARY, "verdict": "x"}, "verdict"),
    ],
    ids=[
        "no-outcome",
        "unknown-outcome",
        "no-summary",
        "bad-amount",
        "document-not-object",
        "no-content",
        "not-base64",
        "not-a-pdf",
        "active-pdf",
        "over-10-mb",
        "unknown-field",
    ],
)
def test_a_bad_outcome_names_the_field_and_changes_nothing(app, agency, dispute, body, field):
    answer = agency.post(outcome_path(dispute), body)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert dispute.state == "with_partner"
    assert count(app, Document, Document.kind == "partner_outcome") == 0
    with app.app_context():
        assert db.session.scalar(sa.select(Referral.status)) == "accepted"


def test_a_request_beyond_the_route_limit_is_413_naming_the_document(app, agency, dispute):
    huge = as_document(b"%PDF-" + b"0" * (11 * 1024 * 1024))
    answer = agency.post(
        outcome_path(dispute), {"outcome": "settled", "summary": "x", "document": huge}
    )
    assert answer.status_code == 413 and "document" in answer.get_json()["errors"]
    assert dispute.state == "with_partner"


def test_another_agency_gets_404_and_a_party_403_on_reports(app, agency, dispute):
    other = Agency(app, "Zweite Stelle")
    for step, body in (("updates", {"status": "x"}), ("outcome", {"outcome": "settled"})):
        assert other.post(f"/api/v1/referrals/{dispute.referral}/{step}", body).status_code == 404
        answer = dispute.client("claimant").post(
            f"/api/v1/referrals/{dispute.referral}/{step}", body
        )
        assert answer.status_code == 403
    assert dispute.state == "with_partner"


def test_evidence_added_while_with_the_agency_reaches_it_by_webhook(app, agency, dispute):
    receipt = pdf()
    added = must_upload(dispute.client("claimant"), dispute.id, "receipt.pdf", receipt)
    with app.app_context():
        [row] = db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind == "webhook",
                OutboxMessage.payload["type"].as_string() == "referral.evidence_added",
            )
        )
        payload = row.payload
    told = payload["data"]["evidence"]
    assert (told["id"], told["sha256"]) == (added["id"], added["sha256"])
    assert payload["data"]["referral"] == dispute.referral
    assert agency.get(told["url"]).data == receipt


def test_the_agency_and_case_managers_are_reminded_after_90_days(app, agency, dispute):
    manager = make_user(app, "case_manager")
    dispute.at(clock.now() + timedelta(days=91))
    with app.app_context():
        desk = db.session.scalar(
            sa.select(OutboxMessage.destination).where(
                OutboxMessage.destination == "desk@schlichtung-online.example",
                OutboxMessage.payload["template"].as_string() == "deadline_reminder",
            )
        )
    assert desk is not None
    assert "deadline_reminder" in notice_kinds(app, manager)
    assert dispute.kinds()[-1] == "reminder" and dispute.state == "with_partner"
