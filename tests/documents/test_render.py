"""The rendering core: PDF/A-3u read back with pypdf, Chinese text and fonts, a fetcher that
serves the static assets and `data:` URLs and nothing else, and renders bounded in a child."""

from __future__ import annotations

import io
import mmap
import multiprocessing
import os
import resource
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from markupsafe import escape
from pypdf import PdfReader
from weasyprint.urls import URLFetcherResponse, URLFetchingError

from odr.documents import render
from odr.documents.fetcher import STATIC_DIR, ProjectFetcher
from odr.documents.render import (
    MissingFont,
    RenderTooCostly,
    qr_svg_data_url,
    render_bounded,
    render_pdf,
    required_fonts,
    subsetting_with_harfbuzz,
)

PDFAID = "http://www.aiim.org/pdfa/ns/id/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
TERMS = b'{"amount": {"amount_minor": 129000, "currency": "CNY"}, "reference": "ODR-2026-000042"}'
VERIFY_URL = "https://odr.example/verify/7KQ2-M9XD-4TNB-W3HF"

CHINESE = f"""<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<style>
  html {{ font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; }}
  [lang="zh-Hant"] {{ font-family: "Noto Serif CJK TC", "Noto Sans CJK TC", serif; }}
  section {{ break-after: page; }}
</style></head>
<body>
<section>
  <h1>和解协议 ODR-2026-000042</h1>
  <p>申请人：李伟（中国上海市浦东新区）</p>
  <p>金额：人民币1,290.00元（人民币壹仟贰佰玖拾元整）</p>
  <img src="{qr_svg_data_url(VERIFY_URL)}" alt="">
</section>
<section lang="zh-Hant">
  <h1>和解協議</h1>
  <p>被申請人：陳美玲（臺灣臺北市）</p>
  <p>金額：新臺幣壹仟貳佰玖拾元整，履行期限：二〇二六年十二月三十一日</p>
</section>
</body></html>"""


class SpyFetcher(ProjectFetcher):
    """Also records what it served, so a test can tell what was read, not only what was asked."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.served: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        response = super().fetch(url, headers)
        self.served.append(url)
        return response


@pytest.fixture
def static(tmp_path: Path) -> Path:
    """A static directory with a stylesheet, and next to it a secret reachable only by escaping."""
    root = tmp_path / "static"
    root.mkdir()
    (root / "style.css").write_text('body::before { content: "STYLED FROM STATIC"; }')
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.css").write_text('body::after { content: "LEAKED SECRET"; }')
    (root / "escape.css").symlink_to(outside / "evil.css")
    return root


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def pdfa_identification(reader: PdfReader) -> dict[str, str]:
    """pdfaid properties of the XMP packet, written as attributes or as elements."""
    found = {}
    for description in reader.xmp_metadata.rdf_root.getElementsByTagNameNS(RDF, "Description"):
        for attribute in description.attributes.values():
            if attribute.namespaceURI == PDFAID:
                found[attribute.localName] = attribute.value
        for element in description.getElementsByTagNameNS(PDFAID, "*"):
            found[element.localName] = element.firstChild.data
    return found


def fonts(reader: PdfReader) -> list[Any]:
    """Every font dictionary reached from the pages, their form XObjects included."""
    found: list[Any] = []

    def walk(resources: Any) -> None:
        resources = resources.get_object() if resources is not None else {}
        for font in resources.get("/Font", {}).values():
            found.append(font.get_object())
        for xobject in resources.get("/XObject", {}).values():
            walk(xobject.get_object().get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return found


def font_descriptor(font: Any) -> Any:
    if font["/Subtype"] == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    return font["/FontDescriptor"].get_object()


@pytest.fixture(scope="module")
def chinese_pdf() -> bytes:
    return render_pdf(
        CHINESE,
        title="和解协议 ODR-2026-000042",
        language="zh-Hans",
        author="ODR Online Dispute Resolution",
        attachment=("settlement.json", TERMS, "The terms of this document, machine-readable"),
    )


# ---- PDF/A-3u -------------------------------------------------------------------------------


def test_pdf_is_identified_as_pdf_a_3u_in_its_xmp(chinese_pdf: bytes) -> None:
    identification = pdfa_identification(read(chinese_pdf))
    assert identification["part"] == "3"
    assert identification["conformance"] == "U"


def test_pdf_has_an_srgb_output_intent_with_an_icc_profile(chinese_pdf: bytes) -> None:
    (intent,) = read(chinese_pdf).trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3
    assert profile.get_data()[36:40] == b"acsp"  # the ICC signature


def test_every_font_is_embedded_as_a_subset(chinese_pdf: bytes) -> None:
    found = fonts(read(chinese_pdf))
    assert found
    for font in found:
        descriptor = font_descriptor(font)
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]
        assert font["/BaseFont"][7] == "+", f"{font['/BaseFont']} is not a subset"


def test_terms_are_attached_as_the_documents_data_twin(chinese_pdf: bytes) -> None:
    reader = read(chinese_pdf)
    catalog = reader.trailer["/Root"]
    names = catalog["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == "settlement.json"
    filespec = names[1].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    assert filespec["/Desc"] == "The terms of this document, machine-readable"
    embedded = filespec["/EF"]["/F"].get_object()
    assert embedded.get_data() == TERMS
    assert embedded["/Subtype"] == "/application/json"
    assert [entry.idnum for entry in catalog["/AF"]] == [names[1].idnum]
    assert reader.attachments["settlement.json"] == [TERMS]


def test_title_author_and_language_are_in_the_metadata(chinese_pdf: bytes) -> None:
    reader = read(chinese_pdf)
    assert reader.metadata.title == "和解协议 ODR-2026-000042"
    assert reader.metadata.author == "ODR Online Dispute Resolution"
    assert reader.xmp_metadata.dc_title == {"x-default": "和解协议 ODR-2026-000042"}
    assert reader.xmp_metadata.dc_creator == ["ODR Online Dispute Resolution"]
    assert reader.trailer["/Root"]["/Lang"] == "zh-Hans"


def test_language_given_with_an_underscore_is_written_as_bcp_47() -> None:
    pdf = render_pdf("<p>x</p>", title="t", language="zh_Hant", author="a")
    assert read(pdf).trailer["/Root"]["/Lang"] == "zh-Hant"


# ---- Chinese --------------------------------------------------------------------------------


def test_simplified_and_traditional_chinese_read_back_as_text(chinese_pdf: bytes) -> None:
    reader = read(chinese_pdf)
    assert len(reader.pages) == 2
    text = "".join(text_of(reader).split())
    for expected in ("李伟", "人民币壹仟贰佰玖拾元整", "陳美玲", "新臺幣壹仟貳佰玖拾元整"):
        assert expected in text


def test_chinese_is_set_in_a_noto_cjk_font(chinese_pdf: bytes) -> None:
    base_fonts = [str(font["/BaseFont"]) for font in fonts(read(chinese_pdf))]
    assert any("CJK-SC" in name for name in base_fonts), base_fonts
    assert any("CJK-TC" in name for name in base_fonts), base_fonts


def test_first_page_of_a_chinese_sample_is_written_as_png(chinese_pdf: bytes, tmp_path) -> None:
    from tests.e2e.conftest import ARTIFACTS  # here: the browser tests' imports are heavy

    ARTIFACTS.mkdir(exist_ok=True)
    source = tmp_path / "render-sample.pdf"
    source.write_bytes(chinese_pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
         str(ARTIFACTS / "render-sample")],
        check=True,
    )  # fmt: skip
    assert (ARTIFACTS / "render-sample.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- fetching: static assets and data: only --------------------------------------------------


def test_static_directory_is_the_projects_own() -> None:
    assert ProjectFetcher().root == STATIC_DIR.resolve()
    assert (STATIC_DIR / "style.css").is_file()


def test_file_inside_the_static_directory_is_served(static: Path) -> None:
    response = ProjectFetcher(static).fetch((static / "style.css").as_uri())
    assert response.read() == (static / "style.css").read_bytes()
    assert response.content_type == "text/css"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///etc/hostname",
        "file://otherhost/etc/passwd",
        "{static}/../outside/evil.css",
        "{static}/%2e%2e/outside/evil.css",
        "{static}/escape.css",  # a symlink inside, pointing outside
        "{static}/",  # the directory itself
        "{static}/missing.css",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/x.css",
        "ftp://example.com/x.png",
        "gopher://example.com/",
        "javascript:alert(1)",
    ],
)
def test_everything_else_is_refused(static: Path, url: str) -> None:
    fetcher = ProjectFetcher(static)
    url = url.format(static=static.as_uri())
    with pytest.raises(URLFetchingError):
        fetcher.fetch(url)
    assert fetcher.asked == [url]


def test_data_url_is_served_and_the_qr_code_is_drawn(static: Path) -> None:
    qr = qr_svg_data_url(VERIFY_URL)
    assert unquote(qr).startswith("data:image/svg+xml;charset=utf-8,<svg")
    plain, with_qr = SpyFetcher(static), SpyFetcher(static)
    without = render_pdf("<p>x</p>", title="t", language="en", author="a", fetcher=plain)
    drawn = render_pdf(
        f'<p>x</p><img src="{qr}">', title="t", language="en", author="a", fetcher=with_qr
    )
    assert with_qr.served == [qr]

    def line_segments(pdf: bytes) -> int:
        return read(pdf).pages[0].get_contents().get_data().count(b" l\n")

    assert line_segments(without) == 0
    assert line_segments(drawn) > 100  # the modules of the code, as vector paths


def test_stylesheet_is_served_from_static_but_not_through_an_escape(static: Path) -> None:
    fetcher = SpyFetcher(static)
    html = """<link rel=stylesheet href="style.css">
        <link rel=stylesheet href="escape.css">
        <link rel=stylesheet href="../outside/evil.css"><p>body</p>"""
    text = text_of(read(render_pdf(html, title="t", language="en", author="a", fetcher=fetcher)))
    assert "STYLED FROM STATIC" in text
    assert "LEAKED SECRET" not in text
    assert fetcher.served == [(static / "style.css").as_uri()]
    assert (static.parent / "outside" / "evil.css").as_uri() in fetcher.asked


# ---- hostile input --------------------------------------------------------------------------

HOSTILE_NAME = '<img src="file:///etc/passwd"><b>李伟</b> & <script>alert("x")</script>'
HOSTILE_TERMS = '<link rel=stylesheet href="http://169.254.169.254/"> pay 1,290 CNY'
NESTED_SVG = quote(
    "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'>"
    "<image href='file:///etc/passwd' width='10' height='10'/>"
    "<image href='http://169.254.169.254/svg' width='10' height='10'/></svg>"
)


def test_hostile_markup_is_refused_and_escaped_text_shows_literally(
    static: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        connections.append(args)
        raise AssertionError(f"a render opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fetcher = SpyFetcher(static)
    template = f"""<!doctype html><html lang="en"><head>
        <link rel=stylesheet href="http://169.254.169.254/latest/meta-data/">
        <style>@import url("http://example.com/x.css");
          body {{ background: url("ftp://example.com/bg.png"); }}</style>
        <link rel=attachment href="file:///etc/passwd">
        </head><body>
        <p>Claimant: {escape(HOSTILE_NAME)}</p>
        <p>Terms: {escape(HOSTILE_TERMS)}</p>
        <img src="file:///etc/passwd">
        <img src="{"../" * 30}etc/hostname">
        <iframe src="file:///etc/shadow"></iframe>
        <object data="http://169.254.169.254/latest/meta-data/iam"></object>
        <embed src="https://example.com/x.png">
        <img src="data:image/svg+xml,{NESTED_SVG}">
        </body></html>"""

    reader = read(render_pdf(template, title="t", language="en", author="a", fetcher=fetcher))

    assert sorted(set(fetcher.asked)) == sorted(
        {
            "http://169.254.169.254/latest/meta-data/",
            "http://example.com/x.css",
            "ftp://example.com/bg.png",
            "file:///etc/passwd",
            "file:///etc/hostname",
            "http://169.254.169.254/latest/meta-data/iam",
            "https://example.com/x.png",
            f"data:image/svg+xml,{NESTED_SVG}",
            "http://169.254.169.254/svg",
        }
    )
    assert fetcher.served == [f"data:image/svg+xml,{NESTED_SVG}"]
    assert connections == []
    assert list(reader.attachments) == []
    text = "".join(text_of(reader).split())
    assert "".join(HOSTILE_NAME.split()) in text
    assert "".join(HOSTILE_TERMS.split()) in text
    assert "root:" not in text  # nothing of /etc/passwd


# ---- fonts and HarfBuzz ---------------------------------------------------------------------


def test_chinese_fonts_are_found_here() -> None:
    required_fonts(["en", "zh_Hans", "zh_Hant", "zh-Hans"])


def test_missing_chinese_font_is_refused_with_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fontconfig reads its configuration once per process; `required_fonts` asks fc-list, a new
    process each time, so pointing FONTCONFIG_FILE at an empty configuration is enough."""
    empty = tmp_path / "fonts.conf"
    empty.write_text(f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    render._require_font.cache_clear()
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    with pytest.raises(MissingFont) as refused:
        required_fonts(["en", "zh_Hans"])
    assert "zh_Hans" in str(refused.value)
    assert "fonts-noto-cjk" in str(refused.value)
    assert refused.value.extra == {"language": "zh_Hans", "package": "fonts-noto-cjk"}
    required_fonts(["en"])

    monkeypatch.delenv("FONTCONFIG_FILE")
    required_fonts(["zh_Hans"])  # a failure is not cached: installed since, it passes


def test_fonts_are_subset_with_harfbuzz_here() -> None:
    assert subsetting_with_harfbuzz() is True


# ---- bounded renders ------------------------------------------------------------------------


def sleep_then_answer(seconds: float) -> bytes:
    time.sleep(seconds)
    return b"too late"


def allocate(megabytes: int) -> bytes:
    block = bytearray(megabytes * 2**20)
    return b"%d" % len(block)


def fail(message: str) -> bytes:
    raise ValueError(message)


def crash(code: int) -> bytes:
    os._exit(code)  # as GLib does (abort) when an allocation fails under the limit


def test_bounded_render_returns_the_pdf() -> None:
    pdf = render_bounded(
        render_pdf, CHINESE, title="和解协议", language="zh-Hans", author="ODR", seconds=60
    )
    assert "陳美玲" in "".join(text_of(read(pdf)).split())


def test_render_past_its_time_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(RenderTooCostly, match="past 1 s"):
        render_bounded(sleep_then_answer, 30, seconds=1)
    assert time.monotonic() - started < 10
    assert multiprocessing.active_children() == []


def test_render_past_its_memory_is_stopped_and_the_parent_is_unharmed() -> None:
    limit_before = resource.getrlimit(resource.RLIMIT_AS)
    with pytest.raises(RenderTooCostly, match="more than 1024 MB"):
        render_bounded(allocate, 2048, memory_mb=1024)
    assert resource.getrlimit(resource.RLIMIT_AS) == limit_before
    with mmap.mmap(-1, 2048 * 2**20):  # address space only: no page is touched
        pass
    assert render_bounded(allocate, 16, memory_mb=1024) == b"%d" % (16 * 2**20)


def test_other_failures_in_the_child_are_raised_again() -> None:
    with pytest.raises(ValueError, match="bad template"):
        render_bounded(fail, "bad template")


def test_render_process_that_dies_without_an_answer_is_too_costly() -> None:
    with pytest.raises(RenderTooCostly, match="exit code 70"):
        render_bounded(crash, 70)
