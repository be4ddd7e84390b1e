"""ASVS V3.7/V5: after log-in or a language switch the app goes only to a path of its own site."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user

HOSTILE = [
    "/%09/evil.example",  # a tab that browsers drop: `/\t/evil` is `//evil`
    "/%0a/evil.example",
    "/%0d/evil.example",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/%2F/evil.example",
    "/ /evil.example",
    "javascript:alert(1)",
    "/%E2%80%8B/evil.example",
]


def _lands_on_own_site(location: str) -> bool:
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and all(ch.isprintable() and not ch.isspace() for ch in location)
    )


@pytest.mark.parametrize("target", HOSTILE)
def test_login_never_redirects_off_site(server, target):
    user = make_user(server.app, email="victim@example.com")
    visitor = server.visitor()
    visitor.get("/login")
    response = visitor.post(f"/login?next={target}", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.text[:300]
    assert _lands_on_own_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", [t.replace("%09", "\t").replace("%0a", "\n") for t in HOSTILE])
def test_language_switch_never_redirects_off_site(server, target):
    visitor = server.visitor()
    visitor.get("/login")
    response = visitor.post("/language", {"language": "en", "next": target})
    assert response.status_code == 302, response.text[:300]
    assert _lands_on_own_site(response.headers["Location"]), response.headers["Location"]


def test_a_path_of_the_site_is_kept(server):
    user = make_user(server.app, email="keeper@example.com")
    visitor = server.visitor()
    visitor.get("/login")
    response = visitor.post("/login?next=/account", {"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/account"
