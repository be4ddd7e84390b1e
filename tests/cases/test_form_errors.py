"""Errors where the eye is, as the server renders them: a form with errors comes back with a
summary at the top that names each field by the label the page shows beside it (never a path
like `claim.amount.amount`) and links to its control; amounts are read as people type them; the
pickers offer names in the page's language and send codes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from odr import clock
from tests.factories import Dispute, make_neutral, make_user

INTERNAL_NAME = re.compile(r"\b(?:claim|order|respondent|claimant|amount)\.[a-z_.0-9]+")


def lodging_form(**changes: str) -> dict[str, str]:
    ordered = clock.today() - timedelta(days=10)
    form = {
        "respondent.name": "Rheinland Electronics",
        "respondent.email": "shop@merchant.example",
        "respondent.country": "DE",
        "respondent.language": "de",
        "order.platform": "ShopWorld",
        "order.reference": "R-1",
        "order.ordered_on": ordered.isoformat(),
        "order.total.amount": "1299.50",
        "order.total.currency": "EUR",
        "order.items.0.description": "Headphones",
        "order.items.0.quantity": "1",
        "claim.category": "defective",
        "claim.description": "Broken after a week.",
        "claim.remedy": "refund",
        "claim.amount.amount": "89",
        "claim.amount.currency": "EUR",
        "language": "en",
    }
    form.update(changes)
    return form


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def summary_of(page: str) -> list[tuple[str | None, str | None, str]]:
    """(link target, link text, whole entry) of each entry of the page's error summary."""
    found = re.search(r'<div class="error-summary".*?</ul>', page, re.S)
    assert found, "no error summary on the page"
    assert 'tabindex="-1"' in found.group(0) and "autofocus" in found.group(0)
    entries = []
    for item in re.findall(r"<li>(.*?)</li>", found.group(0), re.S):
        link = re.search(r'<a href="#([^"]+)">(.*?)</a>', item, re.S)
        entries.append(
            (link.group(1), text_of(link.group(2)), text_of(item))
            if link
            else (None, None, text_of(item))
        )
    return entries


def shown_label(page: str, control_id: str) -> str:
    """The words a person reads for a control: its money field's legend, or its label."""
    for legend, body in re.findall(
        r'<fieldset class="money[^"]*">\s*<legend>(.*?)</legend>(.*?)</fieldset>', page, re.S
    ):
        if f'id="{control_id}"' in body:
            return text_of(legend)
    label = re.search(rf'<label for="{re.escape(control_id)}"[^>]*>(.*?)</label>', page, re.S)
    assert label, f"no label for {control_id}"
    return re.sub(r"\s*\(optional\)$", "", text_of(label.group(1)))


@pytest.fixture
def consumer_web(app, web):
    web.login(make_user(app, "consumer", country="CN").email)
    return web


def test_a_lodging_form_with_errors_names_the_fields_by_their_labels(consumer_web):
    form = lodging_form(
        **{
            "respondent.name": "",
            "order.total.amount": "12 bananas",
            "claim.amount.amount": "€ 89",
            "claim.amount.currency": "CNY",
            "order.items.0.quantity": "0",
        }
    )
    response = consumer_web.post("/disputes/new", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    entries = summary_of(page)

    assert {label for _target, label, _text in entries} == {
        "Merchant's name",
        "Order total",
        "Amount you claim",
        "Quantity",
    }
    for target, label, whole in entries:
        assert f'id="{target}"' in page, target  # the link leads to a control on the page
        assert shown_label(page, target) == label  # worded as the page words it
        assert not INTERNAL_NAME.search(whole), whole
    by_label = {label: whole for _target, label, whole in entries}
    assert "1,299.50" in by_label["Order total"]  # an example of how to write it
    assert "CNY" in by_label["Amount you claim"]  # the € typed is not the currency chosen
    assert 'value="12 bananas"' in page  # what was typed stays


def test_an_item_error_names_the_row_the_person_typed_in(consumer_web):
    form = lodging_form(**{"order.items.0.description": "", "order.items.1.description": "x" * 501})
    response = consumer_web.post("/disputes/new", form)
    [(target, label, _whole)] = summary_of(response.get_data(as_text=True))
    assert (target, label) == ("order.items.1.description", "Item 2")


@pytest.mark.parametrize(
    ("total", "claim", "minor"),
    [("1,299.50", "€ 89", (129950, 8900)), ("1.299,50", "89,-", (129950, 8900))],
)
def test_amounts_are_lodged_as_typed(app, consumer_web, api, total, claim, minor):
    form = lodging_form(**{"order.total.amount": total, "claim.amount.amount": claim})
    response = consumer_web.post("/disputes/new", form)
    assert response.status_code == 302, summary_of(response.get_data(as_text=True))
    dispute_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        import sqlalchemy as sa

        from odr.cases.models import Case
        from odr.extensions import db

        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute_id))
        assert (case.order_total_minor, case.claim_amount_minor) == minor
        assert case.respondent_language == "de"


def test_a_chinese_page_reads_full_width_figures_and_the_yuan_sign(app, web):
    web.login(make_user(app, "consumer", country="CN", language="zh_Hans").email)
    form = lodging_form(
        **{
            "order.total.amount": "１，２９９．５０",
            "order.total.currency": "CNY",
            "claim.amount.amount": "８９元",
            "claim.amount.currency": "CNY",
        }
    )
    assert web.post("/disputes/new", form).status_code == 302


def test_the_lodging_form_offers_names_in_the_pages_language_and_the_consumers_currency(app, web):
    web.login(make_user(app, "consumer", country="DE", language="zh_Hans").email)
    page = web.get("/disputes/new").get_data(as_text=True)
    assert '<option value="DE">德国</option>' in page
    assert '<option value="de">德语</option>' in page
    currencies = re.search(r'<select id="order.total.currency".*?</select>', page, re.S).group(0)
    first = re.search(r'<option value="(\w+)"\s*(selected)?>([^<]*)</option>', currencies)
    assert first.groups() == ("EUR", "selected", "EUR — 欧元")  # a German resident's currency
    assert "<datalist" not in page


def test_an_offer_with_an_unreadable_amount_comes_back_with_the_summary(app, api, make_web):
    dispute = Dispute(app, api)
    web = make_web()
    web.login(dispute.users["respondent"].email)
    page = web.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    currencies = re.search(r'<select id="amount.currency".*?</select>', page, re.S).group(0)
    assert re.search(r'<option value="(\w+)"', currencies).group(1) == "EUR"  # the claim's first

    response = web.post(
        f"/disputes/{dispute.id}/offers",
        {"amount.amount": "¥80", "amount.currency": "EUR", "remedy": "refund", "terms": "x"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    [(target, label, whole)] = summary_of(page)
    assert (target, label) == ("amount.amount", "Amount")
    assert "¥" in whole and "EUR" in whole
    assert 'id="amount.amount-error"' in page  # and beside the control

    response = web.post(
        f"/disputes/{dispute.id}/offers",
        {"amount.amount": "€ 1.234,50", "amount.currency": "EUR", "remedy": "refund", "terms": "x"},
    )
    assert response.status_code == 302
    assert dispute.read()["offers"][-1]["amount"] == {"amount": "1234.50", "currency": "EUR"}


def test_a_refused_action_says_the_label_not_the_parameter(app, api, make_web):
    mediator = make_neutral(app, "mediator", ["en"])
    dispute = Dispute(app, api)
    dispute.to_mediation()
    web = make_web()
    web.login(mediator.email)
    web.get(f"/disputes/{dispute.id}")
    response = web.post(
        f"/disputes/{dispute.id}/actions/propose_settlement",
        {
            "version": str(dispute.case().version),
            "amount.amount": "80 bananas",
            "amount.currency": "EUR",
            "remedy": "refund",
            "terms": "The merchant refunds.",
        },
    )
    assert response.status_code == 303
    page = html.unescape(web.get(response.headers["Location"]).get_data(as_text=True))
    flashed = re.findall(r'<p class="flash error"[^>]*>(.*?)</p>', page, re.S)
    assert flashed and flashed[0].startswith("Amount: Enter the amount in figures")
    assert not INTERNAL_NAME.search(" ".join(flashed))


def test_sign_up_offers_pickers_and_names_its_errors(app, web):
    page = web.get("/signup", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<option value="CN" selected>中国</option>' in page  # the browser's region, a guess
    zone = re.search(r'<select id="timezone"[^>]*>', page).group(0)
    assert "data-browser-zone" in zone  # forms.js may put the browser's zone in
    assert re.search(r'<option value="Asia/Kolkata" data-aliases="[^"]*Asia/Calcutta', page)

    response = web.post(
        "/signup",
        {"role": "consumer", "name": "", "email": "x@example.com", "country": "",
         "language": "en", "timezone": "Europe/Berlin", "password": "short", "terms": "yes"},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    labels = {label for _target, label, _whole in summary_of(page)}
    assert {"Your name (or your company's)", "Country", "Password"} <= labels
    zone = re.search(r'<select id="timezone"[^>]*>', page).group(0)
    assert "data-browser-zone" not in zone  # what the person chose stays chosen
    assert '<option value="Europe/Berlin" selected>' in page


def test_the_partner_portal_reads_an_outcome_amount_as_typed(app, api, make_web):
    from tests.referrals.agency import GERMAN_LAW, Agency
    from tests.referrals.test_portal import desk_of

    agency = Agency(app, "Schlichtung Online")
    dispute = Dispute(app, api, law=GERMAN_LAW, transfer_consent=True)
    referral = agency.get("/api/v1/referrals").get_json()["items"][0]["id"]
    desk = make_web()
    desk.login(desk_of(app, "Schlichtung Online"))
    path = f"/partner/referrals/{referral}"
    desk.post(f"{path}/accept", {"partner_reference": "SO-80"})
    outcome = {"outcome": "settled", "summary": "Settled at our hearing."}

    refused = desk.post(
        f"{path}/outcome", {**outcome, "amount.amount": "€ 60", "amount.currency": "CNY"}
    )
    assert refused.status_code == 422
    [(target, label, whole)] = summary_of(refused.get_data(as_text=True))
    assert (target, label) == ("amount", "Amount") and "CNY" in whole

    done = desk.post(
        f"{path}/outcome", {**outcome, "amount.amount": "60,00 €", "amount.currency": "EUR"}
    )
    assert done.status_code == 303
    [reported] = [event for event in dispute.events() if event["kind"] == "report_outcome"]
    assert (reported["data"]["amount"], reported["data"]["currency"]) == (6000, "EUR")
