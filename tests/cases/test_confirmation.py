"""Binding acts ask first (issue 14, item 4): on the web pages, the first press of a binding act
shows what it will do, with the amount, the date and its time zone, and changes nothing; only the
second, explicit press with the version that was read does it, and a stale one is refused."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest

from odr import clock
from odr.cases.confirmation import BINDING_ACTS, SUMMARIES, step
from tests.factories import Dispute, make_neutral

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
DUE = date(2026, 12, 20)
MERCHANT = "Bergmann GmbH"
OFFER = {
    "amount": {"amount": "1299.50", "currency": "EUR"},
    "remedy": "refund",
    "terms": "The merchant refunds the price.",
    "performance_due": DUE.isoformat(),
}
PROPOSAL = {"amount": "80.00", "due_in_days": 15}  # 20 Dec
PAYS = f"{MERCHANT} pays €1,299.50 by Dec 20, 2026, 23:59 (Europe/Berlin)."
PAYS_PROPOSED = f"{MERCHANT} pays €80.00 by Dec 20, 2026, 23:59 (Europe/Berlin)."
CHANGED = "The dispute changed while you were looking at it."


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.travel_to(NOW):
        yield


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def confirm_form(response) -> dict[str, str]:
    """The hidden fields of the confirmation step's form, as the browser would send them."""
    page = response.get_data(as_text=True)
    form = re.search(r'<form method="post" action="[^"]+" class="confirm">(.*?)</form>', page, re.S)
    assert form, "no confirmation form on the page"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1))
    return {name: html.unescape(value) for name, value in fields}


def dispute_against_bergmann(app, api, **lodging) -> Dispute:
    return Dispute(app, api, respondent__name=MERCHANT, respondent__country="DE", **lodging)


def signed_in(make_web, user):
    web = make_web()
    web.login(user.email)
    return web


class Step:
    """One binding act on the web: the first press, then the confirmation."""

    def __init__(self, web, dispute: Dispute, path: str) -> None:
        self.web, self.dispute, self.path = web, dispute, f"/disputes/{dispute.id}{path}"

    def first(self, **fields: str):
        version = str(self.dispute.read()["version"])
        return self.web.post(self.path, {"version": version, **fields})

    def asked(self, must_say: list[str], **fields: str) -> dict[str, str]:
        """Press once: the summary, nothing changed; the confirming form's fields."""
        before = self.dispute.read()
        answer = self.first(**fields)
        assert answer.status_code == 200, text(answer)[:500]
        page = text(answer)
        for sentence in must_say:
            assert sentence in page, (sentence, page[page.find("<main") :][:3000])
        after = self.dispute.read()
        assert (after["state"], after["version"]) == (before["state"], before["version"])
        return confirm_form(answer)

    def confirm(self, form: dict[str, str]):
        return self.web.post(self.path, {**form, "confirm": "yes"})

    def refused_as_stale(self, form: dict[str, str]) -> None:
        state = self.dispute.state
        answer = self.confirm(form)
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"/disputes/{self.dispute.id}"
        assert CHANGED in text(self.web.get(answer.headers["Location"]))
        assert self.dispute.state == state


def offer_from_merchant(dispute: Dispute) -> str:
    made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", OFFER)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def stir(dispute: Dispute, who: str = "respondent") -> None:
    """Someone else acts meanwhile: the case's version moves on."""
    dispute.must(who, "post_message", body="Meanwhile, a message.")


# ---- the rule ------------------------------------------------------------------------------------


def test_every_binding_act_has_its_summary():
    assert set(SUMMARIES) == BINDING_ACTS
    assert {"accept_offer", "withdraw", "recuse", "fail_mediation"} <= BINDING_ACTS


@pytest.mark.parametrize(
    "action, form, expected",
    [
        ("escalate", {}, "act"),
        ("withdraw", {}, "ask"),
        ("withdraw", {"version": "3"}, "ask"),
        ("withdraw", {"confirm": "yes"}, "ask"),  # without the version that was read
        ("withdraw", {"confirm": "1", "version": "3"}, "ask"),
        ("withdraw", {"confirm": "yes", "version": "3"}, "act"),
        ("withdraw", {"confirm": "no", "version": "3"}, "back"),
        ("accept_offer", {"confirm": "yes", "version": "3"}, "act"),
    ],
)
def test_only_an_explicit_confirmation_with_the_version_acts(action, form, expected):
    assert step(action, form) == expected


# ---- each act, through the web client ------------------------------------------------------------


def test_accepting_an_offer_says_who_pays_what_by_when_and_settles_only_when_confirmed(
    app, api, make_web
):
    dispute = dispute_against_bergmann(app, api)
    offer_id = offer_from_merchant(dispute)
    web = signed_in(make_web, dispute.users["claimant"])
    accept = Step(web, dispute, f"/offers/{offer_id}/accept")

    form = accept.asked(
        [
            f"This settles the dispute {dispute.data['reference']} with {MERCHANT}",
            PAYS,
            "It is binding: you cannot take it back.",
            "The merchant refunds the price.",
        ]
    )
    for pressed in ({}, {"confirm": "yes"}, {"confirm": "true", "version": form["version"]}):
        assert web.post(accept.path, pressed).status_code == 200  # asked again, nothing done
    assert dispute.state == "negotiation"

    stir(dispute)
    accept.refused_as_stale(form)

    went_back = web.post(accept.path, {**form, "confirm": "no"})
    assert went_back.status_code == 303 and went_back.headers["Location"].endswith(dispute.id)
    assert dispute.state == "negotiation"

    done = accept.confirm(accept.asked([PAYS]))
    assert done.status_code == 303
    assert dispute.state == "settled"
    assert dispute.read()["performance_due_at"] == "2026-12-20T23:59:59+01:00"


def test_an_offer_without_a_date_states_the_default_it_will_get(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    undated = {key: value for key, value in OFFER.items() if key != "performance_due"}
    made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", undated)
    web = signed_in(make_web, dispute.users["claimant"])
    accept = Step(web, dispute, f"/offers/{made.get_json()['id']}/accept")
    accept.confirm(
        accept.asked([f"{MERCHANT} pays €1,299.50 by Dec 19, 2026, 23:59 (Europe/Berlin)."])
    )
    assert dispute.read()["performance_due"] == "2026-12-19"  # what the step said


def test_rejecting_an_offer_does_not_ask(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    offer_id = offer_from_merchant(dispute)
    web = signed_in(make_web, dispute.users["claimant"])
    rejected = Step(web, dispute, f"/offers/{offer_id}/reject").first()
    assert rejected.status_code == 303
    assert dispute.read()["offers"][0]["status"] == "rejected"


def test_a_proposal_binds_each_party_and_settles_when_both_accepted(app, api, make_web):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = dispute_against_bergmann(app, api)
    dispute.to_mediation()
    dispute.propose(mediator, **PROPOSAL)
    consumer = Step(
        signed_in(make_web, dispute.users["claimant"]), dispute, "/actions/accept_proposal"
    )
    merchant = Step(
        signed_in(make_web, dispute.users["respondent"]), dispute, "/actions/accept_proposal"
    )

    form = consumer.asked(
        [
            f"You accept the mediator's proposal. {MERCHANT} has not accepted it yet",
            PAYS_PROPOSED,
            f"If {MERCHANT} declines the proposal, mediation goes on.",
            "you cannot take it back or decline the proposal later",
        ]
    )
    stir(dispute)
    consumer.refused_as_stale(form)
    consumer.confirm(consumer.asked([PAYS_PROPOSED]))
    assert dispute.state == "mediation"
    assert dispute.read()["proposal"]["answers"]["claimant"] == "accepted"

    claimant_name = dispute.data["claimant"]["name"]
    merchant.confirm(
        merchant.asked(
            [
                f"{claimant_name} has already accepted the mediator's proposal: your acceptance "
                f"settles the dispute {dispute.data['reference']}",
                PAYS_PROPOSED,
                "It is binding",
            ]
        )
    )
    assert dispute.state == "settled"


def test_withdrawing_says_it_ends_the_dispute_for_good_and_carries_the_reason(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    withdraw = Step(signed_in(make_web, dispute.users["claimant"]), dispute, "/actions/withdraw")
    reason = 'The shop refunded me after all ("goodwill").'
    form = withdraw.asked(
        [
            f"ends the dispute {dispute.data['reference']} against {MERCHANT} for good",
            "Your claim (Full refund, €129.90) is no longer pursued",
            reason,
            "It is final: you cannot undo it.",
        ],
        reason=reason,
    )
    assert form["reason"] == reason  # carried to the confirming form, as typed
    stir(dispute)
    withdraw.refused_as_stale(form)
    withdraw.confirm(withdraw.asked([reason], reason=reason))
    assert dispute.state == "withdrawn"
    assert dispute.events()[-1]["kind"] == "withdraw"


def test_consenting_to_arbitration_says_the_award_will_bind(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    consent = Step(
        signed_in(make_web, dispute.users["claimant"]), dispute, "/actions/consent_to_arbitration"
    )
    form = consent.asked(
        [
            "an arbitrator decides it, and that the arbitrator's award binds you",
            f"{MERCHANT} has not consented yet: arbitration needs the consent of both parties.",
            "you cannot take your consent back",
        ]
    )
    stir(dispute)
    consent.refused_as_stale(form)
    consent.confirm(consent.asked([]))
    assert dispute.case().claimant_arbitration_consent is True


def settled(app, api, **lodging) -> Dispute:
    dispute = dispute_against_bergmann(app, api, **lodging)
    offer_id = offer_from_merchant(dispute)
    accepted = dispute.client("claimant").post(
        f"/api/v1/disputes/{dispute.id}/offers/{offer_id}/accept"
    )
    assert accepted.get_json()["state"] == "settled"
    return dispute


def test_confirming_performance_restates_the_terms_and_closes_the_dispute(app, api, make_web):
    dispute = settled(app, api)
    confirm = Step(
        signed_in(make_web, dispute.users["claimant"]), dispute, "/actions/confirm_performance"
    )
    form = confirm.asked(
        [
            f"You confirm that {MERCHANT} has done what the settlement requires:",
            PAYS,
            "is then closed as resolved, and you can no longer report a breach",
        ]
    )
    stir(dispute)
    confirm.refused_as_stale(form)
    confirm.confirm(confirm.asked([PAYS]))
    assert dispute.state == "resolved"


def test_reporting_a_breach_says_where_it_leads(app, api, make_web):
    dispute = settled(app, api)
    report = Step(signed_in(make_web, dispute.users["claimant"]), dispute, "/actions/report_breach")
    note = "Nothing arrived."
    form = report.asked(
        [
            f"You report that {MERCHANT} has not done what was agreed:",
            PAYS,
            "not complied with",
            note,
        ],
        note=note,
    )
    stir(dispute)
    report.refused_as_stale(form)
    report.confirm(report.asked([], note=note))
    assert dispute.state == "non_compliant"


def test_recusing_says_the_case_goes_back_for_reassignment(app, api, make_web):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = dispute_against_bergmann(app, api)
    dispute.to_mediation()
    assert dispute.read()["mediator"]["id"] == mediator.id
    recuse = Step(signed_in(make_web, mediator), dispute, "/actions/recuse")
    reason = "I advised the merchant last year."
    form = recuse.asked(
        [
            f"You step down as the mediator of the dispute {dispute.data['reference']}.",
            "another mediator is chosen by the rules, never you again",
            reason,
        ],
        reason=reason,
    )
    stir(dispute)
    recuse.refused_as_stale(form)
    done = recuse.confirm(recuse.asked([], reason=reason))
    assert done.status_code == 303 and done.headers["Location"] == "/disputes"
    assert "recuse" in dispute.kinds()


@pytest.mark.parametrize(
    "both_consented, says, ends_in",
    [
        (True, "so the dispute goes to arbitration", "arbitration"),
        (False, "so the dispute is closed as unresolved, for good", "unresolved"),
    ],
)
def test_failing_mediation_says_what_really_follows(
    app, api, make_web, both_consented, says, ends_in
):
    mediator = make_neutral(app, "mediator", ["en"])
    make_neutral(app, "arbitrator", ["en"])
    dispute = dispute_against_bergmann(app, api, arbitration_consent=both_consented)
    if both_consented:
        dispute.must("respondent", "consent_to_arbitration")
    dispute.to_mediation()
    fail = Step(signed_in(make_web, mediator), dispute, "/actions/fail_mediation")
    form = fail.asked(
        [f"between {dispute.data['claimant']['name']} and {MERCHANT} ends without agreement", says],
        note="No agreement in sight.",
    )
    stir(dispute, "claimant")
    fail.refused_as_stale(form)
    fail.confirm(fail.asked([says], note="No agreement in sight."))
    assert dispute.state == ends_in


# ---- never fired without confirmation; refused as before ---------------------------------------


def test_no_binding_act_fires_without_the_confirmation(app, api, make_web):
    dispute = settled(app, api)
    web = signed_in(make_web, dispute.users["claimant"])
    version = str(dispute.read()["version"])
    path = f"/disputes/{dispute.id}/actions/confirm_performance"
    for form in ({}, {"version": version}, {"confirm": "yes"}, {"confirm": "", "version": version}):
        assert web.post(path, form).status_code == 200
    assert dispute.state == "settled" and dispute.read()["version"] == int(version)


def test_a_first_press_that_cannot_succeed_is_refused_as_before(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    web = signed_in(make_web, dispute.users["claimant"])
    path = f"/disputes/{dispute.id}/actions/confirm_performance"  # not while negotiating
    refused = web.post(path, {"version": str(dispute.read()["version"])})
    assert refused.status_code == 303
    assert "not possible at this stage" in text(web.get(refused.headers["Location"]))
    merchant = signed_in(make_web, dispute.users["respondent"])
    forbidden = merchant.post(f"/disputes/{dispute.id}/actions/withdraw", {})
    assert forbidden.status_code == 403  # only the consumer may withdraw


def test_the_address_of_a_confirmation_step_leads_back_to_the_dispute(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    web = signed_in(make_web, dispute.users["claimant"])
    for path in ("/actions/withdraw", "/offers/some-offer/accept"):
        answer = web.get(f"/disputes/{dispute.id}{path}")
        assert answer.status_code == 302 and answer.headers["Location"].endswith(dispute.id)


# ---- the dispute page -------------------------------------------------------------------------


def test_binding_buttons_come_after_harmless_ones_and_say_they_bind(app, api, make_web):
    dispute = dispute_against_bergmann(app, api)
    offer_from_merchant(dispute)
    page = signed_in(make_web, dispute.users["claimant"]).get(f"/disputes/{dispute.id}")
    page = page.get_data(as_text=True)

    actions = page[
        page.index('id="actions-h"') : page.index("</section>", page.index('id="actions-h"'))
    ]
    buttons = re.findall(r"<button[^>]*>", actions)
    assert buttons and "binding" not in buttons[0]  # escalate, before withdraw and consent
    assert sum("binding" in button for button in buttons) == 2
    assert actions.count("Binding: you will be asked to confirm") == 2

    offers = page[page.index('id="offers-h"') :]
    row_buttons = re.findall(r"<button[^>]*>([^<]*)</button>", offers)
    assert row_buttons[:2] == ["Reject offer", "Accept offer"]
    assert re.search(r'<button type="submit" class="binding"[^>]*>Accept offer', offers)
