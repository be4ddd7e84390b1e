"""ASVS V3.4/V14.3: every answer carries the browser protections, and no signed-in page may be
kept by a browser's or a proxy's cache (a shared computer's back button shows nothing)."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user

SIGNED_IN_PAGES = ["/disputes", "/account", "/notices", "/disputes/new"]


@pytest.fixture
def signed_in(server):
    user = make_user(server.app, email="reader@example.com")
    visitor = server.visitor()
    assert visitor.login(user.email, PASSWORD).status_code == 302
    return visitor


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_are_never_cached_and_carry_the_protections(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200, path
    headers = response.headers
    assert "no-store" in headers["Cache-Control"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    policy = headers["Permissions-Policy"]
    assert {"camera=()", "microphone=()", "geolocation=()", "payment=()"} <= {
        part.strip() for part in policy.split(",")
    }
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_log_in_page_carrying_a_csrf_token_is_not_cached(server):
    response = server.visitor().get("/login")
    assert "no-store" in response.headers["Cache-Control"]
    assert "Strict-Transport-Security" in response.headers
