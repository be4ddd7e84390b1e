"""Who may act for whom: the respondent's invitation link, a merchant's own staff, and the
provider's staff created by a case manager."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from odr import clock
from odr.accounts.models import User
from odr.cases.models import Case, Event, RespondentLink
from odr.extensions import db
from tests.factories import PASSWORD, ApiClient, lodge, make_user, token_from_before

SHOP = "shop@merchant.example"
OFFER = {"amount": {"amount": "60.00", "currency": "EUR"}, "remedy": "partial_refund", "terms": "t"}
NEW_PASSWORD = "violet anchor museum drizzle"
INVITATION = re.compile(r"https://odr\.test(/invitations/[A-Za-z0-9_.\-]+)")
WELCOME = re.compile(r"https://odr\.test(/password/welcome/[A-Za-z0-9_.\-]+)")


# ---- helpers ------------------------------------------------------------------------------------


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def timeline(response) -> str:
    page = text(response)
    return page[page.index('id="timeline-h"') :].split("</section>")[0]


def link_in(messages, pattern: re.Pattern) -> str:
    assert messages, "no mail was sent"
    body = messages[-1].get_body(("plain",)).get_content()
    found = pattern.search(body)
    assert found, body
    return found.group(1)


def invitation_for(mailbox, dispute: dict, address: str = SHOP) -> str:
    """The path of the invitation link in the lodging mail of this dispute."""
    mails = [m for m in mailbox.to(address) if dispute["reference"] in m["Subject"]]
    return link_in(mails, INVITATION)


def user_by_email(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None, email
        db.session.expunge(user)
    return user


def events(app, dispute: dict) -> list[Event]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Event)
            .join(Case, Case.id == Event.case_id)
            .where(Case.public_id == dispute["id"])
            .order_by(Event.seq)
        ).all()
        db.session.expunge_all()
    return list(rows)


def respondent_links(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(RespondentLink))


def sign_up_merchant(web, email: str, name: str):
    return web.post(
        "/signup",
        {
            "role": "merchant",
            "name": name,
            "email": email,
            "country": "DE",
            "language": "en",
            "timezone": "Europe/Berlin",
            "password": PASSWORD,
            "terms": "yes",
        },
    )


def choose_password(web, welcome_path: str, password: str = NEW_PASSWORD):
    assert web.get(welcome_path).status_code == 200
    return web.post(welcome_path, {"new_password": password, "confirm_password": password})


def assert_cannot_see(web, api_client, dispute: dict) -> None:
    assert web.get(f"/disputes/{dispute['id']}").status_code == 404
    assert dispute["reference"] not in text(web.get("/disputes"))
    assert api_client.get(f"/api/v1/disputes/{dispute['id']}").status_code == 404
    listed = api_client.get("/api/v1/disputes").get_json()["items"]
    assert dispute["id"] not in [item["id"] for item in listed]


def assert_unconfirmed_sees_nothing(web, api_client, dispute: dict) -> None:
    """An account whose address is not confirmed: no page of the dispute, and its API token
    (one from before tokens needed a confirmed address) is refused outright."""
    assert web.get(f"/disputes/{dispute['id']}").status_code == 404
    assert dispute["reference"] not in text(web.get("/disputes"))
    assert api_client.get(f"/api/v1/disputes/{dispute['id']}").status_code == 403
    assert api_client.get("/api/v1/disputes").status_code == 403


def join(web, path: str):
    """Open the invitation link, then confirm on its page."""
    assert web.get(path).status_code == 200
    return web.post(path)


def unconfirmed_client(app, user) -> ApiClient:
    client = ApiClient(app)
    client.token = token_from_before(app, user)
    return client


def assert_can_see(web, api_client, dispute: dict) -> None:
    assert web.get(f"/disputes/{dispute['id']}").status_code == 200
    assert dispute["reference"] in text(web.get("/disputes"))
    assert api_client.get(f"/api/v1/disputes/{dispute['id']}").status_code == 200
    listed = api_client.get("/api/v1/disputes").get_json()["items"]
    assert dispute["id"] in [item["id"] for item in listed]


# ---- the invitation -----------------------------------------------------------------------------


def test_a_merchant_without_an_account_signs_up_from_the_link_and_sees_the_dispute_at_once(
    app, api, web, mailbox
):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)

    path = invitation_for(mailbox, dispute)
    invited = web.get(path)
    assert invited.status_code == 200
    assert SHOP in text(invited)
    # The link proved the address: the account is ready, and the merchant comes back to the
    # invitation to confirm it.
    signed_up = sign_up_merchant(web, SHOP, name="Klaus Becker")
    assert signed_up.status_code == 303 and signed_up.headers["Location"] == path
    merchant = user_by_email(app, SHOP)
    assert merchant.role == "merchant"
    assert merchant.email_verified, "following the link proves the address"
    assert [e.kind for e in events(app, dispute)] == ["lodged"]  # nothing joined by itself
    assert join(web, path).status_code == 303

    listing = web.get("/disputes")
    assert dispute["reference"] in text(listing)
    assert "Please confirm your e-mail address" not in text(listing)
    page = web.get(f"/disputes/{dispute['id']}")
    assert page.status_code == 200
    assert "The merchant joined the dispute" in timeline(page)
    assert "Klaus Becker" in timeline(page)
    assert [e.kind for e in events(app, dispute)] == ["lodged", "respondent_joined"]
    assert events(app, dispute)[-1].actor_id == merchant.id
    assert api.as_user(merchant).get(f"/api/v1/disputes/{dispute['id']}").status_code == 200


def test_a_merchant_logged_in_with_another_address_takes_the_dispute_into_that_account(
    app, api, web, mailbox
):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    merchant = make_user(app, "merchant", email="disputes@rheinland.example", name="Jana Roth")
    web.login(merchant.email)

    joined = join(web, invitation_for(mailbox, dispute))

    assert joined.status_code == 303
    assert_can_see(web, api.as_user(merchant), dispute)
    page = web.get(f"/disputes/{dispute['id']}")
    assert "The merchant joined the dispute" in timeline(page)
    assert "Jana Roth" in timeline(page)
    assert events(app, dispute)[-1].actor_id == merchant.id


def test_an_unverified_account_that_merely_names_the_respondents_address_sees_nothing(
    app, api, make_web, mailbox
):
    squatter = make_user(app, "merchant", email=SHOP, verified=False)
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    web = make_web()
    web.login(SHOP)

    assert_unconfirmed_sees_nothing(web, unconfirmed_client(app, squatter), dispute)


def test_the_unverified_namesake_still_sees_nothing_after_another_merchant_joined(
    app, api, make_web, mailbox
):
    squatter = make_user(app, "merchant", email=SHOP, verified=False)
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    merchant = make_user(app, "merchant", email="disputes@rheinland.example")
    joiner = make_web()
    joiner.login(merchant.email)
    assert join(joiner, invitation_for(mailbox, dispute)).status_code == 303
    web = make_web()
    web.login(SHOP)

    assert_unconfirmed_sees_nothing(web, unconfirmed_client(app, squatter), dispute)
    assert_can_see(joiner, api.as_user(merchant), dispute)


def test_an_invitation_link_works_once(app, api, make_web, mailbox):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)
    first, second = make_user(app, "merchant"), make_user(app, "merchant")
    first_web, second_web = make_web(), make_web()
    first_web.login(first.email)
    second_web.login(second.email)

    assert join(first_web, path).status_code == 303
    again = second_web.get(path)

    assert again.status_code == 400
    assert "This link has already been used." in text(again)
    assert make_web().get(path).status_code == 400
    assert_cannot_see(second_web, api.as_user(second), dispute)
    assert respondent_links(app) == 1


def test_an_altered_invitation_link_is_refused(app, api, web, mailbox):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    signed, signature = invitation_for(mailbox, dispute).rsplit(".", 1)
    altered = f"{signed}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    merchant = make_user(app, "merchant")
    web.login(merchant.email)

    refused = web.get(altered)

    assert refused.status_code == 400
    assert "This link is not valid" in text(refused)
    assert_cannot_see(web, api.as_user(merchant), dispute)
    assert respondent_links(app) == 0


def test_an_invitation_link_expires_after_30_days(app, api, make_web, mailbox):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)
    sent = clock.now()

    with clock.travel_to(sent + timedelta(days=29, hours=23)):
        assert make_web().get(path).status_code == 200
    with clock.travel_to(sent + timedelta(days=30, minutes=1)):
        merchant = make_user(app, "merchant")
        web = make_web()
        web.login(merchant.email)
        late = web.get(path)
        assert late.status_code == 400
        assert "This link has expired." in text(late)
        assert_cannot_see(web, api.as_user(merchant), dispute)
    assert respondent_links(app) == 0


def test_an_invitation_for_one_dispute_does_not_open_another(app, api, web, mailbox):
    claimant = api.as_user(make_user(app, "consumer"))
    first = lodge(claimant, respondent_email=SHOP)
    second = lodge(claimant, respondent_email=SHOP)
    merchant = make_user(app, "merchant", email="disputes@rheinland.example")
    web.login(merchant.email)

    assert join(web, invitation_for(mailbox, first)).status_code == 303

    client = api.as_user(merchant)
    assert_can_see(web, client, first)
    assert_cannot_see(web, client, second)


def test_a_consumer_logged_in_who_follows_the_link_cannot_join(app, api, web, mailbox):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    bystander = make_user(app, "consumer")
    web.login(bystander.email)

    followed = web.get(invitation_for(mailbox, dispute))

    assert followed.status_code in (200, 403)
    assert "is now in your account" not in text(followed)
    assert_cannot_see(web, api.as_user(bystander), dispute)
    assert respondent_links(app) == 0
    assert [e.kind for e in events(app, dispute)] == ["lodged"]


def _log_in_as_consumer(web, app):
    consumer = make_user(app, "consumer")
    answer = web.post("/login", {"email": consumer.email, "password": PASSWORD})
    return consumer, answer, 302, True


def _sign_up_as_consumer(web, app):
    answer = web.post(
        "/signup",
        {
            "role": "consumer",
            "name": "Li Wei",
            "email": "li.wei@example.com",
            "country": "CN",
            "language": "en",
            "timezone": "Asia/Shanghai",
            "password": PASSWORD,
            "terms": "yes",
        },
    )
    # A new account is logged in only once its verification link is followed.
    return user_by_email(app, "li.wei@example.com"), answer, 200, False


@pytest.mark.parametrize(
    "enter", [_log_in_as_consumer, _sign_up_as_consumer], ids=["log-in", "sign-up"]
)
def test_a_consumer_who_enters_after_following_the_link_does_not_join(
    app, api, web, mailbox, enter
):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    assert web.get(invitation_for(mailbox, dispute)).status_code == 200

    consumer, answer, expected, logged_in = enter(web, app)

    # The log-in or sign-up itself succeeds and answers as usual; only the joining is refused.
    assert answer.status_code == expected, text(answer)[:300]
    assert web.get("/disputes").status_code == (200 if logged_in else 302)
    if logged_in:
        assert_cannot_see(web, api.as_user(consumer), dispute)
    else:
        held = unconfirmed_client(app, consumer)
        assert held.get(f"/api/v1/disputes/{dispute['id']}").status_code == 403
    assert respondent_links(app) == 0
    assert [e.kind for e in events(app, dispute)] == ["lodged"]


# ---- a merchant's own staff ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["web", "api"])
def test_a_staff_member_added_by_the_merchant_acts_for_it_under_their_own_name(
    app, api, web, make_web, mailbox, channel
):
    owner = make_user(app, "merchant", email=SHOP, name="Rheinland Owner")
    consumer = make_user(app, "consumer")
    dispute = lodge(api.as_user(consumer), respondent_email=SHOP)
    web.login(owner.email)
    assert web.get("/account").status_code == 200

    added = web.post("/account/staff", {"name": "Mei Chen", "email": "mei@merchant.example"})

    assert added.status_code == 303
    assert "mei@merchant.example" in text(web.get("/account"))
    staff_web = make_web()
    welcome = link_in(mailbox.to("mei@merchant.example"), WELCOME)
    chosen = choose_password(staff_web, welcome)
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith("/login")
    staff_web.login("mei@merchant.example", NEW_PASSWORD)
    staff = user_by_email(app, "mei@merchant.example")
    assert staff.merchant_id == owner.id
    assert dispute["reference"] in text(staff_web.get("/disputes"))

    if channel == "web":
        made = staff_web.post(
            f"/disputes/{dispute['id']}/offers",
            {
                "amount.amount": "60.00",
                "amount.currency": "EUR",
                "remedy": "partial_refund",
                "terms": "Half back; keep the headphones.",
            },
        )
        assert made.status_code == 302
    else:
        made = api.as_user(staff).post(f"/api/v1/disputes/{dispute['id']}/offers", OFFER)
        assert made.status_code == 201, made.get_json()

    offer_event = events(app, dispute)[-1]
    assert offer_event.kind == "make_offer"
    assert offer_event.actor_id == staff.id
    assert offer_event.actor_role == "respondent"
    consumer_web = make_web()
    consumer_web.login(consumer.email)
    assert "Mei Chen" in timeline(consumer_web.get(f"/disputes/{dispute['id']}"))
    assert "Mei Chen" in timeline(web.get(f"/disputes/{dispute['id']}"))


def test_a_deactivated_staff_account_loses_access_at_once(app, api, web, make_web, mailbox):
    owner = make_user(app, "merchant", email=SHOP)
    staff = make_user(app, "merchant", merchant_id=owner.id, name="Mei Chen")
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    staff_web, staff_api = make_web(), api.as_user(staff)
    staff_web.login(staff.email)
    assert staff_web.get(f"/disputes/{dispute['id']}").status_code == 200
    assert staff_api.get(f"/api/v1/disputes/{dispute['id']}").status_code == 200
    web.login(owner.email)
    web.get("/account")

    assert web.post(f"/account/staff/{staff.id}/deactivate").status_code == 303

    cut_off = staff_web.get(f"/disputes/{dispute['id']}")
    assert cut_off.status_code == 302 and "/login" in cut_off.headers["Location"]
    assert staff_api.get(f"/api/v1/disputes/{dispute['id']}").status_code == 401
    assert staff_api.get("/api/v1/me").status_code == 401
    again = make_web()
    again.get("/login")
    assert again.post("/login", {"email": staff.email, "password": PASSWORD}).status_code == 401
    assert "deactivated" in text(web.get("/account"))
    assert web.get(f"/disputes/{dispute['id']}").status_code == 200  # the merchant keeps it


@pytest.mark.parametrize("target", ["another merchant's staff", "another merchant", "a consumer"])
def test_a_merchant_can_deactivate_only_its_own_staff(app, web, target):
    owner = make_user(app, "merchant")
    other = make_user(app, "merchant")
    victim = {
        "another merchant's staff": lambda: make_user(app, "merchant", merchant_id=other.id),
        "another merchant": lambda: other,
        "a consumer": lambda: make_user(app, "consumer"),
    }[target]()
    web.login(owner.email)
    web.get("/account")

    assert web.post(f"/account/staff/{victim.id}/deactivate").status_code == 404
    assert user_by_email(app, victim.email).active


# ---- the provider's staff -----------------------------------------------------------------------

MEDIATOR = {
    "role": "mediator",
    "name": "Anna Weber",
    "email": "Anna.Weber@Mediators.example",
    "country": "de",
    "language": "en",
    "languages": ["en", "zh_Hans"],
    "caseload_ceiling": "12",
    "conflicts": "Rheinland Electronics\nshop.example, Other@Shop.example",
}


def test_a_case_manager_creates_a_mediator_who_chooses_a_password_from_the_welcome_link(
    app, web, make_web, mailbox
):
    manager = make_user(app, "case_manager")
    web.login(manager.email)
    assert web.get("/admin/users/new").status_code == 200

    created = web.post("/admin/users/new", MEDIATOR)

    assert created.status_code == 303
    mediator = user_by_email(app, "anna.weber@mediators.example")
    assert mediator.role == "mediator"
    assert mediator.name == "Anna Weber"
    assert mediator.country == "DE"
    assert mediator.languages == ["en", "zh_Hans"]
    assert mediator.caseload_ceiling == 12
    assert mediator.conflicts == ["rheinland electronics", "shop.example", "other@shop.example"]
    assert mediator.password_hash is None and not mediator.email_verified
    assert "Anna Weber" in text(web.get("/admin/users"))

    mediator_web = make_web()
    chosen = choose_password(mediator_web, link_in(mailbox.to(mediator.email), WELCOME))
    assert chosen.status_code == 302
    mediator_web.login(mediator.email, NEW_PASSWORD)
    assert mediator_web.get("/disputes").status_code == 200
    assert user_by_email(app, mediator.email).email_verified


@pytest.mark.parametrize(
    ("role", "fields"),
    [
        ("consumer", {}),
        ("merchant", {}),
        ("mediator", {}),
        ("arbitrator", {}),
        ("platform", {}),
        ("partner", {}),
        pytest.param("case_manager", {"verified": False}, id="unverified-case_manager"),
    ],
)
def test_anyone_but_a_verified_case_manager_gets_404_on_admin_pages(app, web, role, fields):
    victim = make_user(app, "consumer")
    user = make_user(app, role, **fields)
    web.login(user.email)

    assert web.get("/admin/users").status_code == 404
    assert web.get("/admin/users/new").status_code == 404
    assert web.post("/admin/users/new", MEDIATOR).status_code == 404
    assert web.post(f"/admin/users/{victim.id}/deactivate").status_code == 404

    assert user_by_email(app, victim.email).active
    with app.app_context():
        created = sa.select(User).where(User.email == "anna.weber@mediators.example")
        assert db.session.scalar(created) is None


@pytest.mark.parametrize(
    "role", ["consumer", "merchant", "mediator", "arbitrator", "case_manager", "platform"]
)
def test_a_case_manager_can_deactivate_any_account(app, api, web, make_web, role):
    manager = make_user(app, "case_manager")
    target = make_user(app, role)
    target_api, target_web = api.as_user(target), make_web()
    target_web.login(target.email)
    web.login(manager.email)
    assert target.email in text(web.get("/admin/users"))

    assert web.post(f"/admin/users/{target.id}/deactivate").status_code == 303

    assert not user_by_email(app, target.email).active
    assert target_api.get("/api/v1/me").status_code == 401
    assert target_web.get("/disputes").status_code == 302
    assert "deactivated" in text(web.get("/admin/users"))


def test_a_case_manager_cannot_deactivate_their_own_account(app, api, web):
    manager = make_user(app, "case_manager")
    manager_api = api.as_user(manager)
    web.login(manager.email)
    web.get("/admin/users")

    assert web.post(f"/admin/users/{manager.id}/deactivate").status_code == 303

    assert "You cannot deactivate your own account." in text(web.get("/admin/users"))
    assert user_by_email(app, manager.email).active
    assert manager_api.get("/api/v1/me").status_code == 200
    assert web.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "king"),
        ("role", "merchant"),
        ("email", "not-an-address"),
        ("email", ""),
        ("caseload_ceiling", "0"),
        ("caseload_ceiling", "10001"),
        ("caseload_ceiling", "-3"),
        ("caseload_ceiling", "twelve"),
    ],
)
def test_a_bad_staff_field_is_refused_naming_the_field(app, web, mailbox, field, value):
    manager = make_user(app, "case_manager")
    web.login(manager.email)
    web.get("/admin/users/new")

    refused = web.post("/admin/users/new", {**MEDIATOR, field: value})

    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert 'aria-invalid="true"' in page
    others = {"role", "email", "caseload_ceiling"} - {field}
    assert not any(f'id="{other}-error"' in page for other in others)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert mailbox.messages == []
