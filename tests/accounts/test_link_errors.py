"""A dead e-mail link (expired, used, altered) offers the next step that fits what it was for.

Each link is read from a real mail and followed like a browser would, in every way it can fail.
A verification or invitation link never offers a password reset; nothing on these pages tells
whether an address has an account.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from odr import clock
from tests.accounts.test_invitations_and_staff import invitation_for, join
from tests.accounts.test_signup_and_recovery import (
    altered,
    confirm,
    link_to,
    links_to,
    request_email_change,
    request_reset,
    set_password,
    sign_up,
)
from tests.factories import lodge, make_user

NEW_PASSWORD = "amber kettle juniper 58 lanterns"
SHOP = "shop@merchant.example"
RESET_OFFER = 'href="/password/forgot"'
RESEND_FORM = 'action="/account/verify/resend"'
LOG_IN_TO_RESEND = 'href="/login?next=/account/verify/resend"'
HEADLINES = {
    "expired": "This link has expired.",
    "used": "This link has already been used.",
    "tampered": "This link is not valid. Check that you copied all of it.",
}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def headline(response) -> str:
    return re.search(r"<h1>(.*?)</h1>", text(response), re.S).group(1).strip()


@dataclass
class MailedLink:
    path: str
    lifetime: timedelta
    use: Callable[[], None]  # follow it to the end, as its owner would
    reference: str | None = None  # the dispute an invitation names


def verification_link(app, make_web, mailbox, api) -> MailedLink:
    sign_up(make_web())
    path = link_to(mailbox, "lin.wei@example.com", "/account/verify")

    def use() -> None:
        assert confirm(make_web(), path).status_code == 303

    return MailedLink(path, timedelta(hours=48), use)


def invitation_link(app, make_web, mailbox, api) -> MailedLink:
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)

    def use() -> None:
        web = make_web()
        web.login(make_user(app, "merchant").email)
        assert join(web, path).status_code == 303

    return MailedLink(path, timedelta(days=30), use, reference=dispute["reference"])


def reset_link(app, make_web, mailbox, api) -> MailedLink:
    user = make_user(app, "consumer")
    request_reset(make_web(), user.email)
    path = link_to(mailbox, user.email, "/password/reset")

    def use() -> None:
        assert set_password(make_web(), path, NEW_PASSWORD).status_code == 302

    return MailedLink(path, timedelta(hours=1), use)


def email_change_link(app, make_web, mailbox, api) -> MailedLink:
    user = make_user(app, "consumer")
    web = make_web()
    web.login(user.email)
    request_email_change(web, "zhang.new@example.com")
    path = link_to(mailbox, "zhang.new@example.com", "/account/email/confirm")

    def use() -> None:
        assert web.get(path).status_code == 302

    return MailedLink(path, timedelta(hours=24), use)


def follow_dead(link: MailedLink, reason: str, make_web):
    """Follow the link as a visitor who is not logged in, after making it dead for `reason`."""
    if reason == "tampered":
        return make_web().get(altered(link.path))
    if reason == "used":
        link.use()
        return make_web().get(link.path)
    with clock.travel_to(clock.now() + link.lifetime + timedelta(minutes=1)):
        return make_web().get(link.path)


REASONS = ["expired", "used", "tampered"]


# ---- every purpose × every way a link dies ------------------------------------------------------


@pytest.mark.parametrize("reason", REASONS)
def test_a_dead_verification_link_offers_a_new_verification_mail_after_log_in(
    app, make_web, mailbox, api, reason
):
    page = follow_dead(verification_link(app, make_web, mailbox, api), reason, make_web)

    assert page.status_code == 400
    assert headline(page) == HEADLINES[reason]
    assert LOG_IN_TO_RESEND in text(page)
    assert "Log in to send a new verification mail" in text(page)
    assert RESET_OFFER not in text(page)


@pytest.mark.parametrize("reason", REASONS)
def test_a_dead_invitation_offers_the_way_into_the_dispute_not_a_reset(
    app, make_web, mailbox, api, reason
):
    link = invitation_link(app, make_web, mailbox, api)

    page = follow_dead(link, reason, make_web)

    assert page.status_code == 400
    assert headline(page) == HEADLINES[reason]
    shown = text(page)
    assert "Already joined the dispute?" in shown and "Not joined yet?" in shown
    assert 'href="/signup?role=merchant"' in shown and 'href="/login"' in shown
    assert "for a new invitation" in shown
    assert RESET_OFFER not in shown
    # A link signed by us names its dispute, so that it can be quoted; an altered one cannot.
    assert (link.reference in shown) == (reason != "tampered")


@pytest.mark.parametrize("reason", REASONS)
def test_a_dead_reset_link_offers_a_new_reset_link(app, make_web, mailbox, api, reason):
    page = follow_dead(reset_link(app, make_web, mailbox, api), reason, make_web)

    assert page.status_code == 400
    assert headline(page) == HEADLINES[reason]
    assert RESET_OFFER in text(page)
    assert RESEND_FORM not in text(page) and LOG_IN_TO_RESEND not in text(page)


@pytest.mark.parametrize("reason", REASONS)
def test_a_dead_email_change_link_sends_back_to_the_account_page(
    app, make_web, mailbox, api, reason
):
    page = follow_dead(email_change_link(app, make_web, mailbox, api), reason, make_web)

    assert page.status_code == 400
    assert headline(page) == HEADLINES[reason]
    assert 'href="/account"' in text(page)
    assert "Change the address on your account page" in text(page)
    assert RESET_OFFER not in text(page) and LOG_IN_TO_RESEND not in text(page)


def test_a_link_page_says_how_long_such_a_link_works(app, make_web, mailbox, api):
    page = follow_dead(invitation_link(app, make_web, mailbox, api), "expired", make_web)

    assert "works once, and only for 30 days after we send it." in text(page)


# ---- verification: what the person logged in can do ---------------------------------------------


@pytest.mark.parametrize("reason", ["expired", "tampered"])
def test_logged_in_and_unconfirmed_a_dead_link_sends_a_new_one_in_one_click(
    app, make_web, mailbox, reason
):
    sign_up(make_web())
    [first] = links_to(mailbox, "lin.wei@example.com", "/account/verify")
    dead = altered(first) if reason == "tampered" else first

    with clock.travel_to(clock.now() + timedelta(hours=49 if reason == "expired" else 0)):
        web = make_web()
        web.login("lin.wei@example.com")
        page = web.get(dead)
        assert page.status_code == 400
        assert RESEND_FORM in text(page) and "Send a new verification mail" in text(page)
        assert RESET_OFFER not in text(page)
        assert web.post("/account/verify/resend").status_code == 302
        [_first, second] = links_to(mailbox, "lin.wei@example.com", "/account/verify")
        assert confirm(web, second, password=None).status_code == 303


def test_the_log_in_of_a_dead_link_leads_to_the_page_that_sends_a_new_one(app, make_web, mailbox):
    sign_up(make_web())
    web = make_web()
    web.get("/login")

    logged_in = web.post(
        "/login?next=/account/verify/resend",
        {"email": "lin.wei@example.com", "password": "correct horse battery"},
    )

    assert logged_in.headers["Location"] == "/account/verify/resend"
    offered = web.get("/account/verify/resend")
    assert offered.status_code == 200 and RESEND_FORM in text(offered)
    assert mailbox.to("lin.wei@example.com") and len(mailbox.to("lin.wei@example.com")) == 1


def test_the_resend_page_of_a_confirmed_account_says_there_is_nothing_to_do(app, web, mailbox):
    user = make_user(app, "consumer")
    web.login(user.email)

    answer = web.get("/account/verify/resend")

    assert answer.status_code == 302
    assert "Your e-mail address is already confirmed." in text(web.get("/disputes"))
    assert mailbox.to(user.email) == []


@pytest.mark.parametrize("reason", ["used", "expired"])
def test_following_ones_own_old_verification_link_says_already_confirmed(
    app, make_web, mailbox, reason
):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")
    assert confirm(make_web(), link).status_code == 303

    with clock.travel_to(clock.now() + timedelta(hours=49 if reason == "expired" else 0)):
        web = make_web()
        web.login("lin.wei@example.com")
        again = web.get(link)

    assert again.status_code == 200
    assert headline(again) == "Your e-mail address is already confirmed."
    assert RESEND_FORM not in text(again) and RESET_OFFER not in text(again)


def test_someone_elses_old_verification_link_is_still_an_error(app, make_web, mailbox):
    sign_up(make_web())
    link = link_to(mailbox, "lin.wei@example.com", "/account/verify")
    assert confirm(make_web(), link).status_code == 303
    other = make_web()
    other.login(make_user(app, "consumer").email)

    page = other.get(link)

    assert page.status_code == 400
    assert headline(page) == HEADLINES["used"]
    assert "The address of the account you are logged in with is already confirmed" in text(page)


def test_a_dead_verification_page_does_not_tell_whether_the_address_was_confirmed(
    app, make_web, mailbox
):
    """Not logged in, the page of a used link (its address now confirmed) and that of an
    expired one (its address never confirmed) differ only in their headline."""
    sign_up(make_web())
    confirmed = link_to(mailbox, "lin.wei@example.com", "/account/verify")
    assert confirm(make_web(), confirmed).status_code == 303
    sign_up(make_web(), email="wang.fang@example.com", name="Wang Fang")
    unconfirmed = link_to(mailbox, "wang.fang@example.com", "/account/verify")

    used = make_web().get(confirmed)
    with clock.travel_to(clock.now() + timedelta(hours=49)):
        expired = make_web().get(unconfirmed)

    def without_headline(response) -> str:
        page = re.sub(r"<h1>.*?</h1>|<title>.*?</title>", "", text(response), flags=re.S)
        return re.sub(r'name="(csrf_token|next)" value="[^"]+"', "", page)

    assert (used.status_code, expired.status_code) == (400, 400)
    assert without_headline(used) == without_headline(expired)


# ---- invitations: who already joined goes straight to the dispute -------------------------------


def test_the_merchant_who_joined_follows_the_used_invitation_to_the_dispute(
    app, api, make_web, mailbox
):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)
    web = make_web()
    web.login(make_user(app, "merchant").email)
    assert join(web, path).status_code == 303

    again = web.get(path)

    assert again.status_code == 400
    assert f'href="/disputes/{dispute["id"]}"' in text(again)
    assert f"Open dispute {dispute['reference']}" in text(again)
    assert RESET_OFFER not in text(again)


def test_another_merchant_following_a_used_invitation_is_not_shown_the_dispute(
    app, api, make_web, mailbox
):
    dispute = lodge(api.as_user(make_user(app, "consumer")), respondent_email=SHOP)
    path = invitation_for(mailbox, dispute)
    joiner = make_web()
    joiner.login(make_user(app, "merchant").email)
    assert join(joiner, path).status_code == 303
    other = make_web()
    other.login(make_user(app, "merchant").email)

    page = other.get(path)

    assert page.status_code == 400
    assert f"/disputes/{dispute['id']}" not in text(page)
    assert "Not joined yet?" in text(page)
    assert other.get(f"/disputes/{dispute['id']}").status_code == 404
