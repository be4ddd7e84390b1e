"""Documents read right in both languages: in a bilingual agreement each version is whole and in
its own language (the prevailing one first), with nothing of the other language but names and
what a person wrote (marked as the original); the parties are the Consumer and the Merchant
throughout; no table column is narrower than three Chinese characters; times read as on the pages,
to the minute, in a zone the document names.

The PDFs are read back with pypdf (the versions from the bookmarks WeasyPrint makes of the
headings, the table borders from the page's drawing operators) and poppler's pdftotext (text and
the boxes of the words). Expected wording comes from the app's own catalog, so the tests read the
same before and after new messages are translated.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from flask_babel import force_locale, gettext
from pypdf import PdfReader
from pypdf.generic import ContentStream

from odr import clock
from tests.factories import lodge, make_user

OFFER = {"amount": {"amount": "1290.50", "currency": "EUR"}, "remedy": "partial_refund"}
CHINESE_DESCRIPTION = "左边耳罩用了一周就坏了，没有声音。"
ENGLISH_TERMS = "The merchant refunds the price; the buyer keeps the headphones."
PADDING = 2 * 1.5 * 72 / 25.4  # a cell's padding, left and right (1.5 mm each)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")


def say(app, locale: str, message: str, **values) -> str:
    """What the app writes for `message` in `locale`."""
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **values)


@dataclass
class Settled:
    email: str
    dispute: dict
    claimant: object
    merchant: object
    item: dict
    pdf: bytes


def settle(app, api, *, claimant_language="zh_Hans", description=None, terms=ENGLISH_TERMS):
    """A consumer in Shanghai and a merchant in Germany settle on the merchant's offer; Chinese
    law governs (the consumer's), so the Chinese version prevails when the languages differ."""
    claimant = make_user(
        app, "consumer", name="李伟", language=claimant_language, timezone="Asia/Shanghai"
    )
    merchant = make_user(app, "merchant", email="shop@merchant.example")
    as_claimant, as_merchant = api.as_user(claimant), api.as_user(merchant)
    lodging = {"language": claimant_language}
    if description:
        lodging["claim__description"] = description
    dispute = lodge(as_claimant, **lodging)
    due = (clock.today() + timedelta(days=20)).isoformat()
    offer = as_merchant.post(
        f"/api/v1/disputes/{dispute['id']}/offers",
        OFFER | {"terms": terms, "performance_due": due},
    ).get_json()
    accepted = as_claimant.post(f"/api/v1/disputes/{dispute['id']}/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    [item] = as_claimant.get(f"/api/v1/disputes/{dispute['id']}/documents").get_json()["items"]
    assert item["status"] == "ready"
    data = as_claimant.get(item["url"]).data
    return Settled(claimant.email, dispute, as_claimant, as_merchant, item, data)


# ---- reading the PDF back ------------------------------------------------------------------------


def _poppler(data: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(data)
        pdf.flush()
        return subprocess.run(
            ["pdftotext", *args, pdf.name, "-"], capture_output=True, text=True, check=True
        ).stdout


def versions(data: bytes) -> dict[str, str]:
    """Each version's text by its title (a top-level bookmark: the version's h1), from its first
    page up to the next version's."""
    reader = PdfReader(io.BytesIO(data))
    starts = [
        (item.title, reader.get_destination_page_number(item))
        for item in reader.outline
        if not isinstance(item, list)
    ]
    ends = [page for _title, page in starts[1:]] + [len(reader.pages)]
    return {
        title: _poppler(data, "-layout", "-f", str(first + 1), "-l", str(end))
        for (title, first), end in zip(starts, ends, strict=True)
    }


WIDE = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"


def flat(text: str) -> str:
    """The text on one line: runs of white space as one space, none where a line broke between
    two Chinese characters (or full-width marks)."""
    return re.sub(f"(?<={WIDE}) (?={WIDE})", "", " ".join(text.split()))


def words(data: bytes, page: int) -> list[tuple[str, float, float, float, float]]:
    """The words of a page (0-based) with their boxes in points from the top left."""
    xhtml = _poppler(data, "-bbox", "-f", str(page + 1), "-l", str(page + 1))
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
        xhtml,
    )
    return [(unescape(w), float(a), float(b), float(c), float(d)) for a, b, c, d, w in found]


def cell_rows(reader: PdfReader, page: int) -> list[list[tuple[float, float, float, float]]]:
    """The table rows drawn on a page, each a list of cells (x0, y0, x1, y1 in points from the
    top left), from the vertical border strokes WeasyPrint draws per cell."""
    height = float(reader.pages[page].mediabox.height)
    stack, ctm = [], (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    start, verticals = None, []

    def apply(x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = ctm
        return a * x + c * y + e, b * x + d * y + f

    content = ContentStream(reader.pages[page].get_contents(), reader)
    for operands, operator in content.operations:
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q":
            ctm = stack.pop()
        elif operator == b"cm":
            a2, b2, c2, d2, e2, f2 = (float(v) for v in operands)
            a, b, c, d, e, f = ctm
            ctm = (
                a2 * a + b2 * c, a2 * b + b2 * d, c2 * a + d2 * c, c2 * b + d2 * d,
                e2 * a + f2 * c + e, e2 * b + f2 * d + f,
            )  # fmt: skip
        elif operator == b"m":
            start = apply(float(operands[0]), float(operands[1]))
        elif operator == b"l" and start is not None:
            end = apply(float(operands[0]), float(operands[1]))
            if abs(start[0] - end[0]) < 0.1 and abs(start[1] - end[1]) > 5:
                top, bottom = sorted((height - start[1], height - end[1]))
                verticals.append((round(start[0], 1), round(top), round(bottom)))
            start = end
    rows: dict[tuple[int, int], set[float]] = {}
    for x, top, bottom in verticals:
        rows.setdefault((top, bottom), set()).add(x)
    cells = []
    for (top, bottom), xs in sorted(rows.items()):
        edges = sorted(xs)
        cells.append([(x0, top, x1, bottom) for x0, x1 in zip(edges, edges[1:], strict=False)])
    return [row for row in cells if row]


# ---- the tests -------------------------------------------------------------------------------


def test_each_version_is_whole_in_its_language_the_prevailing_one_first(app, api):
    settled = settle(app, api, description=CHINESE_DESCRIPTION)
    shown = versions(settled.pdf)
    zh_title, en_title = (say(app, lang, "Settlement agreement") for lang in ("zh_Hans", "en"))
    assert list(shown) == [zh_title, en_title]  # Chinese law: the Chinese version first
    chinese, english = (flat(text) for text in shown.values())

    assert (
        say(app, "zh_Hans", "%(language)s version. This version prevails.", language="简体中文")
        in chinese
    )
    other = "%(language)s version. If the versions differ, the %(prevailing)s version prevails."
    assert say(app, "en", other, language="English", prevailing="Chinese (Simplified)") in english

    # What a person wrote stays as written, marked where it is not in the version's language.
    in_english = say(app, "zh_Hans", "(in the original language, %(language)s)", language="英语")
    in_chinese = say(
        app, "en", "(in the original language, %(language)s)", language="Chinese (Simplified)"
    )
    assert f"{ENGLISH_TERMS} {in_english}" in chinese
    assert CHINESE_DESCRIPTION in chinese
    assert in_english not in chinese.split(ENGLISH_TERMS)[0]  # the description is Chinese here
    assert ENGLISH_TERMS in english and in_english not in english
    assert english.count(in_chinese) == 1  # the description, and only it

    # Nothing else in Latin letters in the Chinese version: names, addresses, codes and the
    # party's own words aside.
    with app.app_context():
        provider = app.config.get("PROVIDER_NAME", "ODR")
    allowed = [
        ENGLISH_TERMS, in_english, "Rheinland Electronics GmbH", "ShopWorld", "SHA-256",
        settled.dispute["reference"], provider, "Asia/Shanghai", "Europe/Berlin",
    ]  # fmt: skip
    rest = re.sub(r"\S+@\S+|https?://\S+|SW-\d+", " ", chinese)
    # The verification code is random, and the text read back from the PDF may break it where
    # its letters are kerned apart ("25MV-TF XW4-BVRF").
    code = r"\s*".join(map(re.escape, settled.item["verification_code"]))
    rest = re.sub(code, " ", rest)
    for text in sorted(allowed, key=len, reverse=True):
        rest = rest.replace(text, " ")
    assert re.findall(r"[A-Za-z][A-Za-z'-]*", rest) == [], rest


def test_the_parties_are_the_consumer_and_the_merchant_throughout(app, api):
    settled = settle(app, api)
    for (title, text), language in zip(
        versions(settled.pdf).items(), ["zh_Hans", "en"], strict=True
    ):
        text = flat(text).replace(ENGLISH_TERMS, "")
        consumer, merchant = say(app, language, "Consumer"), say(app, language, "Merchant")
        # The parties table, the recital, the payment, the deadline and the acceptance table.
        assert text.count(consumer) >= 4 and text.count(merchant) >= 4, title
        for other in ("claimant", "respondent", "申请人", "申請人"):
            assert other not in text.lower(), (title, other)


def test_an_award_marks_the_arbitrators_reasons_as_written_in_their_language(app, api):
    from tests.factories import Dispute, make_neutral

    mediator = make_neutral(app, "mediator", ["en", "zh_Hans"])
    arbitrator = make_neutral(app, "arbitrator", ["en"], name="Anna Richter")
    dispute = Dispute(app, api, claimant_language="zh_Hans", arbitration_consent=True)
    dispute.to_mediation()
    dispute.must("respondent", "consent_to_arbitration")
    dispute.must(mediator, "escalate", reason="no agreement")
    reasons = "The headphones were defective when delivered."
    dispute.must(
        arbitrator, "issue_award", amount={"amount": "100.00", "currency": "EUR"},
        remedy="refund", reasons=reasons,
    )  # fmt: skip
    client = dispute.client("claimant")
    [item] = client.get(f"/api/v1/disputes/{dispute.id}/documents").get_json()["items"]
    shown = versions(client.get(item["url"]).data)
    assert list(shown) == [say(app, "zh_Hans", "Arbitral award"), "Arbitral award"]
    chinese, english = (flat(text) for text in shown.values())
    note = say(app, "zh_Hans", "(in the original language, %(language)s)", language="英语")
    assert f"{reasons} {note}" in chinese and reasons in english and note not in english
    assert "Anna Richter" in chinese


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant"])
def test_no_table_column_is_narrower_than_three_chinese_characters(app, api, language):
    settled = settle(app, api, claimant_language=language)
    reader = PdfReader(io.BytesIO(settled.pdf))
    headers = [say(app, language, m) for m in ("Party", "Accepted at", "How")]
    labels = [say(app, language, m) for m in ("Consumer", "Merchant")]
    measured = 0
    for page in range(len(reader.pages)):
        rows = cell_rows(reader, page)
        if not rows:
            continue
        on_page = words(settled.pdf, page)
        in_tables = [
            w for w in on_page
            if any(x0 <= w[1] and w[3] <= x1 and top <= w[2] and w[4] <= bottom
                   for row in rows for x0, top, x1, bottom in row)
        ]  # fmt: skip
        chinese = [w for w in in_tables if re.fullmatch(f"{CJK.pattern}+", w[0])]
        if not chinese:
            continue
        em = max((x1 - x0) / len(text) for text, x0, _top, x1, _bottom in chinese)
        for row in rows:
            for x0, _top, x1, _bottom in row:
                assert x1 - x0 >= 3 * em + PADDING, (page, x1 - x0, 3 * em + PADDING)
                measured += 1
        # A header or party label of the Chinese version is one word on one line, never broken.
        texts = [w[0] for w in in_tables]
        for word in [*headers, *labels]:
            if CJK.search(word) and word in "".join(texts):
                assert word in texts, (word, texts)
    assert measured >= 10  # the parties and acceptance tables of both versions


def test_times_read_the_same_on_the_page_and_in_the_pdf_to_the_minute(app, api, make_web):
    settled = settle(app, api)
    page = make_web()
    page.login(settled.email)
    html = page.get(f"/disputes/{settled.dispute['id']}").text
    on_page = [unescape(t) for t in re.findall(r'<time datetime="[^"]+">([^<]+)</time>', html)]
    assert on_page and not any(SECONDS.search(t) for t in on_page), on_page

    chinese = flat(next(iter(versions(settled.pdf).values())))  # the consumer's version
    in_pdf = [t for t in on_page if t in chinese]
    assert in_pdf, (on_page, chinese)  # the acceptances, at the times the timeline shows
    assert not SECONDS.search(chinese)
    assert (
        say(app, "zh_Hans", "Times are given in the time zone %(zone)s.", zone="Asia/Shanghai")
        in chinese
    )

    # The consumer's case file: the whole timeline, each time as on the page.
    asked = page.post(f"/disputes/{settled.dispute['id']}/case-file")
    assert asked.status_code == 302
    items = settled.claimant.get(f"/api/v1/disputes/{settled.dispute['id']}/documents").get_json()
    [case_file] = [i for i in items["items"] if i["kind"] == "case_file"]
    text = flat(_poppler(settled.claimant.get(case_file["url"]).data, "-layout"))
    assert all(t in text for t in on_page), [t for t in on_page if t not in text]
    assert not SECONDS.search(text)
