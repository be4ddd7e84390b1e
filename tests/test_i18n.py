"""Languages: complete catalogs, the reader's language chosen as DESIGN.md says, Babel formats."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from odr.i18n import normalise_language
from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("en", "zh_Hans", "zh_Hant")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            str(ROOT / ".venv/bin/pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete(locale, extracted):
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {}
    problems = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {key}")
        elif not all(strings):
            problems.append(f"untranslated: {key}")
        translated[key] = strings
    problems += [f"missing: {key}" for key in sorted(extracted - set(translated))]
    assert problems == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK,en;q=0.5", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("en-GB", "en"),
        ("fr-FR,de;q=0.8", "en"),
    ],
)
def test_accept_language_is_mapped_explicitly(app, header, expected):
    page = app.test_client().get("/login", headers={"Accept-Language": header})
    assert f'<html lang="{expected.replace("_", "-")}"' in page.get_data(as_text=True)


def test_normalise_language_knows_the_chinese_scripts():
    assert normalise_language("zh_Hant_TW") == "zh_Hant"
    assert normalise_language("ja") is None


def test_the_users_language_wins_over_the_browser(app, web):
    user = make_user(app, "consumer", language="zh_Hant")
    web.login(user.email)
    page = web.get("/disputes", headers={"Accept-Language": "en"})
    assert '<html lang="zh-Hant"' in page.get_data(as_text=True)


def test_the_language_switch_is_on_every_page_and_remembered(app, web):
    user = make_user(app, "consumer", language="en")
    for path in ("/", "/login"):
        assert 'name="language" value="zh_Hans"' in web.get(path).get_data(as_text=True)
    web.login(user.email)
    for path in ("/disputes", "/disputes/new"):
        assert 'name="language" value="zh_Hant"' in web.get(path).get_data(as_text=True)
    response = web.post("/language", {"language": "zh_Hans", "next": "/disputes"})
    assert response.status_code == 302 and response.headers["Location"] == "/disputes"
    assert '<html lang="zh-Hans"' in web.get("/disputes").get_data(as_text=True)


def test_the_language_switch_never_redirects_off_site(app, web):
    response = web.post("/language", {"language": "en", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_money_and_countries_are_formatted_for_the_reader(app):
    from flask_babel import force_locale

    from odr.i18n import country_name, format_money

    with app.test_request_context():
        with force_locale("en"):
            assert format_money(12990, "EUR") == "€129.90"
            assert country_name("DE") == "Germany"
        with force_locale("zh_Hans"):
            assert country_name("DE") == "德国"
            assert "129.90" in format_money(12990, "EUR")
        with force_locale("zh_Hant"):
            assert country_name("DE") == "德國"
        assert format_money(899, "JPY") in ("¥899", "JP¥899")
