"""The API's contract: shapes, pagination, status codes, versions, access."""

from __future__ import annotations

import pytest

from odr.errors import EmailNotConfirmed
from tests.factories import ApiClient, lodge, make_user, token_from_before

OFFER = {"amount": {"amount": "60.00", "currency": "EUR"}, "remedy": "partial_refund", "terms": "t"}


def _parties(app, api):
    consumer = make_user(app, "consumer")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    return api.as_user(consumer), api.as_user(merchant)


def test_me_names_the_caller_and_roles(app, api):
    user = make_user(app, "platform", name="ShopWorld")
    body = api.as_user(user).get("/api/v1/me").get_json()
    assert body["roles"] == ["platform"] and body["name"] == "ShopWorld"


def test_a_lodged_dispute_has_the_design_shape(app, api):
    claimant, _ = _parties(app, api)
    dispute = lodge(claimant, claim__amount={"amount": "99.5", "currency": "EUR"})
    assert set(dispute) >= {
        "id",
        "reference",
        "state",
        "version",
        "deadline_at",
        "governing_law",
        "governing_law_rule",
        "claimant",
        "respondent",
        "order",
        "claim",
        "arbitration_consent",
        "mediator",
        "arbitrator",
        "offers",
        "proposal",
        "actions",
        "referral",
        "created_at",
    }
    assert dispute["claim"]["amount"] == {"amount": "99.50", "currency": "EUR"}
    assert dispute["order"]["total"] == {"amount": "129.90", "currency": "EUR"}
    assert dispute["arbitration_consent"] == {"claimant": False, "respondent": False}
    assert dispute["mediator"] is None and dispute["proposal"] is None
    assert dispute["actions"] == [
        "make_offer",
        "post_message",
        "add_evidence",
        "escalate",
        "withdraw",
        "consent_to_arbitration",
    ]


def test_actions_name_what_the_caller_may_do_now(app, api):
    claimant, respondent = _parties(app, api)
    dispute = lodge(claimant)
    path = f"/api/v1/disputes/{dispute['id']}"
    assert "make_offer" in respondent.get(path).get_json()["actions"]
    offer = respondent.post(f"{path}/offers", OFFER).get_json()
    mine = respondent.get(path).get_json()["actions"]
    theirs = claimant.get(path).get_json()["actions"]
    assert "accept_offer" not in mine and "withdraw" not in mine
    assert {"accept_offer", "reject_offer", "make_offer", "withdraw"} <= set(theirs)
    assert respondent.post(f"{path}/offers/{offer['id']}/accept").status_code == 409


def test_a_new_offer_supersedes_the_partys_open_one(app, api):
    claimant, respondent = _parties(app, api)
    dispute = lodge(claimant)
    path = f"/api/v1/disputes/{dispute['id']}/offers"
    first = respondent.post(path, OFFER).get_json()
    counter = claimant.post(path, {**OFFER, "amount": {"amount": "120", "currency": "EUR"}})
    second = respondent.post(path, {**OFFER, "amount": {"amount": "80", "currency": "EUR"}})
    assert counter.status_code == second.status_code == 201
    offers = {
        o["id"]: o for o in claimant.get(f"/api/v1/disputes/{dispute['id']}").get_json()["offers"]
    }
    assert offers[first["id"]]["status"] == "superseded"
    assert offers[second.get_json()["id"]]["status"] == "open"
    assert offers[counter.get_json()["id"]]["status"] == "open"
    assert respondent.post(f"{path}/{first['id']}/accept").status_code == 409
    assert claimant.post(f"{path}/{first['id']}/accept").status_code == 409


def test_reject_then_escalate_to_mediation(app, api):
    claimant, respondent = _parties(app, api)
    dispute = lodge(claimant)
    path = f"/api/v1/disputes/{dispute['id']}"
    offer = respondent.post(f"{path}/offers", OFFER).get_json()
    rejected = claimant.post(f"{path}/offers/{offer['id']}/reject")
    assert rejected.status_code == 200
    assert rejected.get_json()["offers"][0]["status"] == "rejected"
    escalated = respondent.post(f"{path}/actions/escalate", {"reason": "no agreement"})
    assert escalated.status_code == 200 and escalated.get_json()["state"] == "mediation"


def test_only_the_claimant_withdraws(app, api):
    claimant, respondent = _parties(app, api)
    dispute = lodge(claimant)
    path = f"/api/v1/disputes/{dispute['id']}/actions/withdraw"
    refused = respondent.post(path, {"reason": "x"})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    withdrawn = claimant.post(path, {"reason": "the merchant refunded me"})
    assert withdrawn.get_json()["state"] == "withdrawn" and withdrawn.get_json()["actions"] == []
    again = claimant.post(path)
    assert again.status_code == 409 and again.get_json()["status"] == 409


def test_a_stale_version_is_412_and_changes_nothing(app, api):
    claimant, _ = _parties(app, api)
    dispute = lodge(claimant)
    path = f"/api/v1/disputes/{dispute['id']}"
    stale = claimant.post(f"{path}/actions/withdraw", headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert claimant.get(path).get_json()["state"] == "negotiation"
    fresh = claimant.post(
        f"{path}/actions/withdraw", headers={"If-Match": f'"{dispute["version"]}"'}
    )
    assert fresh.status_code == 200 and fresh.get_json()["version"] == dispute["version"] + 1


def test_strangers_get_404_never_403(app, api):
    claimant, _ = _parties(app, api)
    dispute = lodge(claimant)
    for role in ("consumer", "merchant", "mediator"):
        stranger = api.as_user(make_user(app, role))
        path = f"/api/v1/disputes/{dispute['id']}"
        assert stranger.get(path).status_code == 404
        assert stranger.get(f"{path}/events").status_code == 404
        assert stranger.post(f"{path}/actions/withdraw").status_code == 404
        assert stranger.post(f"{path}/offers", OFFER).status_code == 404
        assert stranger.get("/api/v1/disputes").get_json()["items"] == []


def test_an_unverified_merchant_with_the_named_email_gets_no_token_and_sees_nothing(app, api):
    claimant, _ = _parties(app, api)
    dispute = lodge(claimant, respondent_email="new@merchant.example")
    pretender = make_user(app, "merchant", email="new@merchant.example", verified=False)
    with pytest.raises(EmailNotConfirmed):
        api.as_user(pretender)
    held = ApiClient(app)
    held.token = token_from_before(app, pretender)
    for path in (f"/api/v1/disputes/{dispute['id']}", "/api/v1/disputes"):
        answer = held.get(path)
        assert answer.status_code == 403
        assert answer.get_json()["title"] == "Confirm your e-mail address first."
        assert dispute["reference"] not in answer.get_data(as_text=True)


def test_a_case_manager_sees_every_dispute(app, api):
    claimant, _ = _parties(app, api)
    dispute = lodge(claimant)
    manager = api.as_user(make_user(app, "case_manager"))
    body = manager.get(f"/api/v1/disputes/{dispute['id']}").get_json()
    assert body["actions"] == ["set_governing_law"]  # in negotiation, the only thing theirs to do


def test_pages_of_disputes_have_no_gaps_or_repeats(app, api):
    claimant, _ = _parties(app, api)
    lodged = [lodge(claimant)["id"] for _ in range(7)]
    seen, cursor = [], None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = claimant.get(f"/api/v1/disputes{query}").get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        lodge(claimant)  # a newer dispute arriving between pages does not shift older ones
    assert seen == list(reversed(lodged))


def test_bad_paging_is_named(app, api):
    claimant, _ = _parties(app, api)
    assert claimant.get("/api/v1/disputes?limit=0").get_json()["errors"].keys() == {"limit"}
    assert claimant.get("/api/v1/disputes?cursor=%%%").get_json()["errors"].keys() == {"cursor"}
    for limit in ("%C2%B3", "%D9%A3", "1e2", "0x10"):  # '³' and '٣' pass str.isdigit, not int()
        response = claimant.get(f"/api/v1/disputes?limit={limit}")
        assert response.status_code == 422 and response.get_json()["errors"].keys() == {"limit"}


def test_unknown_api_routes_are_problems(app, api):
    claimant, _ = _parties(app, api)
    response = claimant.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_method_a_route_does_not_take_is_a_405_that_says_which_it_takes(app, api):
    claimant, _ = _parties(app, api)
    response = claimant.client.delete("/api/v1/disputes")
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
