"""ASVS V1.3/V15 (SSRF): a webhook address that stands for this host or a private network is
refused when it is entered, however it is written, not only when a delivery is tried."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from odr.extensions import db
from odr.referrals.models import Partner
from tests.factories import PASSWORD, make_user

FORM = {
    "name": "Schlichtungsstelle Online",
    "countries": "DE",
    "languages": "de,en",
    "legal_basis": "Standard contractual clauses, art. 46 GDPR",
    "email": "desk@partner.example",
}
LOOPBACK_IN_DISGUISE = [
    "https://127.1/hooks",
    "https://0x7f000001/hooks",
    "https://2130706433/hooks",
    "https://0177.0.0.1/hooks",
    "https://[::127.0.0.1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:7f00:1]/hooks",
    "https://[64:ff9b::7f00:1]/hooks",
    "https://[2002:7f00:1::]/hooks",
    "https://[::1]/hooks",
    "https://10.1/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://localhost/hooks",
]


@pytest.mark.parametrize("url", LOOPBACK_IN_DISGUISE)
def test_a_private_webhook_address_is_refused_at_entry(server, url):
    manager = make_user(server.app, "case_manager", email="manager@odr.example")
    visitor = server.visitor()
    visitor.login(manager.email, PASSWORD)
    visitor.get("/admin/partners/new")

    refused = visitor.post("/admin/partners/new", {**FORM, "webhook_url": url})

    assert refused.status_code == 422, url
    assert 'id="webhook_url-error"' in refused.text
    with server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Partner)) == 0


def test_a_public_webhook_address_is_taken(server):
    manager = make_user(server.app, "case_manager", email="manager@odr.example")
    visitor = server.visitor()
    visitor.login(manager.email, PASSWORD)
    visitor.get("/admin/partners/new")
    added = visitor.post("/admin/partners/new", {**FORM, "webhook_url": "https://93.184.216.34/h"})
    assert added.status_code == 200, added.text[:500]
