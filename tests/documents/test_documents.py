"""Settlement agreements and awards: issued with the change, rendered off the request path,
read back from the PDF, verifiable by anyone, never changed once issued."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from odr import clock
from odr.cases.models import Case
from odr.documents import services as documents
from odr.documents.models import Document
from odr.extensions import db
from odr.sweep import sweep
from tests.factories import lodge, make_user
from tests.storage_helpers import delete_stored, overwrite_stored, stored_bytes

OFFER = {"amount": {"amount": "1290.50", "currency": "EUR"}, "remedy": "partial_refund"}


def settle_by_offer(app, api, *, claimant_language="en", respondent_language="en", **lodging):
    claimant = make_user(app, "consumer", name=lodging.pop("claimant_name", "Li Wei"))
    terms = lodging.pop("terms", "The merchant refunds the price; the buyer keeps the headphones.")
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    as_claimant, as_merchant = api.as_user(claimant), api.as_user(merchant)
    dispute = lodge(
        as_claimant,
        language=claimant_language,
        respondent__language=respondent_language,
        **lodging,
    )
    due = (clock.today() + timedelta(days=20)).isoformat()
    offer = as_merchant.post(
        f"/api/v1/disputes/{dispute['id']}/offers",
        OFFER | {"terms": terms, "performance_due": due},
    ).get_json()
    accepted = as_claimant.post(f"/api/v1/disputes/{dispute['id']}/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    return dispute, as_claimant, as_merchant


def listed(client, dispute) -> list[dict]:
    response = client.get(f"/api/v1/disputes/{dispute['id']}/documents")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def pdf_of(client, item) -> bytes:
    response = client.get(item["url"])
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.data


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def font_names(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def attachment_of(data: bytes) -> tuple[str, dict]:
    [(name, [content])] = PdfReader(io.BytesIO(data)).attachments.items()
    return name, json.loads(content)


def test_accepting_an_offer_issues_a_settlement_agreement_that_reads_back(app, api):
    dispute, claimant, merchant = settle_by_offer(app, api)

    [item] = listed(claimant, dispute)
    assert (item["kind"], item["status"], item["languages"]) == (
        "settlement_agreement",
        "ready",
        ["en"],
    )
    data = pdf_of(claimant, item)
    assert hashlib.sha256(data).hexdigest() == item["sha256"]
    text = " ".join(text_of(data).split())
    for expected in (
        dispute["reference"],
        "Li Wei",
        "Rheinland Electronics GmbH",
        "€1,290.50",
        "one thousand two hundred ninety euros",
        "The merchant refunds the price",
    ):
        assert expected in text, expected
    # The text read back may break the code where its letters are kerned apart ("25MV-TF XW4").
    assert item["verification_code"] in text.replace(" ", "")
    name, twin = attachment_of(data)
    assert name == "settlement.json"
    assert twin["terms"]["amount"] == {"amount_minor": 129050, "currency": "EUR"}
    assert twin["reference"] == dispute["reference"]
    assert [a["party"] for a in twin["acceptances"]] == ["claimant", "respondent"]
    assert listed(merchant, dispute) == [item]


def test_parties_of_different_languages_get_one_bilingual_document(app, api):
    dispute, claimant, _merchant = settle_by_offer(
        app, api, claimant_language="zh_Hans", claimant_name="李伟"
    )
    [item] = listed(claimant, dispute)
    assert item["languages"] == ["zh_Hans", "en"]
    text = " ".join(text_of(pdf_of(claimant, item)).split())
    assert "李伟" in text
    assert "壹仟贰佰玖拾" in text.replace(" ", "")  # the capital numerals, wherever lines break
    assert "Settlement agreement" in text and "和解协议" in text
    assert "prevails" in text  # which version prevails where they differ
    fonts = font_names(pdf_of(claimant, item))
    assert any("CJK" in name for name in fonts), fonts  # a real CJK font, embedded (subset)
    assert all("+" in name for name in fonts)


def test_verification_page_and_api_agree_with_the_file(app, api):
    dispute, claimant, _merchant = settle_by_offer(app, api)
    [item] = listed(claimant, dispute)
    public = app.test_client()

    answer = public.get(f"/api/v1/verify/{item['verification_code']}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["valid"] is True and body["superseded_by"] is None
    assert (body["kind"], body["reference"], body["sha256"]) == (
        "settlement_agreement",
        dispute["reference"],
        item["sha256"],
    )
    page = public.get(f"/verify/{item['verification_code'].lower().replace('-', '')}")
    assert page.status_code == 200
    assert item["sha256"] in page.text and dispute["reference"] in page.text
    assert public.get("/api/v1/verify/0000-0000-0000-0000").status_code == 404
    assert public.get("/verify/0000-0000-0000-0000").status_code == 404


def test_only_those_on_the_case_see_its_documents(app, api):
    dispute, claimant, _merchant = settle_by_offer(app, api)
    [item] = listed(claimant, dispute)
    stranger = api.as_user(make_user(app, "consumer"))
    assert stranger.get(f"/api/v1/disputes/{dispute['id']}/documents").status_code == 404
    assert stranger.get(item["url"]).status_code == 404


def test_hostile_text_prints_as_text(app, api):
    hostile = '<img src="file:///etc/passwd"> <b>bold</b> @import url(http://169.254.169.254/)'
    name = '<link href="http://169.254.169.254/"><i>Shop</i>'
    dispute, claimant, _merchant = settle_by_offer(app, api, terms=hostile, respondent__name=name)
    [item] = listed(claimant, dispute)
    text = " ".join(text_of(pdf_of(claimant, item)).split())
    assert '<img src="file:///etc/passwd">' in text and "<b>bold</b>" in text
    assert name in text


def test_a_render_past_its_bound_stays_pending_and_the_sweep_renders_it_later(app, api, make_web):
    app.config["RENDER_SECONDS"] = 0.01
    try:
        dispute, claimant, _merchant = settle_by_offer(app, api)
        [item] = listed(claimant, dispute)
        assert (item["status"], item["url"], item["sha256"]) == ("pending", None, None)
        page = make_web()
        page.login("shop@merchant.example")
        assert "being prepared" in page.get(f"/disputes/{dispute['id']}").text
        with app.app_context():
            document = db.session.scalar(sa.select(Document))
            assert "RenderTooCostly" in document.last_error
    finally:
        app.config.pop("RENDER_SECONDS")
    with app.app_context(), clock.travel_to(clock.now() + timedelta(minutes=2)):
        assert sweep()["rendered"] == 1
    [item] = listed(claimant, dispute)
    assert item["status"] == "ready"
    shown = page.get(f"/disputes/{dispute['id']}").text
    assert f'href="/documents/{item["id"]}"' in shown and "being prepared" not in shown


def test_a_correction_supersedes_and_both_stay_verifiable(app, api):
    dispute, claimant, _merchant = settle_by_offer(app, api)
    [first] = listed(claimant, dispute)
    with app.app_context(), app.test_request_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        old = db.session.scalar(sa.select(Document))
        corrected = old.content | {"terms": old.content["terms"] | {"text": "Corrected terms."}}
        documents.issue_document(case, "settlement_agreement", corrected, supersedes=old)
        db.session.commit()
        assert documents.render_due() == 1
    old_item, new_item = listed(claimant, dispute)
    assert old_item["superseded_by"] == new_item["id"]
    assert old_item["sha256"] == first["sha256"]  # issued documents never change
    public = app.test_client()
    assert (
        public.get(f"/api/v1/verify/{first['verification_code']}").get_json()["superseded_by"]
        == new_item["verification_code"]
    )
    assert public.get(f"/api/v1/verify/{new_item['verification_code']}").get_json()["valid"]


def test_a_stored_file_that_no_longer_matches_its_hash_is_not_served(app, api):
    dispute, claimant, _merchant = settle_by_offer(app, api)
    [item] = listed(claimant, dispute)
    overwrite_stored(app, item["sha256"], stored_bytes(app, item["sha256"]) + b"%tampered")
    response = claimant.get(item["url"])
    assert response.status_code == 409


def test_a_stored_file_that_is_gone_is_not_served(app, api):
    dispute, claimant, _merchant = settle_by_offer(app, api)
    [item] = listed(claimant, dispute)
    delete_stored(app, item["sha256"])
    assert claimant.get(item["url"]).status_code == 409


@pytest.mark.parametrize("claimant_language", ["en", "zh_Hant"])
def test_the_first_page_as_an_image(app, api, claimant_language):
    """Writes the first page as PNG into the test artifacts, to look at."""
    dispute, claimant, _merchant = settle_by_offer(
        app, api, claimant_language=claimant_language, claimant_name="陳美玲"
    )
    [item] = listed(claimant, dispute)
    _first_page_png(pdf_of(claimant, item), f"settlement-{claimant_language}")


@pytest.mark.parametrize("claimant_language", ["en", "zh_Hans"])
def test_an_award_is_issued_as_a_document_with_its_reasons(app, api, claimant_language):
    from tests.factories import Dispute, make_neutral

    mediator = make_neutral(app, "mediator", ["en", "zh_Hans"])
    arbitrator = make_neutral(app, "arbitrator", ["en", "zh_Hans"], name="Wang Fang")
    dispute = Dispute(app, api, claimant_language=claimant_language, arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(mediator, "escalate", reason="no agreement")
    due = (clock.today() + timedelta(days=30)).isoformat()
    dispute.must(
        arbitrator,
        "issue_award",
        amount={"amount": "100.00", "currency": "EUR"},
        remedy="refund",
        reasons="The goods were defective when delivered.",
        performance_due=due,
    )
    client = dispute.client("claimant")
    [item] = listed(client, {"id": dispute.id})
    assert (item["kind"], item["status"]) == ("award", "ready")
    data = pdf_of(client, item)
    text = " ".join(text_of(data).split())
    assert "Arbitral award" in text and "Wang Fang" in text
    assert "The goods were defective when delivered." in text
    assert "one hundred euros" in text
    name, twin = attachment_of(data)
    assert name == "award.json" and twin["terms"]["text"].startswith("The goods were defective")
    assert twin["consents"] == {"claimant": True, "respondent": True}
    if claimant_language == "zh_Hans":
        assert "仲裁裁决书" in text and "欧元壹佰元整" in text
    _first_page_png(data, f"award-{claimant_language}")


def _first_page_png(data: bytes, name: str) -> None:
    import subprocess
    import tempfile

    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(data)
        pdf.flush()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", pdf.name,
             ARTIFACTS / name],
            check=True,
        )  # fmt: skip
    assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_a_reader_gets_a_case_file_of_what_they_may_see(app, api, make_web, language):
    from tests.factories import Dispute, make_neutral, post_messages

    mediator = make_neutral(app, "mediator", ["en", "zh_Hans"])
    dispute = Dispute(app, api, claimant_language=language)
    dispute.to_mediation()
    post_messages(app, dispute, dispute.users["claimant"], 1, channel="joint")
    post_messages(
        app, dispute, dispute.users["respondent"], 1, channel="private", party="respondent"
    )
    post_messages(app, dispute, mediator, 1, channel="notes")
    page = make_web()
    page.login(dispute.users["claimant"].email)
    page.get(f"/disputes/{dispute.id}")
    asked = page.post(f"/disputes/{dispute.id}/case-file")
    assert asked.status_code == 302

    client = dispute.client("claimant")
    [item] = listed(client, {"id": dispute.id})
    assert (item["kind"], item["status"]) == ("case_file", "ready")
    data = pdf_of(client, item)
    _first_page_png(data, f"case-file-{language}")
    text = " ".join(text_of(data).split())
    assert dispute.data["reference"] in text
    assert ("Case file" if language == "en" else "案卷") in text
    assert "no agreement" in text  # the reason given with the escalation, on the timeline
    assert "joint-message-000" in text  # the joint channel: the claimant may read it
    assert "private-message-000" not in text  # the respondent's caucus with the mediator
    assert "notes-message-000" not in text  # the mediator's own notes
    assert listed(dispute.client("respondent"), {"id": dispute.id}) == []  # it is the claimant's
    shown = page.get(f"/disputes/{dispute.id}").text
    assert f'href="/documents/{item["id"]}"' in shown and item["verification_code"] in shown
