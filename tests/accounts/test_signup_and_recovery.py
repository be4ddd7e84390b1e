"""Sign-up, e-mail verification, password recovery and e-mail change: what a person sees.

Every e-mail link is read from the mail a real SMTP server received, then followed like a
browser would: once, twice, altered, or too late.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from odr import clock
from odr.accounts.models import User
from odr.accounts.services import find_user_by_email
from odr.extensions import db
from tests.conftest import WebClient
from tests.factories import (
    PASSWORD,
    ApiClient,
    lodge,
    lodging_body,
    make_user,
    token_from_before,
)

NEW_PASSWORD = "amber kettle juniper 58 lanterns"
OTHER_PASSWORD = "violet harbour ferry 91 thistle"
_LINK = r"https://odr\.test({prefix}/[A-Za-z0-9_.\-]+)"


# ---- helpers ------------------------------------------------------------------------------------


def signup_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "role": "consumer",
        "name": "Lin Wei",
        "email": "lin.wei@example.com",
        "country": "CN",
        "language": "en",
        "timezone": "Asia/Shanghai",
        "password": PASSWORD,
        "terms": "yes",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def sign_up(web, **overrides: str):
    web.get("/signup")
    return web.post("/signup", signup_fields(**overrides))


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def mails_with(mailbox, address: str, subject: str) -> list:
    return [m for m in mailbox.to(address) if subject in m["Subject"]]


def links_to(mailbox, address: str, prefix: str) -> list[str]:
    """The paths of every link starting with `prefix` mailed to `address`, oldest first."""
    pattern = re.compile(_LINK.format(prefix=re.escape(prefix)))
    return [path for m in mailbox.to(address) for path in pattern.findall(body_of(m))]


def link_to(mailbox, address: str, prefix: str) -> str:
    found = links_to(mailbox, address, prefix)
    assert found, (
        f"no {prefix} link mailed to {address}: {[m['Subject'] for m in mailbox.to(address)]}"
    )
    return found[-1]


def altered(path: str) -> str:
    """The same link with one character of its token flipped."""
    head, token = path.rsplit("/", 1)
    i = len(token) // 2
    while not token[i].isalnum():
        i += 1
    flipped = "b" if token[i] == "a" else "a"
    return f"{head}/{token[:i]}{flipped}{token[i + 1 :]}"


def stored_user(app, email: str):
    with app.app_context():
        user = find_user_by_email(email)
        if user is not None:
            db.session.expunge(user)
        return user


def page(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response) -> list[str]:
    """The ids of the fields a form page marks as wrong."""
    return re.findall(r'class="field-error" id="([^"]+)-error"', page(response))


def comparable(response, email: str) -> str:
    """A page with the address typed and the (time-signed) CSRF token blanked out."""
    text = page(response).replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" value="[^"]+"', "", text)


def logged_in(web) -> bool:
    return web.client.get("/disputes").status_code == 200


def confirm(web, link: str, password: str | None = PASSWORD):
    """Open a verification link and confirm on its page: with the password, or (None) as the
    account logged in."""
    web.get(link)
    return web.post(link, {"password": password} if password is not None else {})


# ---- sign-up ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consumer", "merchant"])
def test_signing_up_creates_an_unverified_account_and_mails_a_link(app, web, mailbox, role):
    response = sign_up(web, role=role, email="New.Person@Example.com")

    assert response.status_code == 200
    assert "Check your mail" in page(response)
    user = stored_user(app, "new.person@example.com")
    assert user is not None
    assert (user.role, user.name, user.country, user.language, user.timezone) == (
        role,
        "Lin Wei",
        "CN",
        "en",
        "Asia/Shanghai",
    )
    assert not user.email_verified
    assert user.terms_accepted_at is not None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    [mail] = mailbox.to("new.person@example.com")
    assert mail["Subject"] == "Confirm your e-mail address for ODR"
    assert link_to(mailbox, "new.person@example.com", "/account/verify")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "x" * 201),
        ("email", ""),
        ("email", "not-an-address"),
        ("email", "lin.wei@"),
        ("country", ""),
        ("country", "XX"),
        ("country", "China"),
        ("language", ""),
        ("language", "not a language"),
        ("timezone", "Mars/Olympus_Mons"),
        ("role", ""),
        ("role", "case_manager"),
        ("role", "mediator"),
        ("role", "platform"),
        ("password", ""),
        ("password", "short pw 11"),
        ("password", "lin.wei@example.com"),
        ("password", "LIN.WEI@EXAMPLE.COM"),
        ("password", "password1234"),
        ("password", "qwertyuiop12"),
        ("terms", None),
        ("terms", "no"),
    ],
)
def test_sign_up_refuses_each_bad_field_naming_it(app, web, mailbox, field, value):
    response = sign_up(web, **{field: value})

    assert response.status_code == 422
    assert field_errors(response) == [field]
    assert "Check your mail" not in page(response)
    assert stored_user(app, "lin.wei@example.com") is None
    assert mailbox.messages == []


def test_the_sign_up_form_keeps_what_was_typed_but_never_the_password(app, web):
    response = sign_up(web, country="XX")

    assert response.status_code == 422
    assert 'value="lin.wei@example.com"' in page(response)
    assert 'value="Lin Wei"' in page(response)
    assert PASSWORD not in page(response)


def test_signing_up_with_a_taken_address_answers_exactly_like_a_new_one(app, make_web):
    owner = make_user(app, "consumer", name="Original Owner")

    fresh = sign_up(make_web(), email="somebody.new@example.com")
    taken = sign_up(make_web(), email=owner.email, password="unrelated owl 73 saucepan")

    assert taken.status_code == fresh.status_code == 200
    assert comparable(taken, owner.email) == comparable(fresh, "somebody.new@example.com")


def test_signing_up_with_a_taken_address_mails_its_owner_and_changes_nothing(
    app, make_web, mailbox
):
    owner = make_user(app, "consumer", name="Original Owner")

    response = sign_up(make_web(), email=owner.email, password="unrelated owl 73 saucepan")

    assert response.status_code == 200 and "Check your mail" in page(response)
    [notice] = mailbox.to(owner.email)
    assert notice["Subject"] == "Someone tried to sign up with your e-mail address"
    assert "Dear Original Owner," in body_of(notice)
    assert "https://odr.test/password/forgot" in body_of(notice)
    assert links_to(mailbox, owner.email, "/account/verify") == []
    unchanged = stored_user(app, owner.email)
    assert (unchanged.id, unchanged.name, unchanged.role) == (
        owner.id,
        "Original Owner",
        "consumer",
    )
    assert can_log_in(app, owner.email, PASSWORD)
    assert not can_log_in(app, owner.email, "unrelated owl 73 saucepan")


# ---- e-mail verification ------------------------------------------------------------------------


def test_an_unverified_consumer_cannot_lodge_until_the_link_is_followed(app, make_web, mailbox):
    sign_up(make_web(), role="consumer")
    user = stored_user(app, "lin.wei@example.com")
    web = make_web()
    web.login(user.email)
    api = ApiClient(app)
    api.token = token_from_before(app, user)

    refused = web.get("/disputes/new")
    assert refused.status_code == 403
    assert "Confirm your e-mail address first" in page(refused)
    assert "lin.wei@example.com" in page(refused)
    assert api.post("/api/v1/disputes", lodging_body()).status_code == 403
    assert web.post("/disputes/new", {"claim.description": "x"}).status_code == 403

    followed = confirm(web, link_to(mailbox, user.email, "/account/verify"), password=None)
    assert followed.status_code == 303
    assert stored_user(app, user.email).email_verified
    assert "Thank you: your e-mail address is confirmed." in page(web.get("/disputes"))
    assert web.get("/disputes/new").status_code == 200
    assert api.post("/api/v1/disputes", lodging_body()).status_code == 201


def test_an_unverified_merchant_sees_no_dispute_naming_its_address_until_verified(
    app, api, make_web, mailbox
):
    dispute = lodge(
        api.as_user(make_user(app, "consumer")), respondent_email="shop@merchant.example"
    )
    sign_up(make_web(), role="merchant", email="shop@merchant.example", name="Rheinland")
    merchant = stored_user(app, "shop@merchant.example")
    web = make_web()
    web.login(merchant.email)
    merchant_api = ApiClient(app)
    merchant_api.token = token_from_before(app, merchant)

    assert web.get(f"/disputes/{dispute['id']}").status_code == 404
    listing = web.get("/disputes")
    assert listing.status_code == 200 and dispute["reference"] not in page(listing)
    assert merchant_api.get(f"/api/v1/disputes/{dispute['id']}").status_code == 403
    assert merchant_api.get("/api/v1/disputes").status_code == 403

    link = link_to(mailbox, merchant.email, "/account/verify")
    assert confirm(web, link, password=None).status_code == 303

    assert web.get(f"/disputes/{dispute['id']}").status_code == 200
    assert dispute["reference"] in page(web.get("/disputes"))
    assert merchant_api.get(f"/api/v1/disputes/{dispute['id']}").status_code == 200
    listed = merchant_api.get("/api/v1/disputes").get_json()["items"]
    assert [item["id"] for item in listed] == [dispute["id"]]


def test_the_verification_link_needs_the_password_when_not_logged_in(app, make_web, mailbox):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")
    stranger = make_web()

    opened = stranger.get(link)
    assert opened.status_code == 200 and "The password of this account" in page(opened)
    assert not stored_user(app, "lin.wei@example.com").email_verified
    wrong = confirm(stranger, link, OTHER_PASSWORD)
    assert wrong.status_code == 422 and field_errors(wrong) == ["password"]
    assert not stored_user(app, "lin.wei@example.com").email_verified

    assert confirm(stranger, link).status_code == 303
    assert stored_user(app, "lin.wei@example.com").email_verified
    assert logged_in(stranger)


def test_an_altered_verification_link_is_refused(app, make_web, mailbox):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")

    response = make_web().get(altered(link))

    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert not stored_user(app, "lin.wei@example.com").email_verified


def test_a_verification_link_expires_after_48_hours(app, make_web, mailbox):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")

    with clock.travel_to(clock.now() + timedelta(hours=49)):
        response = make_web().get(link)

    assert response.status_code == 400
    assert "This link has expired." in page(response)
    assert not stored_user(app, "lin.wei@example.com").email_verified


def test_a_verification_link_still_works_just_before_48_hours(app, make_web, mailbox):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")

    with clock.travel_to(clock.now() + timedelta(hours=47)):
        assert confirm(make_web(), link).status_code == 303

    assert stored_user(app, "lin.wei@example.com").email_verified


def test_following_a_verification_link_again_is_harmless(app, make_web, mailbox):
    sign_up(make_web())
    web = make_web()
    web.login("lin.wei@example.com")
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")
    assert confirm(web, link, password=None).status_code == 303
    verified_at = stored_user(app, "lin.wei@example.com").email_verified_at

    again = web.get(link)

    assert again.status_code == 200  # the owner's own old link: nothing is wrong
    assert "Your e-mail address is already confirmed." in page(again)
    assert stored_user(app, "lin.wei@example.com").email_verified_at == verified_at
    assert web.get("/disputes/new").status_code == 200


def test_asking_for_the_link_again_mails_a_new_one_that_works(app, make_web, mailbox):
    sign_up(make_web())
    web = make_web()
    web.login("lin.wei@example.com")
    [first] = links_to(mailbox, "lin.wei@example.com", "/account/verify")

    response = web.post("/account/verify/resend")

    assert response.status_code == 302
    assert "We have sent the link again." in page(web.get("/disputes"))
    first_again, second = links_to(mailbox, "lin.wei@example.com", "/account/verify")
    assert first_again == first and second != first
    assert confirm(web, second, password=None).status_code == 303
    assert stored_user(app, "lin.wei@example.com").email_verified


def test_a_verified_account_asking_for_the_link_gets_no_mail(app, web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)

    assert web.post("/account/verify/resend").status_code == 302
    assert mailbox.to(user.email) == []


def test_asking_for_the_link_again_needs_a_log_in(app, web, mailbox):
    response = web.post("/account/verify/resend")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert mailbox.messages == []


# ---- password reset -----------------------------------------------------------------------------


def request_reset(web, email: str):
    web.get("/password/forgot")
    return web.post("/password/forgot", {"email": email})


def set_password(web, link: str, password: str, confirm: str | None = None):
    web.get(link)
    return web.post(link, {"new_password": password, "confirm_password": confirm or password})


def can_log_in(app, email: str, password: str) -> bool:
    web = WebClient(app)
    web.get("/login")
    return web.post("/login", {"email": email, "password": password}).status_code == 302


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(app, make_web, mailbox):
    user = make_user(app, "consumer")

    known = request_reset(make_web(), user.email)
    unknown = request_reset(make_web(), "nobody@example.com")

    assert known.status_code == unknown.status_code == 200
    assert comparable(known, user.email) == comparable(unknown, "nobody@example.com")
    [mail] = mailbox.to(user.email)
    assert mail["Subject"] == "Reset your ODR password"
    # The unknown address is told no account uses it: the same work, so the same time.
    [notice] = mailbox.to("nobody@example.com")
    assert notice["Subject"] == "Your request to reset an ODR password"
    assert links_to(mailbox, "nobody@example.com", "/password/reset") == []


def test_a_deactivated_account_gets_no_reset_link(app, make_web, mailbox):
    user = make_user(app, "consumer")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()

    assert request_reset(make_web(), user.email).status_code == 200
    [notice] = mailbox.to(user.email)
    assert notice["Subject"] == "Your request to reset an ODR password"
    assert links_to(mailbox, user.email, "/password/reset") == []


def test_a_reset_link_sets_a_new_password_and_ends_every_session(app, make_web, mailbox):
    user = make_user(app, "consumer")
    elsewhere = make_web()
    elsewhere.login(user.email)
    request_reset(make_web(), user.email)
    link = link_to(mailbox, user.email, "/password/reset")
    web = make_web()

    form = web.get(link)
    assert form.status_code == 200 and "Choose a new password" in page(form)
    response = set_password(web, link, NEW_PASSWORD)

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert (
        "Your new password is set; every session has ended and your API tokens are revoked."
        in page(web.get("/login"))
    )
    assert not logged_in(elsewhere)
    assert can_log_in(app, user.email, NEW_PASSWORD)
    assert not can_log_in(app, user.email, PASSWORD)


def test_a_reset_link_works_once(app, make_web, mailbox):
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    link = link_to(mailbox, user.email, "/password/reset")
    assert set_password(make_web(), link, NEW_PASSWORD).status_code == 302

    web = make_web()
    again = web.get(link)
    assert again.status_code == 400
    assert "This link has already been used." in page(again)
    replayed = web.post(link, {"new_password": OTHER_PASSWORD, "confirm_password": OTHER_PASSWORD})
    assert replayed.status_code == 400
    assert can_log_in(app, user.email, NEW_PASSWORD)
    assert not can_log_in(app, user.email, OTHER_PASSWORD)


def test_a_reset_link_expires_after_an_hour(app, make_web, mailbox):
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    link = link_to(mailbox, user.email, "/password/reset")
    web = make_web()

    with clock.travel_to(clock.now() + timedelta(minutes=59)):
        assert web.get(link).status_code == 200
    with clock.travel_to(clock.now() + timedelta(minutes=61)):
        expired = web.get(link)
        assert expired.status_code == 400
        assert "This link has expired." in page(expired)
        posted = web.post(link, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
        assert posted.status_code == 400

    assert can_log_in(app, user.email, PASSWORD)


def test_an_altered_reset_link_is_refused(app, make_web, mailbox):
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    link = altered(link_to(mailbox, user.email, "/password/reset"))

    response = make_web().get(link)

    assert response.status_code == 400
    assert "This link is not valid" in page(response)


def test_a_reset_link_dies_when_the_password_changes_first(app, make_web, mailbox):
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    link = link_to(mailbox, user.email, "/password/reset")
    web = make_web()
    web.login(user.email)
    changed = web.post(
        "/account/password",
        {"password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert changed.status_code == 303

    stale = make_web()
    response = stale.get(link)
    assert response.status_code == 400
    assert "This link has already been used." in page(response)
    assert stale.post(link, {"new_password": OTHER_PASSWORD}).status_code == 400
    assert can_log_in(app, user.email, NEW_PASSWORD)


def test_an_older_reset_link_dies_when_a_newer_one_is_used(app, make_web, mailbox):
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    request_reset(make_web(), user.email)
    older, newer = links_to(mailbox, user.email, "/password/reset")

    assert set_password(make_web(), newer, NEW_PASSWORD).status_code == 302

    assert make_web().get(older).status_code == 400
    assert can_log_in(app, user.email, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [
        ("", "", "new_password"),
        ("eleven char", "eleven char", "new_password"),
        ("password1234", "password1234", "new_password"),
        ("qwertyuiop12", "qwertyuiop12", "new_password"),
        ("EMAIL", "EMAIL", "new_password"),
        (NEW_PASSWORD, OTHER_PASSWORD, "confirm_password"),
    ],
)
def test_a_reset_refuses_a_bad_new_password_naming_the_field(
    app, make_web, mailbox, password, confirm, field
):
    user = make_user(app, "consumer", email="reset.me.please@example.com")
    request_reset(make_web(), user.email)
    link = link_to(mailbox, user.email, "/password/reset")
    web = make_web()
    password, confirm = (p.replace("EMAIL", user.email) for p in (password, confirm))

    response = set_password(web, link, password, confirm)

    assert response.status_code == 422
    assert field_errors(response) == [field]
    assert can_log_in(app, user.email, PASSWORD)
    # The link was not spent by the refused attempt.
    assert set_password(web, link, NEW_PASSWORD).status_code == 302
    assert can_log_in(app, user.email, NEW_PASSWORD)


# ---- e-mail change ------------------------------------------------------------------------------


def request_email_change(web, new_email: str, password: str = PASSWORD):
    web.get("/account")
    return web.post("/account/email", {"new_email": new_email, "password": password})


@pytest.mark.parametrize("password", ["", "not my password at all"])
def test_changing_the_address_needs_the_current_password(app, web, mailbox, password):
    user = make_user(app, "consumer")
    web.login(user.email)

    response = request_email_change(web, "new.home@example.com", password)

    assert response.status_code == 422
    assert "email-password" in field_errors(response)
    assert "This is not your current password." in page(response)
    assert mailbox.messages == []
    assert stored_user(app, user.email) is not None


@pytest.mark.parametrize("new_email", ["", "not-an-address", "TAKEN"])
def test_changing_the_address_refuses_a_bad_or_taken_address(app, web, mailbox, new_email):
    user = make_user(app, "consumer")
    other = make_user(app, "consumer")
    web.login(user.email)

    response = request_email_change(web, new_email.replace("TAKEN", other.email.upper()))

    assert response.status_code == 422
    assert field_errors(response) == ["new_email"]
    assert mailbox.messages == []


def test_changing_the_address_mails_a_link_to_the_new_one_and_a_notice_to_the_old(
    app, web, mailbox
):
    user = make_user(app, "consumer", name="Zhang Min")
    web.login(user.email)

    response = request_email_change(web, "Zhang.New@Example.com")

    assert response.status_code == 303
    assert "We have sent a link to the new address." in page(web.get("/account"))
    [confirmation] = mailbox.to("zhang.new@example.com")
    assert confirmation["Subject"] == "Confirm your new e-mail address for ODR"
    assert link_to(mailbox, "zhang.new@example.com", "/account/email/confirm")
    [notice] = mailbox.to(user.email)
    assert notice["Subject"] == "A change of your ODR e-mail address was requested"
    assert "zhang.new@example.com" in body_of(notice)
    assert "/account/email/confirm" not in body_of(notice)
    # Nothing changes before the link is followed.
    assert stored_user(app, user.email) is not None
    assert stored_user(app, "zhang.new@example.com") is None


def test_following_the_link_changes_the_address(app, web, make_web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)
    request_email_change(web, "zhang.new@example.com")
    link = link_to(mailbox, "zhang.new@example.com", "/account/email/confirm")

    response = web.get(link)

    assert response.status_code == 302
    assert "Your e-mail address is changed." in page(web.get("/disputes"))
    changed = stored_user(app, "zhang.new@example.com")
    assert changed is not None and changed.id == user.id and changed.email_verified
    assert stored_user(app, user.email) is None
    [told] = mails_with(mailbox, user.email, "Your ODR e-mail address was changed")
    assert user.email in body_of(told)
    assert can_log_in(app, "zhang.new@example.com", PASSWORD)
    assert not can_log_in(app, user.email, PASSWORD)
    assert "zhang.new@example.com" in page(web.get("/account"))


def test_an_email_change_link_works_once(app, web, make_web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)
    request_email_change(web, "zhang.new@example.com")
    link = link_to(mailbox, "zhang.new@example.com", "/account/email/confirm")
    assert web.get(link).status_code == 302

    again = make_web().get(link)

    assert again.status_code == 400
    assert "This link has already been used." in page(again)
    assert stored_user(app, "zhang.new@example.com").id == user.id
    assert len(mails_with(mailbox, user.email, "Your ODR e-mail address was changed")) == 1


def test_an_altered_email_change_link_changes_nothing(app, web, make_web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)
    request_email_change(web, "zhang.new@example.com")
    link = altered(link_to(mailbox, "zhang.new@example.com", "/account/email/confirm"))

    response = make_web().get(link)

    assert response.status_code == 400
    assert "This link is not valid" in page(response)
    assert stored_user(app, user.email) is not None
    assert stored_user(app, "zhang.new@example.com") is None
    assert mails_with(mailbox, user.email, "Your ODR e-mail address was changed") == []


def test_an_email_change_link_expires_after_a_day(app, web, make_web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)
    request_email_change(web, "zhang.new@example.com")
    link = link_to(mailbox, "zhang.new@example.com", "/account/email/confirm")

    with clock.travel_to(clock.now() + timedelta(hours=25)):
        response = make_web().get(link)

    assert response.status_code == 400
    assert "This link has expired." in page(response)
    assert stored_user(app, user.email) is not None
