"""A foreign-law dispute with consent to transfer goes to the partner agency of that country."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from odr import clock
from odr.extensions import db
from odr.referrals.directory import add_partner
from odr.referrals.models import Referral
from odr.referrals.services import TRANSFER_CONSENT_WORDING
from tests.factories import lodge, make_user

GERMAN_LAW = {"consumer_chose_merchant_law": True}  # the merchant is in Germany


def agency(app, name: str, countries=("DE",), languages=("de",)) -> str:
    with app.app_context():
        partner, _user, _token, _secret = add_partner(
            name=name,
            countries=list(countries),
            languages=list(languages),
            webhook_url=f"https://{name.lower().replace(' ', '-')}.example/hooks",
            legal_basis="EU GDPR art. 49(1)(a): explicit consent",
            user_email=f"desk@{name.lower().replace(' ', '-')}.example",
        )
        return partner.public_id


def referral_of(app, dispute) -> Referral | None:
    with app.app_context():
        referral = db.session.scalar(
            sa.select(Referral).where(Referral.case_id == _case_id(dispute))
        )
        if referral is not None:
            db.session.expunge(referral)
        return referral


def _case_id(dispute) -> int:
    from odr.cases.models import Case

    return db.session.scalar(sa.select(Case.id).where(Case.public_id == dispute["id"]))


def test_with_consent_and_a_partner_the_dispute_is_referred_with_a_transfer_record(app, api):
    partner_id = agency(app, "Schlichtung Online")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert (dispute["state"], dispute["governing_law"]) == ("referred", "DE")
    referral = referral_of(app, dispute)
    assert referral.status == "pending"
    transfer = referral.transfer
    assert transfer["country"] == "DE" and transfer["partner"] == "Schlichtung Online"
    assert transfer["basis"]["kind"] == "consent"
    assert transfer["basis"]["wording"] == TRANSFER_CONSENT_WORDING
    assert transfer["basis"]["given_at"] is not None
    assert transfer["partner_basis"].startswith("EU GDPR")
    assert any("claimant" in item for item in transfer["data"])
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert events[0]["data"]["foreign_law_note"] == "referred_to_partner"
    assert events[0]["data"]["referral"] == referral.public_id
    with app.app_context():
        from odr.delivery.models import OutboxMessage

        [hook] = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook")
        ).all()
        assert hook.destination == partner_id
        assert hook.payload["type"] == "referral.created"
        assert hook.payload["data"]["referral"] == referral.public_id


def test_without_consent_it_stays_at_home_with_a_note(app, api):
    agency(app, "Schlichtung Online")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=False)
    assert dispute["state"] == "negotiation"
    assert referral_of(app, dispute) is None
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert events[0]["data"]["foreign_law_note"] == "no_transfer_consent"


def test_a_partner_for_another_country_or_a_disabled_one_is_not_used(app, api):
    agency(app, "Austria ODR", countries=("AT",))
    with app.app_context():
        from odr.referrals.directory import disable_partner, find_partner

        disable_partner(find_partner(agency(app, "Closed agency")), "contract ended")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert dispute["state"] == "negotiation"
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert events[0]["data"]["foreign_law_note"] == "no_partner_handled_at_home"


def test_a_partner_speaking_a_party_language_comes_first_then_the_shorter_backlog(app, api):
    agency(app, "French speakers", languages=("fr",))
    busy = agency(app, "German busy", languages=("de", "en"))
    free = agency(app, "German free", languages=("de", "en"))
    claimant = api.as_user(make_user(app, "consumer"))
    first = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    second = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    with app.app_context():
        from odr.referrals.models import Partner

        chosen = [
            db.session.scalar(
                sa.select(Partner.public_id).where(Partner.id == referral_of(app, d).partner_id)
            )
            for d in (first, second)
        ]
    assert chosen == [busy, free]  # English spoken by the claimant; then the lighter backlog


def test_a_case_manager_refers_a_screened_filing_and_an_unanswered_referral_comes_home(app, api):
    from datetime import timedelta

    from odr import clock
    from odr.sweep import sweep

    partner_id = agency(app, "Schlichtung Online")
    manager = api.as_user(make_user(app, "case_manager"))
    claimant = api.as_user(make_user(app, "consumer"))
    flagged = {"amount": "500", "currency": "EUR"}
    consented = lodge(claimant, law=GERMAN_LAW, transfer_consent=True, claim__amount=flagged)
    refused = lodge(claimant, law=GERMAN_LAW, transfer_consent=False, claim__amount=flagged)
    assert consented["state"] == refused["state"] == "filed"

    def actions(dispute):
        return manager.get(f"/api/v1/disputes/{dispute['id']}").get_json()["actions"]

    assert "refer" in actions(consented) and "refer" not in actions(refused)
    no = manager.post(f"/api/v1/disputes/{refused['id']}/actions/refer", {})
    assert no.status_code == 409
    wrong = manager.post(
        f"/api/v1/disputes/{consented['id']}/actions/refer", {"partner_id": "no-such-agency"}
    )
    assert wrong.status_code == 409
    done = manager.post(
        f"/api/v1/disputes/{consented['id']}/actions/refer", {"partner_id": partner_id}
    )
    assert done.status_code == 200 and done.get_json()["state"] == "referred"
    assert referral_of(app, consented).status == "pending"

    with app.app_context(), clock.travel_to(clock.now() + timedelta(days=5, minutes=1)):
        assert sweep()["timeouts"] >= 1
    assert manager.get(f"/api/v1/disputes/{consented['id']}").get_json()["state"] == "negotiation"
    assert referral_of(app, consented).status == "expired"
    events = manager.get(f"/api/v1/disputes/{consented['id']}/events").get_json()["items"]
    assert events[-1]["data"]["foreign_law_note"] == "referral_expired"
    with app.app_context():
        from odr.delivery.models import OutboxMessage

        kinds = db.session.scalars(
            sa.select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "webhook")
            .order_by(OutboxMessage.id)
        ).all()
        assert [k["type"] for k in kinds] == ["referral.created", "referral.expired"]


def test_a_case_manager_sets_the_governing_law_with_a_reason_then_refers(app, api):
    agency(app, "Schlichtung Online")
    manager = api.as_user(make_user(app, "case_manager"))
    claimant = api.as_user(make_user(app, "consumer"))
    flagged = {"amount": "500", "currency": "EUR"}
    dispute = lodge(claimant, transfer_consent=True, claim__amount=flagged)  # Chinese law
    assert (dispute["governing_law"], dispute["state"]) == ("CN", "filed")
    path = f"/api/v1/disputes/{dispute['id']}/actions/set_governing_law"
    assert claimant.post(path, {"country": "DE", "reason": "x"}).status_code == 403
    missing = manager.post(path, {"country": "XX"})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"country", "reason"}
    done = manager.post(path, {"country": "de", "reason": "The consumer chose German law."})
    assert done.status_code == 200
    body = done.get_json()
    assert (body["governing_law"], body["governing_law_rule"]) == ("DE", "case_manager_override")
    events = manager.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    assert events[-1]["kind"] == "set_governing_law"
    assert events[-1]["data"]["previous"] == ["CN", "consumer_habitual_residence"]
    refer = f"/api/v1/disputes/{dispute['id']}/actions/refer"
    assert manager.post(refer, {}).get_json()["state"] == "referred"


def test_the_claimants_withdrawal_withdraws_the_referral_and_tells_the_agency(app, api):
    agency(app, "Schlichtung Online")
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert dispute["state"] == "referred"
    done = claimant.post(
        f"/api/v1/disputes/{dispute['id']}/actions/withdraw", {"reason": "settled directly"}
    )
    assert done.status_code == 200 and done.get_json()["state"] == "withdrawn"
    assert referral_of(app, dispute).status == "withdrawn"
    with app.app_context():
        from odr.delivery.models import OutboxMessage

        kinds = db.session.scalars(
            sa.select(OutboxMessage.payload)
            .where(OutboxMessage.kind == "webhook")
            .order_by(OutboxMessage.id)
        ).all()
        assert [k["type"] for k in kinds] == ["referral.created", "referral.withdrawn"]


def _webhooks(app) -> list[tuple[str, str]]:
    """(event type, destination agency) of every webhook written, in order."""
    from odr.delivery.models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(
            sa.select(OutboxMessage.payload, OutboxMessage.destination)
            .where(OutboxMessage.kind == "webhook")
            .order_by(OutboxMessage.id)
        ).all()
    return [(payload["type"], destination) for payload, destination in rows]


def test_a_case_manager_refers_a_dispute_handled_at_home_once_an_agency_exists(app, api):
    manager = api.as_user(make_user(app, "case_manager"))
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert dispute["state"] == "negotiation"  # no agency for German law yet
    path = f"/api/v1/disputes/{dispute['id']}/actions/refer"
    assert manager.post(path, {}).status_code == 409
    partner_id = agency(app, "Schlichtung Online")
    referred = manager.post(path, {})
    assert referred.status_code == 200 and referred.get_json()["state"] == "referred"
    assert _webhooks(app) == [("referral.created", partner_id)]


def test_a_case_manager_sends_a_pending_referral_to_another_agency(app, api):
    first = agency(app, "Schlichtung Online", languages=("en",))
    second = agency(app, "Zweite Stelle", languages=("fr",))
    manager = api.as_user(make_user(app, "case_manager"))
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, law=GERMAN_LAW, transfer_consent=True)
    assert referral_of(app, dispute).partner_id == _partner_pk(app, first)  # speaks English
    path = f"/api/v1/disputes/{dispute['id']}/actions/reroute"
    assert manager.post(path, {}).status_code == 422  # a reason is required

    later = clock.now() + timedelta(days=3)
    with clock.travel_to(later):
        moved = manager.post(path, {"reason": "The first agency has a conflict of interest."})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["state"] == "referred"
    assert body["referral"]["partner"]["id"] == second
    assert body["deadline_at"] == (later + timedelta(days=5)).isoformat()  # 5 days afresh
    with app.app_context():
        statuses = db.session.execute(
            sa.select(Referral.partner_id, Referral.status).order_by(Referral.id)
        ).all()
    assert [status for _partner, status in statuses] == ["withdrawn", "pending"]
    assert _webhooks(app) == [
        ("referral.created", first),
        ("referral.withdrawn", first),
        ("referral.created", second),
    ]
    again = manager.post(path, {"reason": "back", "partner_id": second})  # it holds it already
    assert again.status_code == 409


def _partner_pk(app, public_id: str) -> int:
    from odr.referrals.models import Partner

    with app.app_context():
        return db.session.scalar(sa.select(Partner.id).where(Partner.public_id == public_id))
