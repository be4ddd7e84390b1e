"""From finished HTML to PDF/A-3u bytes, and the bounds a render runs within.

The HTML arrives already escaped (Jinja's autoescaping is the caller's job). Everything it points
to goes through `ProjectFetcher`: the static assets and `data:` URLs, nothing else. Fonts are
always subset, never embedded whole (a full Noto CJK made a 44 MB PDF).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pydyf
import segno
from weasyprint import HTML, Attachment

from odr.bounded import OutOfBounds, run_bounded
from odr.documents.fetcher import ProjectFetcher
from odr.errors import DomainError

PDF_VARIANT = "pdf/a-3u"
ATTACHMENT_RELATIONSHIP = "Data"  # the terms the document is drawn from (ISO 32000-2, 7.11.3)
FONTCONFIG_LANGUAGES = {"zh_Hans": "zh-cn", "zh_Hant": "zh-tw"}
FONT_PACKAGE = "fonts-noto-cjk"


class MissingFont(DomainError):
    """No installed font covers a language the document is written in."""

    status = 503


class RenderTooCostly(DomainError):
    """The render ran past its time or memory bound and was stopped; try again later."""

    status = 503


def render_pdf(
    html: str,
    *,
    title: str,
    language: str,
    author: str,
    attachment: tuple[str, bytes, str] | None = None,
    fetcher: ProjectFetcher | None = None,
) -> bytes:
    """PDF/A-3u of `html`; `attachment` (filename, bytes, description) is its machine twin.

    `language` is a BCP 47 tag (`zh-Hans`; `zh_Hans` is accepted) written as the catalog's
    /Lang, in place of whatever `<html lang>` said.
    """
    fetcher = fetcher or ProjectFetcher()
    document = HTML(string=html, base_url=fetcher.base_url, url_fetcher=fetcher).render(
        pdf_variant=PDF_VARIANT
    )
    document.metadata.title = title
    document.metadata.authors = [author]
    document.metadata.lang = language.replace("_", "-")
    attachments = []
    if attachment is not None:
        name, data, description = attachment
        now = datetime.now(UTC).replace(tzinfo=None)  # WeasyPrint writes it with a "Z"
        attachments.append(
            Attachment(
                string=data,
                name=name,
                description=description,
                relationship=ATTACHMENT_RELATIONSHIP,
                url_fetcher=fetcher,
                created=now,
                modified=now,
            )
        )
    return document.write_pdf(
        pdf_variant=PDF_VARIANT,
        attachments=attachments,
        full_fonts=False,
        finisher=_one_af_entry_per_file,
    )


def _one_af_entry_per_file(document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint 70 lists each attachment twice in the catalog's /AF; once is what is meant."""
    if "AF" in pdf.catalog:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))


def required_fonts(languages: list[str]) -> None:
    """Raise MissingFont unless fontconfig knows a font for each Chinese language in `languages`.

    Without one, Pango falls back to a font without the glyphs and the PDF shows empty boxes.
    """
    for language in languages:
        fontconfig_language = FONTCONFIG_LANGUAGES.get(language.replace("-", "_"))
        if fontconfig_language is not None:
            _require_font(language, fontconfig_language)


@functools.cache
def _require_font(language: str, fontconfig_language: str) -> None:
    """Cached when it passes; a failure raises, is not cached, and is checked again next time."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise MissingFont(
            f"Cannot check for a {language} font: fontconfig's fc-list is not installed. "
            f"Install Debian's fontconfig and {FONT_PACKAGE} packages, then issue it again.",
            language=language,
            package=FONT_PACKAGE,
        )
    listed = subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
        [fc_list, f":lang={fontconfig_language}", "family"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if not listed.stdout.strip():
        raise MissingFont(
            f"No installed font covers {language}, so the document would print empty boxes "
            f"instead of its text. Install Debian's {FONT_PACKAGE} package "
            f"(apt-get install {FONT_PACKAGE}), then issue it again.",
            language=language,
            package=FONT_PACKAGE,
        )


def subsetting_with_harfbuzz() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (else fontTools: 40× slower for CJK).

    The same test WeasyPrint 70 makes in `pdf/fonts.py`: libharfbuzz-subset loaded, HarfBuzz 4.1+.
    """
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def qr_svg_data_url(text: str) -> str:
    """A QR code of `text` as an SVG `data:` URL, for an `<img src>` in a template."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


def render_bounded(
    job: Callable[..., bytes],
    *args: Any,
    seconds: float = 60,
    memory_mb: int = 1024,
    **kwargs: Any,
) -> bytes:
    """`job(*args, **kwargs)` in a child process limited in time and address space (see
    `odr.bounded.run_bounded`: a forkserver child with WeasyPrint imported already).

    Raises RenderTooCostly when the child runs past `seconds` (it is killed), runs out of its
    `memory_mb` (MemoryError in the child), or dies without an answer (C libraries such as GLib
    abort rather than raise when an allocation fails). Any other exception is raised again here.
    `job` and its arguments must be picklable (a module-level function such as `render_pdf`).
    """
    try:
        return run_bounded(job, *args, seconds=seconds, memory_mb=memory_mb, **kwargs)
    except OutOfBounds as stopped:
        if stopped.bound == "time":
            raise RenderTooCostly(
                f"The render ran past {seconds:g} s and was stopped; it is tried again later.",
                seconds=seconds,
            ) from None
        if stopped.bound == "memory":
            raise RenderTooCostly(
                f"The render needed more than {memory_mb} MB and was stopped; "
                "it is tried again later.",
                memory_mb=memory_mb,
            ) from None
        raise RenderTooCostly(
            f"The render process ended without a result (exit code {stopped.exit_code}), "
            f"most likely out of its {memory_mb} MB; it is tried again later.",
            memory_mb=memory_mb,
        ) from None
