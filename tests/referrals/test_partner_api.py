"""The partner API: an agency lists and reads its referrals, accepts or declines them; another
agency sees nothing of them and a consumer may not ask."""

from __future__ import annotations

import threading

from odr.extensions import db
from tests.referrals.agency import GERMAN_LAW, Agency, referred


def test_the_agency_reads_its_referral_with_the_package(app, api):
    agency = Agency(app, "Schlichtung Online")
    dispute, _claimant = referred(app, api)
    listed = agency.get("/api/v1/referrals")
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert item["status"] == "pending" and item["accept_by"] is not None
    package = item["dispute"]
    assert package["reference"] == dispute["reference"]
    assert package["governing_law"] == "DE"
    assert package["claim"]["amount"] == {"amount": "129.90", "currency": "EUR"}
    assert package["claimant"]["email"].endswith("@example.com")
    assert item["transfer"]["basis"]["kind"] == "consent"
    assert agency.get(f"/api/v1/referrals/{item['id']}").get_json() == item


def test_another_agency_gets_404_and_a_consumer_403(app, api):
    first = Agency(app, "Schlichtung Online")
    second = Agency(app, "Zweite Stelle")
    _dispute, claimant = referred(app, api)
    [item] = first.get("/api/v1/referrals").get_json()["items"]
    assert second.get("/api/v1/referrals").get_json()["items"] == []
    for path in ("", "/evidence/x"):
        assert second.get(f"/api/v1/referrals/{item['id']}{path}").status_code == 404
    for step in ("accept", "decline"):
        answer = second.post(f"/api/v1/referrals/{item['id']}/{step}", {})
        assert answer.status_code == 404
    assert claimant.get("/api/v1/referrals").status_code == 403
    assert claimant.get(f"/api/v1/referrals/{item['id']}").status_code == 403


def test_accepting_moves_the_dispute_to_the_partner_and_is_idempotent(app, api):
    agency = Agency(app, "Schlichtung Online")
    dispute, claimant = referred(app, api)
    [item] = agency.get("/api/v1/referrals").get_json()["items"]
    path = f"/api/v1/referrals/{item['id']}/accept"
    missing = agency.post(path, {})
    assert missing.status_code == 422 and "partner_reference" in missing.get_json()["errors"]
    first = agency.post(path, {"partner_reference": "SOS-2026-17"}, **{"Idempotency-Key": "k1"})
    again = agency.post(path, {"partner_reference": "SOS-2026-17"}, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert first.get_json()["status"] == "accepted"
    assert first.get_json()["partner_reference"] == "SOS-2026-17"
    state = claimant.get(f"/api/v1/disputes/{dispute['id']}").get_json()["state"]
    assert state == "with_partner"
    assert (
        agency.post(f"/api/v1/referrals/{item['id']}/decline", {"reason": "late"}).status_code
        == 409
    )


def test_a_decline_sends_the_dispute_home(app, api):
    agency = Agency(app, "Schlichtung Online")
    dispute, claimant = referred(app, api)
    [item] = agency.get("/api/v1/referrals").get_json()["items"]
    declined = agency.post(f"/api/v1/referrals/{item['id']}/decline", {"reason": "Not our field."})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    state = claimant.get(f"/api/v1/disputes/{dispute['id']}").get_json()["state"]
    assert state == "negotiation"
    events = claimant.get(f"/api/v1/disputes/{dispute['id']}/events").get_json()["items"]
    declined_event = next(e for e in events if e["kind"] == "decline_referral")
    assert declined_event["data"]["foreign_law_note"] == "referral_declined"
    assert agency.get(f"/api/v1/disputes/{dispute['id']}").status_code == 404  # no longer theirs


def test_accept_racing_decline_one_wins_the_other_gets_409(app, api):
    agency = Agency(app, "Schlichtung Online")
    referred(app, api)
    [item] = agency.get("/api/v1/referrals").get_json()["items"]
    answers: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def call(step: str, body: dict) -> None:
        client = Agency.__new__(Agency)
        client.token, client.client = agency.token, app.test_client()
        barrier.wait()
        try:
            answers[step] = client.post(f"/api/v1/referrals/{item['id']}/{step}", body).status_code
        except Exception as exc:  # shown in the assertion below
            answers[step] = repr(exc)
        with app.app_context():
            db.session.remove()

    threads = [
        threading.Thread(target=call, args=("accept", {"partner_reference": "R-1"})),
        threading.Thread(target=call, args=("decline", {"reason": "busy"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values(), key=str) == [200, 409], answers


def test_the_referral_list_costs_the_same_queries_for_2_or_12_referrals(app, api):
    from tests.cases.test_query_count import _queries_for
    from tests.factories import lodge, make_user

    agency = Agency(app, "Schlichtung Online")
    claimant = api.as_user(make_user(app, "consumer"))

    def refer(count: int) -> None:
        for _ in range(count):
            lodge(claimant, law=GERMAN_LAW, transfer_consent=True)

    def listing():
        return lambda: agency.get("/api/v1/referrals")

    refer(2)
    few = _queries_for(app, listing())
    refer(10)
    assert len(agency.get("/api/v1/referrals").get_json()["items"]) == 12
    assert _queries_for(app, listing()) == few
