"""From a document's frozen content to its PDF: one whole version per language.

Each kind has a template in `templates/pdf/` whose macros are its sections. A document in two
languages holds two complete versions, the prevailing one first, each starting on a page of its
own and ending with its own verification block, so a version never mixes languages: everything
in it is in its language except names, identifiers, and what a person wrote (terms, reasons,
descriptions, messages), which stays as written, marked "(in the original language, ...)" when it
is in another language than the version. Autoescaping is on: whatever the parties wrote is text,
never markup.

Times are written as on the pages (`odr.i18n.format_time`: to the minute, no seconds) in one zone
per version, named at its top: a case file in its reader's zone, as their pages show it; an
agreement or award, which both parties hold, in the zone of the party (or parties) reading that
version, else UTC.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _

from odr.cases.performance import deadline_text
from odr.documents.models import Document
from odr.documents.words import amount_in_words
from odr.i18n import format_money, format_time, normalise_language

SECTIONS = ("heading", "parties", "recitals", "terms", "acceptances", "closing")
ATTACHMENT_NAMES = {"settlement_agreement": "settlement.json", "award": "award.json"}
# The language a country's law is written in, for the clause naming the version that prevails.
LAW_LANGUAGE = {"CN": "zh_Hans", "SG": "en", "TW": "zh_Hant", "HK": "zh_Hant", "MO": "zh_Hant"}
# How Chinese readers name the two scripts (Babel says "中文 (简体)").
CHINESE_NAMES = {
    "zh_Hans": {"zh_Hans": "简体中文", "zh_Hant": "繁体中文"},
    "zh_Hant": {"zh_Hans": "簡體中文", "zh_Hant": "繁體中文"},
}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LETTER = re.compile(r"[^\W\d_]")


def prevailing_language(document: Document) -> str:
    """The governing law's language when the document is written in it, else the first one."""
    wanted = LAW_LANGUAGE.get(document.content.get("governing_law") or "", "en")
    return wanted if wanted in document.languages else document.languages[0]


def version_languages(document: Document) -> list[str]:
    """The order of the versions: the prevailing one first."""
    prevailing = prevailing_language(document)
    return [prevailing, *(code for code in document.languages if code != prevailing)]


def version_zone(document: Document, language: str) -> str:
    """The zone a version states its times in (see the module's docstring). Documents issued
    before the zones were recorded state UTC."""
    content = document.content
    if document.kind == "case_file":
        return (content.get("reader") or {}).get("zone") or "UTC"
    readers = [
        party
        for party in (content.get("parties") or {}).values()
        if (normalise_language(party.get("language")) or "en") == language
    ]
    zones = {party.get("zone") for party in readers}
    return zones.pop() if len(zones) == 1 and None not in zones else "UTC"


def language_in(code: str, language: str) -> str:
    """The name of language `code` as a reader of `language` calls it: 英语, German, 简体中文."""
    if code in CHINESE_NAMES.get(language, {}):
        return CHINESE_NAMES[language][code]
    try:
        return Locale.parse(code).get_display_name(language) or code
    except (ValueError, TypeError):
        return code


def written_in(text: str | None, languages: list[str]) -> str | None:
    """The language a person's text is written in, told by its script among the document's
    languages: Chinese when most of its letters are Chinese characters, else the document's other
    language (English when it has none); None for a text without letters (a number, a name)."""
    if not text:
        return None
    chinese = len(CJK.findall(text))
    letters = len(LETTER.findall(text))
    if not letters:
        return None
    if chinese * 2 >= letters:
        return next((code for code in languages if code.startswith("zh")), "zh_Hans")
    return next((code for code in languages if not code.startswith("zh")), "en")


def build_html(document: Document, verify_url: str, code: str) -> str:
    from odr.documents.render import qr_svg_data_url

    content = document.content
    versions = []
    for language in version_languages(document):
        with force_locale(language):
            helpers = _helpers(language, document)
            module = current_app.jinja_env.get_template(f"pdf/{document.kind}.html").make_module(
                {"doc": content, **helpers}
            )
            versions.append(
                {
                    "lang": language.replace("_", "-"),
                    "sections": [
                        {"name": name, "html": getattr(module, name)()} for name in SECTIONS
                    ],  # a macro's output is already Markup
                    "verification": module.verification(),
                }
            )
    first = versions[0]["lang"]
    with force_locale(first.replace("-", "_")):
        return render_template(
            "pdf/_layout.html",
            html_lang=first,
            title=_title(document),
            reference=content["reference"],
            versions=versions,
            code=code,
            verify_url=verify_url,
            qr=qr_svg_data_url(verify_url),
        )


def build_pdf(document: Document) -> bytes:
    """Render in a child process bounded in time and memory (see `odr.documents.render`)."""
    from odr.documents.codes import display_code
    from odr.documents.render import render_bounded, render_pdf, required_fonts

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
        language=version_languages(document)[0].replace("_", "-"),
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
    issued = datetime.fromisoformat(document.content["issued_at"])
    zone = version_zone(document, language)

    def original(text: str | None) -> str:
        written = written_in(text, document.languages)
        if written is None or written[:2] == language[:2]:
            return ""
        return _(
            "(in the original language, %(language)s)", language=language_in(written, language)
        )

    return {
        "languages": document.languages,
        "language": language,
        "language_list": _list([language_in(code, language) for code in document.languages]),
        "prevailing": prevailing_language(document),
        "language_in": lambda code: language_in(code, language),
        "zone": zone,
        "issued_on": format_date(issued, "long", locale=language),
        "money": lambda m: format_money(m["amount_minor"], m["currency"]),
        "words": lambda m: amount_in_words(m["amount_minor"], m["currency"], language),
        "day": lambda iso: (
            format_date(date.fromisoformat(iso), "long", locale=language) if iso else "—"
        ),
        "deadline": lambda terms: _deadline(terms, language),
        "time": lambda iso: format_time(datetime.fromisoformat(iso), zone, language) if iso else "",
        "original": original,
        "size": lambda count: ngettext("%(num)s byte", "%(num)s bytes", count),
    }


def _list(names: list[str]) -> str:
    """Two names joined as the language joins them ("English and 简体中文" reads wrong)."""
    return format_list(names, locale=get_locale() or "en")


def _deadline(terms: dict[str, Any], language: str) -> str:
    """The performance date with the hour and zone it ends in; documents issued before the zone
    was recorded state the day alone, as they did."""
    due = terms.get("performance_due")
    if not due:
        return "—"
    if terms.get("performance_zone"):
        return deadline_text(date.fromisoformat(due), terms["performance_zone"], "long", language)
    return format_date(date.fromisoformat(due), "long", locale=language)
