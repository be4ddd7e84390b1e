"""A mail at every step that matters (issue 14, item 8): to the person who must know, in their
language, with the date, its time zone and what to do; the settlement agreement or award attached
once rendered; one reminder 48 hours before a deadline that acts by itself; the outcome. The
invitation says who we are, who lodged, by when to answer and what happens if nobody does."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from odr import clock
from tests.e2e.conftest import translated
from tests.factories import Dispute, lodge, make_neutral, make_user, notice_kinds
from tests.referrals.agency import GERMAN_LAW, Agency

SHOP = "shop@merchant.example"  # the respondent of every dispute here: Germany, Berlin time
MERCHANT = "Rheinland Electronics GmbH"
LODGED_AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # negotiation ends 7 days later, 09:00 UTC
DUE = date(2026, 12, 20)
OFFER = {
    "amount": {"amount": "1299.50", "currency": "EUR"},
    "remedy": "refund",
    "terms": "The merchant refunds the price.",
}
# The claimants are in China (the factory's country, no zone chosen): Beijing time.
ANSWER_BY_IN_BERLIN = "Dec 11, 2026, 10:00 (Europe/Berlin)"
ANSWER_BY_IN_BEIJING = "Dec 11, 2026, 17:00 (Asia/Shanghai)"


# ---- helpers ------------------------------------------------------------------------------------


def text_of(message) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def html_of(message) -> str:
    return " ".join(message.get_body(("html",)).get_content().split())


def mails(mailbox, address: str, subject: str) -> list:
    """The mails to `address` whose subject contains `subject`."""
    return [m for m in mailbox.to(address) if subject in m["Subject"]]


def lodged(app, api, **lodging) -> Dispute:
    with clock.travel_to(LODGED_AT):
        return Dispute(app, api, **lodging)


def settled(app, api, **lodging) -> Dispute:
    """Settled on 5 Dec by the merchant's offer, accepted by the claimant: perform by 20 Dec."""
    dispute = lodged(app, api, **lodging)
    with clock.travel_to(LODGED_AT + timedelta(days=1)):
        offer = dict(OFFER, performance_due=DUE.isoformat())
        made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", offer)
        assert made.status_code == 201, made.get_json()
        accept = f"/api/v1/disputes/{dispute.id}/offers/{made.get_json()['id']}/accept"
        assert dispute.client("claimant").post(accept).get_json()["state"] == "settled"
    return dispute


def in_mediation(app, api, **lodging) -> tuple[Dispute, object]:
    """Escalated to mediation on 5 Dec 09:00 UTC; a mediator is assigned at once."""
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = lodged(app, api, **lodging)
    with clock.travel_to(LODGED_AT + timedelta(days=1)):
        dispute.to_mediation()
    return dispute, mediator


def pdf_attachment(message) -> bytes:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().endswith(".pdf")
    return attachment.get_content()


# ---- lodging: the receipt and the invitation ----------------------------------------------------


def test_the_claimant_gets_a_receipt_with_the_reference_and_what_happens_by_when(app, api, mailbox):
    dispute = lodged(app, api)
    claimant = dispute.users["claimant"].email
    reference = dispute.data["reference"]

    [receipt] = mails(mailbox, claimant, "We have received your dispute")
    assert reference in receipt["Subject"]
    body = text_of(receipt)
    assert f"Its reference is {reference}" in body
    assert f"{MERCHANT} has until {ANSWER_BY_IN_BEIJING} to answer." in body
    assert "mediation starts by itself" in body
    assert f"https://odr.test/disputes/{dispute.id}" in body
    assert ANSWER_BY_IN_BEIJING in html_of(receipt)
    assert len(mailbox.to(claimant)) == 1  # and nothing else: the notices are the merchant's


def test_the_receipt_reads_in_the_claimants_chinese(app, api, mailbox):
    zh = "zh_Hans"
    dispute = lodged(app, api, claimant_language=zh)
    reference = dispute.data["reference"]

    [receipt] = mailbox.to(dispute.users["claimant"].email)
    assert receipt["Content-Language"] == zh
    subject = translated(zh, "We have received your dispute %(reference)s")
    assert receipt["Subject"] == subject % {"reference": reference}
    body = text_of(receipt)
    assert translated(zh, "Reference: %(reference)s") % {"reference": reference} in body
    assert "编号" in body or "参考" in body  # Chinese text, not English
    assert "2026年12月11日" in body and "17:00" in body and "Asia/Shanghai" in body


def test_the_invitation_says_who_we_are_who_lodged_by_when_and_how_to_check_it(app, api, mailbox):
    consumer = make_user(app, "consumer", name="Li Wei")
    with clock.travel_to(LODGED_AT):
        dispute = lodge(api.as_user(consumer), respondent_email="new@merchant.example")

    [invitation] = mailbox.to("new@merchant.example")
    body = text_of(invitation)
    assert "an online dispute resolution service authorised by the market regulator" in body
    order = dispute["order"]["reference"]
    assert f"Li Wei (China) has lodged a dispute about order {order} on ShopWorld" in body
    assert f"Please answer by {ANSWER_BY_IN_BERLIN}" in body
    assert "If you do not answer by then, mediation starts by itself" in body
    assert "type https://odr.test into your browser yourself" in body
    assert f"under reference {dispute['reference']}" in body
    assert "We never ask for your password" in body
    assert "https://odr.test/invitations/" in body
    assert "authorised by the market regulator" in html_of(invitation)


# ---- joining, offers, proposals -----------------------------------------------------------------


def test_the_claimant_hears_that_the_merchant_joined(app, api, make_web, mailbox):
    from tests.accounts.test_invitations_and_staff import invitation_for, join

    consumer = make_user(app, "consumer")
    with clock.travel_to(LODGED_AT):
        dispute = lodge(api.as_user(consumer), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)
    merchant = make_user(app, "merchant")

    with clock.travel_to(LODGED_AT + timedelta(hours=2)):
        web = make_web()
        web.login(merchant.email)
        assert join(web, path).status_code == 303

    [joined] = mails(mailbox, consumer.email, "has joined your dispute")
    assert dispute["reference"] in joined["Subject"]
    assert f"{MERCHANT} has until {ANSWER_BY_IN_BEIJING} to answer." in text_of(joined)
    assert len(mailbox.to(consumer.email)) == 2  # the receipt, and this one


def test_an_offer_says_what_to_do_and_the_deadline_the_answer_set(app, api, mailbox):
    dispute = lodged(app, api)
    with clock.travel_to(LODGED_AT + timedelta(hours=1)):
        made = dispute.client("respondent").post(f"/api/v1/disputes/{dispute.id}/offers", OFFER)
    assert made.status_code == 201, made.get_json()

    [offer] = mails(mailbox, dispute.users["claimant"].email, "New offer")
    body = text_of(offer)
    assert "€1,299.50" in body and "The merchant refunds the price." in body
    assert "accept the offer, reject it or make a counter-offer" in body
    # The merchant answered: negotiation now lasts 21 days from lodging, not 7.
    assert "If you have not agreed by Dec 25, 2026, 17:00 (Asia/Shanghai)" in body


def test_a_proposal_tells_each_party_when_mediation_ends_in_their_zone(app, api, mailbox):
    dispute, mediator = in_mediation(app, api)
    with clock.travel_to(LODGED_AT + timedelta(days=2)):
        dispute.propose(mediator, amount="80.00")

    ends = "Mediation ends on {}. If there is no agreement by then, the dispute is closed"
    [to_merchant] = mails(mailbox, SHOP, "proposes settlement terms")
    assert ends.format("Jan 4, 2027, 10:00 (Europe/Berlin)") in text_of(to_merchant)
    [to_claimant] = mails(mailbox, dispute.users["claimant"].email, "proposes settlement terms")
    assert ends.format("Jan 4, 2027, 17:00 (Asia/Shanghai)") in text_of(to_claimant)
    assert "€80.00" in text_of(to_claimant)


# ---- settled or awarded, with the PDF -----------------------------------------------------------


def test_the_settlement_comes_to_both_parties_with_the_agreement_attached(app, api, mailbox):
    dispute = settled(app, api)
    reference = dispute.data["reference"]
    claimant = dispute.users["claimant"].email

    for address in (claimant, SHOP):
        [mail] = mails(mailbox, address, "is settled")
        assert reference in mail["Subject"]
        assert mails(mailbox, address, ": Settled") == []  # the plain state mail is replaced
        body = text_of(mail)
        assert "€1,299.50" in body
        assert f"{MERCHANT} must perform by Dec 20, 2026, 23:59 (Europe/Berlin)." in body
        pdf = PdfReader(io.BytesIO(pdf_attachment(mail)))
        text = " ".join("\n".join(page.extract_text() for page in pdf.pages).split())
        assert reference in text and "€1,299.50" in text

    to_claimant = text_of(mails(mailbox, claimant, "is settled")[0])
    assert "That is Dec 21, 2026, 06:59 (Asia/Shanghai) where you are." in to_claimant
    assert "confirm it on the dispute page" in to_claimant
    to_merchant = text_of(mails(mailbox, SHOP, "is settled")[0])
    assert "Carry out the terms by that date, then declare it" in to_merchant
    assert "where you are" not in to_merchant  # the date is in the merchant's zone already


def test_the_award_comes_with_the_award_attached(app, api, mailbox):
    arbitrator = make_neutral(app, "arbitrator", ["en"], name="Dr. Hanna Vogel")
    dispute, mediator = in_mediation(app, api, arbitration_consent=True)
    with clock.travel_to(LODGED_AT + timedelta(days=2)):
        dispute.must("respondent", "consent_to_arbitration")
        dispute.must(mediator, "escalate", reason="no agreement")
        dispute.must(
            arbitrator,
            "issue_award",
            amount={"amount": "100.00", "currency": "EUR"},
            remedy="refund",
            reasons="The goods were defective.",
            performance_due=DUE.isoformat(),
        )

    [award] = mails(mailbox, dispute.users["claimant"].email, "the award is attached")
    body = text_of(award)
    assert "The arbitrator, Dr. Hanna Vogel, has decided" in body
    assert "€100.00" in body and "Dec 20, 2026, 23:59 (Europe/Berlin)" in body
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(pdf_attachment(award))).pages
    )
    assert dispute.data["reference"] in text
    assert len(mails(mailbox, SHOP, "the award is attached")) == 1


# ---- 48 hours before a deadline -----------------------------------------------------------------


def test_the_merchant_is_reminded_once_48_hours_before_the_answer_is_due(app, api, mailbox):
    dispute = lodged(app, api)
    claimant = dispute.users["claimant"].email
    reminder = "act by"

    assert dispute.at(LODGED_AT + timedelta(days=4))["reminded"] == 0  # 72 hours ahead: not yet
    assert mails(mailbox, SHOP, reminder) == []

    assert dispute.at(LODGED_AT + timedelta(days=5, hours=1))["reminded"] == 1
    assert dispute.at(LODGED_AT + timedelta(days=5, hours=11))["reminded"] == 0  # once
    [mail] = mails(mailbox, SHOP, reminder)
    assert ANSWER_BY_IN_BERLIN in mail["Subject"]
    body = text_of(mail)
    assert f"Please answer by {ANSWER_BY_IN_BERLIN}" in body
    assert "mediation starts by itself" in body
    assert mails(mailbox, claimant, reminder) == []  # the merchant must act, not the claimant
    assert notice_kinds(app, dispute.users["respondent"]).count("deadline_soon") == 1
    assert "deadline_soon" not in notice_kinds(app, dispute.users["claimant"])
    assert dispute.state == "negotiation"

    # An answer moves the deadline to 21 days: a new deadline, a new reminder, now to both.
    with clock.travel_to(LODGED_AT + timedelta(days=6)):
        dispute.must("respondent", "post_message", body="We will look into it.")
    assert dispute.at(LODGED_AT + timedelta(days=18))["reminded"] == 0
    assert dispute.at(LODGED_AT + timedelta(days=19, hours=1))["reminded"] == 1
    [later] = mails(mailbox, claimant, reminder)
    assert "If you have not agreed by Dec 25, 2026, 17:00 (Asia/Shanghai)" in text_of(later)
    assert len(mails(mailbox, SHOP, reminder)) == 2


def test_the_merchant_is_reminded_48_hours_before_the_performance_date(app, api, mailbox):
    dispute = settled(app, api)
    ends = datetime(2026, 12, 20, 23, 0, tzinfo=UTC)  # 24:00 in Berlin

    assert dispute.at(ends - timedelta(hours=49))["reminded"] == 0
    assert dispute.at(ends - timedelta(hours=47))["reminded"] == 1
    assert dispute.at(ends - timedelta(hours=2))["reminded"] == 0
    [mail] = mails(mailbox, SHOP, "act by")
    body = text_of(mail)
    assert "must perform in dispute" in body
    assert "Dec 20, 2026, 23:59 (Europe/Berlin)" in body
    assert "recorded as not complied with" in body
    assert mails(mailbox, dispute.users["claimant"].email, "act by") == []


def test_the_mediator_is_reminded_before_mediation_times_out(app, api, mailbox):
    dispute, mediator = in_mediation(app, api)
    times_out = LODGED_AT + timedelta(days=31)  # 30 days from the assignment

    assert dispute.at(times_out - timedelta(hours=50))["reminded"] == 0
    assert dispute.at(times_out - timedelta(hours=40))["reminded"] == 1
    assert dispute.at(times_out - timedelta(hours=30))["reminded"] == 0
    [mail] = mails(mailbox, mediator.email, "act by")
    body = text_of(mail)
    assert "times out on Jan 4, 2027, 17:00 (Asia/Shanghai)" in body  # the mediator's country
    assert "it closes by itself as failed" in body
    assert mails(mailbox, SHOP, "act by") == []


def test_the_partner_agency_is_reminded_before_a_referral_expires(app, api, mailbox):
    Agency(app, "Schlichtung Online")
    with clock.travel_to(LODGED_AT):
        dispute = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    assert dispute.state == "referred"

    assert dispute.at(LODGED_AT + timedelta(days=2, hours=20))["reminded"] == 0  # 60 hours
    assert dispute.at(LODGED_AT + timedelta(days=3, hours=10))["reminded"] == 1  # 47 hours
    [mail] = mails(mailbox, "desk@schlichtung-online.example", "act by")
    body = text_of(mail)
    assert "The referral of dispute" in body
    assert "expires on Dec 9, 2026, 10:00 (Europe/Berlin)" in body  # the agency's country
    assert "https://odr.test/partner/referrals" in body
    assert mails(mailbox, SHOP, "act by") == []


def test_an_admitted_filing_tells_the_merchant_by_when_to_answer(app, api, mailbox):
    manager = make_user(app, "case_manager")
    dispute = lodged(app, api, claim__amount={"amount": "500.00", "currency": "EUR"})
    assert "Our staff check the dispute before it goes ahead" in text_of(mailbox.to(SHOP)[0])
    with clock.travel_to(LODGED_AT + timedelta(days=1)):
        dispute.must(manager, "admit")

    [admitted] = mails(mailbox, SHOP, ": Negotiation")
    assert "Please answer by Dec 12, 2026, 10:00 (Europe/Berlin)" in text_of(admitted)
    [told] = mails(mailbox, dispute.users["claimant"].email, ": Negotiation")
    assert f"{MERCHANT} has until Dec 12, 2026, 17:00 (Asia/Shanghai)" in text_of(told)


# ---- the outcome --------------------------------------------------------------------------------


def test_a_withdrawal_closes_the_dispute_for_the_merchant_with_the_reason(app, api, mailbox):
    dispute = lodged(app, api)
    dispute.must("claimant", "withdraw", reason="The shop refunded me after all.")

    [closed] = mails(mailbox, SHOP, "is closed")
    assert closed["Subject"].endswith("is closed: Withdrawn")
    body = text_of(closed)
    assert "withdrew dispute" in body and "There is nothing more to do." in body
    assert "The shop refunded me after all." in body
    assert mails(mailbox, dispute.users["claimant"].email, "is closed") == []  # their own doing


def test_a_missed_performance_date_tells_both_parties_the_outcome(app, api, mailbox):
    dispute = settled(app, api)
    dispute.at(datetime(2026, 12, 20, 23, 1, tzinfo=UTC))
    assert dispute.state == "non_compliant"

    [to_claimant] = mails(mailbox, dispute.users["claimant"].email, "is closed")
    assert "recorded as not complied with" in text_of(to_claimant)
    assert "to enforce your claim" in text_of(to_claimant)
    [to_merchant] = mails(mailbox, SHOP, "is closed")
    assert "to enforce your claim" not in text_of(to_merchant)
    assert mails(mailbox, SHOP, ": Not complied with") == [to_merchant]  # one mail, not two


def test_a_rejected_filing_tells_the_claimant_why(app, api, mailbox):
    manager = make_user(app, "case_manager")
    dispute = lodged(app, api, claim__amount={"amount": "500.00", "currency": "EUR"})
    assert dispute.state == "filed"
    receipt = text_of(mails(mailbox, dispute.users["claimant"].email, "We have received")[0])
    assert "Our staff check your dispute before it goes ahead" in receipt

    dispute.must(manager, "reject", reason="The claim is far above the order total.")

    [closed] = mails(mailbox, dispute.users["claimant"].email, "is closed")
    assert "was not admitted after screening" in text_of(closed)
    assert "The claim is far above the order total." in text_of(closed)


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("unresolved", "You can still take the claim to a court"),
        ("settled", "There is nothing more to do."),
    ],
)
def test_a_partners_outcome_says_what_it_means(app, api, mailbox, outcome, words):
    agency = Agency(app, "Schlichtung Online")
    dispute = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    agency.post(f"/api/v1/referrals/{referral}/accept", {"partner_reference": "SO-1"})
    summary = {"outcome": outcome, "summary": "Heard both sides."}
    answer = agency.post(f"/api/v1/referrals/{referral}/outcome", summary)
    assert answer.status_code == 200, answer.get_json()

    for address in (dispute.users["claimant"].email, SHOP):
        [mail] = mails(mailbox, address, "Outcome of dispute")
        assert words in text_of(mail)
        assert "Heard both sides." in text_of(mail)
