"""From a document's frozen content to its PDF: HTML per language, section by section.

Each kind has a template in `templates/pdf/` whose macros are its sections. Every section is
rendered once per language of the document, in that language, and the layout puts the versions
one after the other, so a bilingual document reads section by section. Autoescaping is on:
whatever the parties wrote is text, never markup.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app, render_template
from flask_babel import force_locale

from odr.cases.performance import deadline_text
from odr.documents.models import Document
from odr.documents.words import amount_in_words
from odr.i18n import LANGUAGE_NAMES, format_money

SECTIONS = ("heading", "parties", "recitals", "terms", "acceptances", "closing")
ATTACHMENT_NAMES = {"settlement_agreement": "settlement.json", "award": "award.json"}
# The language a country's law is written in, for the clause naming the version that prevails.
LAW_LANGUAGE = {"CN": "zh_Hans", "SG": "en", "TW": "zh_Hant", "HK": "zh_Hant", "MO": "zh_Hant"}


def prevailing_language(document: Document) -> str:
    """The governing law's language when the document is written in it, else the first one."""
    wanted = LAW_LANGUAGE.get(document.content.get("governing_law") or "", "en")
    return wanted if wanted in document.languages else document.languages[0]


def build_html(document: Document, verify_url: str, code: str) -> str:
    from odr.documents.render import qr_svg_data_url

    content = document.content
    parts: dict[str, list[dict[str, Any]]] = {name: [] for name in (*SECTIONS, "verification")}
    for language in document.languages:
        with force_locale(language):
            helpers = _helpers(language, document)
            module = current_app.jinja_env.get_template(f"pdf/{document.kind}.html").make_module(
                {"doc": content, **helpers}
            )
            for name in parts:
                html = getattr(module, name)()  # a macro's output is already Markup
                parts[name].append({"lang": language.replace("_", "-"), "html": html})
    first = document.languages[0]
    with force_locale(first):
        return render_template(
            "pdf/_layout.html",
            html_lang=first.replace("_", "-"),
            title=_title(document),
            reference=content["reference"],
            sections=[{"name": name, "parts": parts[name]} for name in SECTIONS],
            verification=parts["verification"],
            code=code,
            verify_url=verify_url,
            qr=qr_svg_data_url(verify_url),
        )


def build_pdf(document: Document) -> bytes:
    """Render in a child process bounded in time and memory (see `odr.documents.render`)."""
    from odr.documents.render import render_bounded, render_pdf, required_fonts
    from odr.documents.services import display_code

    required_fonts(document.languages)
    code = display_code(document.verification_code)
    verify_url = f"{current_app.config['BASE_URL']}/verify/{code}"
    html = build_html(document, verify_url, code)
    twin = json.dumps(document.content, ensure_ascii=False, indent=2, sort_keys=True).encode()
    name = ATTACHMENT_NAMES.get(document.kind, f"{document.kind}.json")
    return render_bounded(
        render_pdf,
        html,
        title=_title(document),
        language=document.languages[0].replace("_", "-"),
        author=document.content.get("provider", "ODR"),
        attachment=(name, twin, "The terms of this document, machine-readable"),
        seconds=current_app.config.get("RENDER_SECONDS", 60),
        memory_mb=current_app.config.get("RENDER_MEMORY_MB", 1024),
    )


def _title(document: Document) -> str:
    names = {
        "settlement_agreement": "Settlement agreement",
        "award": "Arbitral award",
        "case_file": "Case file",
    }
    return f"{names.get(document.kind, document.kind)} {document.content['reference']}"


def _helpers(language: str, document: Document) -> dict[str, Any]:
    languages = [LANGUAGE_NAMES.get(code, code) for code in document.languages]
    issued = datetime.fromisoformat(document.content["issued_at"])
    return {
        "languages": document.languages,
        "language_list": " / ".join(languages),
        "prevailing": prevailing_language(document),
        "issued_on": format_date(issued, "long", locale=language),
        "money": lambda m: format_money(m["amount_minor"], m["currency"]),
        "words": lambda m: amount_in_words(m["amount_minor"], m["currency"], language),
        "day": lambda iso: (
            format_date(date.fromisoformat(iso), "long", locale=language) if iso else "—"
        ),
        "deadline": lambda terms: _deadline(terms, language),
        "utc": lambda iso: (
            format_datetime(
                datetime.fromisoformat(iso), "medium", tzinfo=ZoneInfo("UTC"), locale=language
            )
            + " UTC"
        ),
        "local": lambda iso, zone: format_datetime(
            datetime.fromisoformat(iso), "full", tzinfo=ZoneInfo(zone), locale=language
        ),
    }


def _deadline(terms: dict[str, Any], language: str) -> str:
    """The performance date with the hour and zone it ends in; documents issued before the zone
    was recorded state the day alone, as they did."""
    due = terms.get("performance_due")
    if not due:
        return "—"
    if terms.get("performance_zone"):
        return deadline_text(date.fromisoformat(due), terms["performance_zone"], "long", language)
    return format_date(date.fromisoformat(due), "long", locale=language)
