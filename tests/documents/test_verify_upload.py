"""Anyone holding a PDF can check it on the verification page: uploaded (hashed on the server as
it streams in) or as the SHA-256 the browser took of it. The answer says whether it is the
document issued, one since superseded, or not ours; the file is kept nowhere."""

from __future__ import annotations

import hashlib
import html
import io
import logging
import re

import pytest
import sqlalchemy as sa

from odr.cases.models import Case
from odr.documents import services as documents
from odr.documents.models import Document
from odr.extensions import db
from odr.limits import limiter
from tests.conftest import WebClient, build_app
from tests.documents.test_documents import listed, pdf_of, settle_by_offer
from tests.storage_helpers import stored_names

MB = 1024 * 1024
ISSUED = "Issued by this service."
SUPERSEDED = "Issued, but superseded."
NOT_OURS = "Not ours."


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def check_file(web: WebClient, data: bytes, filename: str = "agreement.pdf", **kwargs):
    web.get("/verify")
    upload = (io.BytesIO(data), filename, "application/pdf")
    return web.post("/verify", {"document": upload}, content_type="multipart/form-data", **kwargs)


def check_hash(web: WebClient, sha256: str):
    web.get("/verify")
    return web.post("/verify", {"sha256": sha256}, content_type="multipart/form-data")


def field_error(response) -> str | None:
    found = re.search(r'<p class="field-error" id="document-error">(.*?)</p>', text(response))
    return found.group(1) if found else None


def issued_pdf(app, api) -> tuple[dict, dict, bytes]:
    dispute, claimant, _merchant = settle_by_offer(app, api, respondent_language="zh_Hans")
    [item] = listed(claimant, dispute)
    return dispute, item, pdf_of(claimant, item)


def supersede(app, dispute: dict) -> None:
    with app.app_context(), app.test_request_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        old = db.session.scalar(sa.select(Document))
        corrected = old.content | {"terms": old.content["terms"] | {"text": "Corrected terms."}}
        documents.issue_document(case, "settlement_agreement", corrected, supersedes=old)
        db.session.commit()
        assert documents.render_due() == 1


# ---- the three answers ------------------------------------------------------------------------


def test_an_issued_pdf_is_recognised_with_its_dispute_kind_and_languages(app, api, web):
    dispute, item, data = issued_pdf(app, api)

    answer = check_file(web, data)

    assert answer.status_code == 200
    shown = text(answer)
    assert ISSUED in shown and NOT_OURS not in shown
    assert (
        f"This is the document issued on {_day(item)} for dispute {dispute['reference']} "
        "(Settlement agreement, English and 简体中文)." in shown
    )
    assert hashlib.sha256(data).hexdigest() == item["sha256"]
    assert item["sha256"] in shown


def _day(item: dict) -> str:
    """The issue day as the page writes it in English (medium format, UTC)."""
    from datetime import datetime

    from babel.dates import format_date

    return format_date(datetime.fromisoformat(item["created_at"]), "medium", locale="en")


def test_a_superseded_pdf_names_the_corrected_one(app, api, web):
    dispute, _item, data = issued_pdf(app, api)
    supersede(app, dispute)
    _old, new = listed(api.as_user(_claimant(app, dispute)), dispute)

    answer = check_file(web, data)

    assert answer.status_code == 200
    shown = text(answer)
    assert SUPERSEDED in shown and ISSUED not in shown
    assert f"superseded by a corrected one (code {new['verification_code']})" in shown
    assert f'href="/verify/{new["verification_code"]}"' in shown


def _claimant(app, dispute: dict):
    from odr.accounts.models import User

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute["id"]))
        user = db.session.get(User, case.claimant_user_id)
        db.session.expunge(user)
    return user


@pytest.mark.parametrize("where", [0.5, -1])
def test_a_copy_with_one_byte_changed_is_not_ours(app, api, web, where):
    _dispute, item, data = issued_pdf(app, api)
    at = int(len(data) * where) if where > 0 else len(data) - 2
    changed = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]

    answer = check_file(web, changed)

    assert answer.status_code == 200
    shown = text(answer)
    assert NOT_OURS in shown and ISSUED not in shown
    assert "even one byte makes it differ" in shown
    assert hashlib.sha256(changed).hexdigest() in shown
    assert item["sha256"] not in shown


def test_the_hash_taken_by_the_browser_gets_the_same_answers(app, api, web):
    dispute, item, data = issued_pdf(app, api)

    assert ISSUED in text(check_hash(web, hashlib.sha256(data).hexdigest().upper()))
    assert NOT_OURS in text(check_hash(web, hashlib.sha256(data + b"\n").hexdigest()))
    refused = check_hash(web, "not-a-hash")
    assert refused.status_code == 422 and field_error(refused)


# ---- what the form refuses, naming the field --------------------------------------------------


def test_a_file_that_is_not_a_pdf_is_refused_at_the_field(app, web):
    answer = check_file(web, b"\x89PNG\r\n\x1a\n" + b"\0" * 200, filename="photo.pdf")

    assert answer.status_code == 422
    assert field_error(answer) == (
        "The file you chose is not a PDF. Choose the PDF file of the document."
    )
    assert 'aria-describedby="document-error"' in text(answer)


def test_no_file_chosen_is_refused_at_the_field(app, web):
    web.get("/verify")
    answer = web.post("/verify", {}, content_type="multipart/form-data")

    assert answer.status_code == 422
    assert field_error(answer) == "Choose the PDF file of the document to check."


@pytest.mark.parametrize("size", [10 * MB + 1, 11 * MB])
def test_a_file_over_10_mb_is_refused_at_the_field(app, web, size):
    answer = check_file(web, b"%PDF-1.7\n" + b"0" * (size - 9))

    assert answer.status_code == 413
    assert field_error(answer) == (
        "The file you chose is larger than 10 MB, the most a document may be."
    )


def test_the_form_needs_its_csrf_token(app):
    client = app.test_client()
    upload = (io.BytesIO(b"%PDF-1.7\n"), "a.pdf", "application/pdf")

    answer = client.post("/verify", data={"document": upload}, content_type="multipart/form-data")

    assert answer.status_code == 400
    assert NOT_OURS not in text(answer)


# ---- the file is kept nowhere -----------------------------------------------------------------


def test_a_checked_file_is_neither_stored_nor_logged(app, api, web, caplog):
    _dispute, _item, data = issued_pdf(app, api)
    changed = data.replace(b"%%EOF", b"%%EOX")
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Document))
    files = stored_names(app)

    with caplog.at_level(logging.DEBUG):
        assert ISSUED in text(check_file(web, data))
        assert NOT_OURS in text(check_file(web, changed))

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Document)) == rows
    assert stored_names(app) == files
    logged = caplog.text
    assert hashlib.sha256(changed).hexdigest() not in logged
    assert hashlib.sha256(data).hexdigest() not in logged


def test_the_upload_streams_through_the_hash_and_never_reaches_a_file(app, web, monkeypatch):
    """Werkzeug spills an upload past 500 KB into a temporary file; this one goes nowhere."""
    import tempfile

    opened = []
    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        original = getattr(tempfile, name)
        monkeypatch.setattr(
            tempfile, name, lambda *a, _o=original, **k: opened.append(1) or _o(*a, **k)
        )
    import werkzeug.formparser as formparser

    for name in ("SpooledTemporaryFile", "TemporaryFile"):
        original = getattr(formparser, name, None)
        if original is not None:
            monkeypatch.setattr(
                formparser, name, lambda *a, _o=original, **k: opened.append(1) or _o(*a, **k)
            )

    answer = check_file(web, b"%PDF-1.7\n" + b"x" * (3 * MB))

    assert NOT_OURS in text(answer)
    assert opened == []


# ---- rate limit ---------------------------------------------------------------------------------


def test_checking_files_is_rate_limited_per_address(mailbox):
    enabled_before = limiter.enabled
    app = build_app(
        "sqlite",
        mailbox,
        name="verify-limits.db",
        RATELIMIT_ENABLED=True,
        RATELIMIT_VERIFY_FILE="3 per minute",
    )
    try:
        web = WebClient(app)
        sha256 = "0" * 64
        answers = [check_hash(web, sha256).status_code for _ in range(3)] + [
            check_hash(web, sha256).status_code
        ]
        assert answers == [200, 200, 200, 429]
        assert web.get("/verify").status_code == 200  # looking at the page is not counted
    finally:
        limiter.enabled = enabled_before
        with app.app_context():
            db.engine.dispose()
