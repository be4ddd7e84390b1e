"""The partner directory: `flask odr partner add|list|disable|rotate-secret`."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from odr import clock
from odr.extensions import db
from odr.referrals.directory import find_partner
from odr.referrals.models import Partner, PartnerSecret
from odr.referrals.secrets import signing_secrets

AGENCY = [
    "--name", "Schlichtungsstelle Online", "--countries", "DE,AT", "--languages", "de,en",
    "--webhook-url", "https://odr.partner.example/hooks", "--email", "desk@partner.example",
    "--legal-basis", "Art. 6(1)(a) GDPR: the consumer's consent; adequacy not needed (EU).",
]  # fmt: skip


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["odr", "partner", *args])


def test_adding_an_agency_makes_its_user_token_and_secret_shown_once(app, api):
    added = _cli(app, "add", *AGENCY, "--json")
    assert added.exit_code == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    assert created["token"] not in added.stderr and created["secret"] not in added.stderr
    me = app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert me.status_code == 200 and "partner" in json.dumps(me.get_json())
    with app.app_context():
        partner = find_partner(created["id"])
        assert (partner.countries, partner.languages, partner.active) == (
            ["DE", "AT"],
            ["de", "en"],
            True,
        )
        stored = db.session.query(PartnerSecret).one().encrypted
        assert created["secret"] not in stored  # encrypted at rest
        assert signing_secrets(partner) == [created["secret"]]

    listed = json.loads(_cli(app, "list", "--json").stdout)["partners"]
    assert [p["name"] for p in listed] == ["Schlichtungsstelle Online"]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--webhook-url", "http://odr.partner.example/hooks", "webhook_url"),
        ("--webhook-url", "https://10.0.0.8/hooks", "webhook_url"),
        ("--webhook-url", "https://169.254.169.254/latest", "webhook_url"),
        ("--webhook-url", "https://localhost/hooks", "webhook_url"),
        ("--countries", "DE,XX", "countries"),
        ("--languages", "", "languages"),
    ],
)
def test_bad_input_names_the_field_and_adds_nothing(app, option, value, field):
    arguments = list(AGENCY)
    arguments[arguments.index(option) + 1] = value
    added = _cli(app, "add", *arguments, "--json")
    assert added.exit_code == 2
    assert f"error: {field}:" in added.stderr
    assert added.stdout == ""
    with app.app_context():
        assert db.session.query(Partner).count() == 0


def test_private_addresses_are_allowed_when_configured(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    try:
        arguments = list(AGENCY)
        arguments[arguments.index("--webhook-url") + 1] = "http://127.0.0.1:8080/hooks"
        assert _cli(app, "add", *arguments).exit_code == 0
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(app):
    first = json.loads(_cli(app, "add", *AGENCY, "--json").stdout)
    rotated = _cli(app, "rotate-secret", first["id"], "--json")
    assert rotated.exit_code == 0
    second = json.loads(rotated.stdout)["secret"]
    assert second != first["secret"]
    with app.app_context():
        partner = find_partner(first["id"])
        assert signing_secrets(partner) == [second, first["secret"]]
        with clock.travel_to(clock.now() + timedelta(hours=25)):
            assert signing_secrets(partner) == [second]


def test_disabling_an_agency_keeps_it_listed_as_disabled(app):
    first = json.loads(_cli(app, "add", *AGENCY, "--json").stdout)
    assert _cli(app, "disable", first["id"], "--reason", "contract ended").exit_code == 0
    [listed] = json.loads(_cli(app, "list", "--json").stdout)["partners"]
    assert listed["active"] is False
    unknown = _cli(app, "disable", "no-such-agency", "--reason", "x")
    assert unknown.exit_code == 2 and "partner" in unknown.stderr


def test_a_disabled_agency_is_enabled_again_at_a_new_checked_address(app):
    first = json.loads(_cli(app, "add", *AGENCY, "--json").stdout)
    _cli(app, "disable", first["id"], "--reason", "the endpoint answered 410")
    refused = _cli(app, "enable", first["id"], "--webhook-url", "http://odr.partner.example/new")
    assert refused.exit_code == 2 and "webhook_url" in refused.stderr
    with app.app_context():
        assert find_partner(first["id"]).active is False  # nothing half-done
    enabled = _cli(app, "enable", first["id"], "--webhook-url", "https://odr.partner.example/v2")
    assert enabled.exit_code == 0, enabled.stderr
    with app.app_context():
        partner = find_partner(first["id"])
        assert (partner.active, partner.disabled_reason) == (True, None)
        assert partner.webhook_url == "https://odr.partner.example/v2"
