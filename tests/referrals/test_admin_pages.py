"""The case managers' pages for partner agencies (issue 7): the directory, adding an agency (its
API token and signing secret shown once), disabling it, rotating its secret, and retrying the
webhooks that went dead. Everyone else gets 404."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases.models import Case
from odr.delivery.models import OutboxMessage
from odr.extensions import db
from odr.referrals.directory import (
    ROTATION_GRACE,
    add_partner,
    disable_partner,
    find_partner,
    rotate_secret,
)
from odr.referrals.models import Partner, PartnerSecret, Referral
from odr.referrals.secrets import signing_secrets
from odr.referrals.webhooks import queue_webhook
from tests.cases.test_query_count import _queries_for
from tests.factories import lodge, make_user
from tests.referrals.test_webhooks import outbox, queue, run_schedule

AGENCY_FORM = {
    "name": "Schlichtungsstelle Online",
    "countries": "DE, AT",
    "languages": "de,en",
    "webhook_url": "https://odr.partner.example/hooks",
    "legal_basis": "Art. 6(1)(a) GDPR: the consumer's consent.",
    "email": "Desk@Partner.example",
}
TOKEN = re.compile(r"odr_[A-Za-z0-9_-]{20,}")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{40,}={0,2}")


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def agency(app, name: str = "Schlichtungsstelle Online", **fields) -> Partner:
    slug = re.sub(r"\W+", "-", name.lower())
    values = {
        "countries": ["DE", "AT"],
        "languages": ["de", "en"],
        "webhook_url": f"https://{slug}.example/hooks",
        "legal_basis": "Art. 6(1)(a) GDPR: the consumer's consent.",
        "user_email": f"desk@{slug}.example",
        **fields,
    }
    with app.app_context():
        partner, _user, _token, _secret = add_partner(name=name, **values)
        db.session.refresh(partner)
        db.session.expunge(partner)
    return partner


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def dead_webhook(app, partner: Partner, event: str = "referral.created") -> int:
    """A webhook that went dead after its last attempt, as the outbox leaves one."""
    with app.app_context():
        message_id = queue_webhook(partner, event, {"referral": "3f1c"}, case_id=None)
        error = "WebhookFailed: the endpoint answered 503"
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == message_id)
            .values(attempts=7, last_error=error, dead_at=clock.now())
        )
        db.session.commit()
        return db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == message_id)
        )


@pytest.fixture
def manager(app, web):
    user = make_user(app, "case_manager")
    web.login(user.email)
    return user


# ---- adding an agency ---------------------------------------------------------------------------


def test_a_case_manager_adds_an_agency_and_sees_its_token_and_secret_once(app, web, manager):
    assert web.get("/admin/partners/new").status_code == 200

    added = web.post("/admin/partners/new", AGENCY_FORM)

    assert added.status_code == 200  # the page itself, not a redirect that would lose them
    assert added.headers["Cache-Control"] == "no-store"
    page = text(added)
    assert "Copy both now: they are shown only this once." in page
    [token] = TOKEN.findall(page)
    [secret] = SECRET.findall(page)
    with app.app_context():
        partner = db.session.scalar(sa.select(Partner))
        assert (partner.name, partner.countries, partner.languages, partner.active) == (
            "Schlichtungsstelle Online",
            ["DE", "AT"],
            ["de", "en"],
            True,
        )
        assert signing_secrets(partner) == [secret]
        user = db.session.scalar(sa.select(User).where(User.partner_id == partner.id))
        assert (user.email, user.role) == ("desk@partner.example", "partner")

    referrals = app.test_client().get(
        "/api/v1/referrals", headers={"Authorization": f"Bearer {token}"}
    )
    assert referrals.status_code == 200, referrals.get_json()

    directory = web.get("/admin/partners")
    assert directory.status_code == 200
    listed = directory.get_data(as_text=True)
    assert "Schlichtungsstelle Online" in listed and "https://odr.partner.example/hooks" in listed
    assert token not in listed and secret not in listed  # shown once, never again


def test_a_bad_agency_form_is_refused_naming_each_field_and_adds_nothing(app, web, manager):
    web.get("/admin/partners/new")
    form = {
        **AGENCY_FORM,
        "name": "",
        "countries": "DE,XX",
        "webhook_url": "http://odr.partner.example/hooks",
    }

    refused = web.post("/admin/partners/new", form)

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    for field in ("name", "countries", "webhook_url"):
        assert f'id="{field}-error"' in page
    assert not any(f'id="{f}-error"' in page for f in ("languages", "legal_basis", "email"))
    assert "Use an https:// address." in text(refused)
    assert 'value="DE,XX"' in page  # what was typed stays, to be corrected
    assert not TOKEN.search(page) and not SECRET.search(page)
    assert count(app, Partner) == count(app, PartnerSecret) == 0
    assert count(app, User) == 1  # the case manager alone


@pytest.mark.parametrize("email", ["not-an-address", ""])
def test_a_bad_email_address_is_refused_and_adds_nothing(app, web, manager, email):
    web.get("/admin/partners/new")

    refused = web.post("/admin/partners/new", {**AGENCY_FORM, "email": email})

    assert refused.status_code == 422
    assert 'id="email-error"' in refused.get_data(as_text=True)
    assert count(app, Partner) == 0


# ---- disabling and rotating ---------------------------------------------------------------------


def test_disabling_an_agency_needs_a_reason_and_marks_it_inactive(app, web, manager):
    partner = agency(app)
    web.get("/admin/partners")

    refused = web.post(f"/admin/partners/{partner.public_id}/disable", {"reason": "  "})
    assert refused.status_code == 422
    assert f'id="reason-{partner.public_id}-error"' in refused.get_data(as_text=True)
    with app.app_context():
        assert find_partner(partner.public_id).active

    disabled = web.post(
        f"/admin/partners/{partner.public_id}/disable",
        {"reason": "The agency closed its ODR service."},
    )

    assert disabled.status_code == 303
    assert disabled.headers["Location"].endswith("/admin/partners")
    with app.app_context():
        stored = find_partner(partner.public_id)
        assert (stored.active, stored.disabled_reason) == (
            False,
            "The agency closed its ODR service.",
        )
    page = text(web.get("/admin/partners"))
    assert "Schlichtungsstelle Online is disabled" in page
    assert "Status disabled: The agency closed its ODR service." in page


def test_a_disabled_agency_is_enabled_again_from_the_directory(app, web, manager):
    partner = agency(app)
    with app.app_context():
        disable_partner(find_partner(partner.public_id), "the endpoint answered 410")
    web.get("/admin/partners")
    path = f"/admin/partners/{partner.public_id}/enable"

    refused = web.post(path, {"webhook_url": "https://10.0.0.7/hooks"})
    assert refused.status_code == 422
    assert f'id="webhook-{partner.public_id}-error"' in refused.get_data(as_text=True)
    with app.app_context():
        assert not find_partner(partner.public_id).active

    enabled = web.post(path, {"webhook_url": ""})  # back at its old address
    assert enabled.status_code == 303
    with app.app_context():
        stored = find_partner(partner.public_id)
        assert (stored.active, stored.webhook_url) == (True, partner.webhook_url)
    assert "receives referrals and webhooks again" in text(web.get("/admin/partners"))


def test_rotating_shows_a_new_secret_and_both_sign_during_the_grace(app, web, manager):
    partner = agency(app)
    with app.app_context():
        [old] = signing_secrets(find_partner(partner.public_id))
    web.get("/admin/partners")
    started = clock.now()

    rotated = web.post(f"/admin/partners/{partner.public_id}/rotate-secret")

    assert rotated.status_code == 200
    assert rotated.headers["Cache-Control"] == "no-store"
    page = text(rotated)
    [new] = SECRET.findall(page)
    assert new != old and old not in page
    assert "shown only this once" in page
    assert "each webhook is signed with both the previous secret and this one" in page
    with app.app_context():
        stored = find_partner(partner.public_id)
        assert signing_secrets(stored) == [new, old]
        retires = db.session.scalar(
            sa.select(PartnerSecret.retires_at).where(PartnerSecret.retires_at.is_not(None))
        )
        assert started + ROTATION_GRACE <= retires <= clock.now() + ROTATION_GRACE
        with clock.travel_to(retires + timedelta(seconds=1)):
            assert signing_secrets(stored) == [new]
    assert "Rotation running" in text(web.get("/admin/partners"))


def test_replacing_the_api_token_shows_a_new_one_and_stops_the_old(app, web, manager):
    slug = "schlichtungsstelle-online"
    with app.app_context():
        partner, _user, old, _secret = add_partner(
            name="Schlichtungsstelle Online",
            countries=["DE"],
            languages=["de"],
            webhook_url=f"https://{slug}.example/hooks",
            legal_basis="Art. 6(1)(a) GDPR: the consumer's consent.",
            user_email=f"desk@{slug}.example",
        )
        public_id = partner.public_id
    client = app.test_client()

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return client.get("/api/v1/referrals", headers=headers).status_code

    assert status(old) == 200
    web.get("/admin/partners")

    replaced = web.post(f"/admin/partners/{public_id}/token")

    assert replaced.status_code == 200 and replaced.headers["Cache-Control"] == "no-store"
    page = text(replaced)
    [new] = TOKEN.findall(page)
    assert new != old and "shown only this once" in page and not SECRET.findall(page)
    assert (status(new), status(old)) == (200, 401)
    directory = web.get("/admin/partners").get_data(as_text=True)
    assert new not in directory
    assert '<dd class="api-tokens">1</dd>' in directory


# ---- dead webhooks ------------------------------------------------------------------------------


def test_a_dead_webhook_is_listed_and_retry_makes_it_due_again(app, web, manager, monkeypatch):
    partner = agency(app)
    message_id = dead_webhook(app, partner, "referral.withdrawn")
    scheduled = []
    monkeypatch.setattr(
        "odr.referrals.webhooks.schedule_delivery", lambda: scheduled.append(True)
    )  # the row stays due, as it does until the queue's worker picks it up

    listed = text(web.get("/admin/webhooks"))
    with app.app_context():
        webhook_id = db.session.get(OutboxMessage, message_id).idempotency_key
    for shown in ("Schlichtungsstelle Online", "referral.withdrawn", webhook_id, "503"):
        assert shown in listed

    retried = web.post(f"/admin/webhooks/{message_id}/retry")

    assert retried.status_code == 303
    assert retried.headers["Location"].endswith("/admin/webhooks")
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.dead_at, message.attempts, message.delivered_at) == (None, 0, None)
        assert message.next_attempt_at <= clock.now()
    assert scheduled == [True]
    after = text(web.get("/admin/webhooks"))
    assert "The webhook goes out again now." in after
    assert webhook_id not in after

    again = web.post(f"/admin/webhooks/{message_id}/retry")
    assert again.status_code == 303
    assert "no longer waiting for a retry" in text(web.get("/admin/webhooks"))
    assert scheduled == [True]


def test_a_dead_webhook_retried_from_the_page_reaches_the_agency(
    app, web, manager, partner_simulator, simulated_partner
):
    partner_simulator.answer = "error"
    webhook_id = queue(app, simulated_partner)
    run_schedule(app, webhook_id)
    dead = outbox(app, webhook_id)
    assert webhook_id in text(web.get("/admin/webhooks"))

    partner_simulator.answer = "ok"
    assert web.post(f"/admin/webhooks/{dead.id}/retry").status_code == 303

    delivered = outbox(app, webhook_id)
    assert delivered.delivered_at is not None and delivered.dead_at is None
    last = partner_simulator.received[-1]
    assert last.answered == 204 and last.headers["webhook-id"] == webhook_id


def test_dead_webhooks_page_newest_first_in_a_fixed_number_of_queries(app, web, manager):
    partner = agency(app)
    ids = [dead_webhook(app, partner) for _ in range(53)]
    with app.app_context():
        query = sa.select(OutboxMessage.id, OutboxMessage.idempotency_key)
        keys = dict(db.session.execute(query).all())

    def listed(page: str) -> list[str]:
        return list(dict.fromkeys(re.findall(r"msg_[0-9a-f]{32}", page)))

    first = web.get("/admin/webhooks").get_data(as_text=True)
    assert listed(first) == [keys[i] for i in reversed(ids)][:50]
    assert f'href="/admin/webhooks?before={ids[3]}"' in first
    second = web.get(f"/admin/webhooks?before={ids[3]}").get_data(as_text=True)
    assert listed(second) == [keys[i] for i in reversed(ids[:3])]
    assert 'href="/admin/webhooks?before=' not in second

    assert _queries_for(app, lambda: web.get("/admin/webhooks")) == _queries_for(
        app, lambda: web.get(f"/admin/webhooks?before={ids[3]}")
    )


# ---- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consumer", "mediator", "partner", "unverified-case_manager"])
def test_only_a_verified_case_manager_reaches_the_partner_admin_pages(app, web, role):
    partner = agency(app)
    message_id = dead_webhook(app, partner)
    if role == "partner":
        user = make_user(app, "partner", partner_id=partner.id)
    elif role == "unverified-case_manager":
        user = make_user(app, "case_manager", verified=False)
    else:
        user = make_user(app, role)
    web.login(user.email)

    assert web.get("/admin/partners").status_code == 404
    assert web.get("/admin/partners/new").status_code == 404
    assert web.post("/admin/partners/new", {**AGENCY_FORM, "name": "Other"}).status_code == 404
    disable = web.post(f"/admin/partners/{partner.public_id}/disable", {"reason": "no"})
    assert disable.status_code == 404
    assert web.post(f"/admin/partners/{partner.public_id}/rotate-secret").status_code == 404
    assert web.get("/admin/webhooks").status_code == 404
    assert web.post(f"/admin/webhooks/{message_id}/retry").status_code == 404

    with app.app_context():
        stored = find_partner(partner.public_id)
        assert stored.active and len(signing_secrets(stored)) == 1
        assert db.session.get(OutboxMessage, message_id).dead_at is not None
    assert count(app, Partner) == 1


def test_an_unknown_agency_or_webhook_is_404(app, web, manager):
    web.get("/admin/partners")
    assert web.post("/admin/partners/no-such-agency/rotate-secret").status_code == 404
    assert web.post("/admin/partners/no-such-agency/disable", {"reason": "x"}).status_code == 404


# ---- cost ---------------------------------------------------------------------------------------


def _grow_directory(app, api, up_to: int) -> None:
    """Agencies up to `up_to`, each with an open referral and a rotation running."""
    claimant = api.as_user(make_user(app, "consumer"))
    dispute = lodge(claimant, respondent_email=f"shop{up_to}@merchant.example")
    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.public_id == dispute["id"]))
        present = db.session.scalar(sa.select(sa.func.count()).select_from(Partner))
    for n in range(present, up_to):
        partner = agency(app, f"Agency {n}")
        with app.app_context():
            db.session.add(Referral(case_id=case_id, partner_id=partner.id, transfer={}))
            db.session.commit()
            rotate_secret(find_partner(partner.public_id))


def test_the_directory_costs_the_same_queries_for_2_or_20_agencies(app, api, web, manager):
    def directory():
        assert web.get("/admin/partners").status_code == 200

    _grow_directory(app, api, 2)
    small = _queries_for(app, directory)
    _grow_directory(app, api, 20)
    large = _queries_for(app, directory)

    assert small == large
    page = web.get("/admin/partners").get_data(as_text=True)
    assert page.count('<dd class="open-referrals">1</dd>') == 20
    assert text(web.get("/admin/partners")).count("Rotation running") == 20
