"""In a real browser, from nothing: a consumer signs up in Chinese, confirms the address from the
mail, and lodges a dispute; the merchant it names follows the invitation in the mail, creates a
merchant account with that address, and finds the dispute in it.

Both browsers are English; the consumer's Chinese comes from the language chosen at sign-up. The
links are read from the mails the app sends to the test's SMTP server.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import Mailbox
from tests.e2e.conftest import ARTIFACTS, Site, field, link_in_mail, lodge_dispute, translated

PASSWORD = "lantern orchard seventeen kettles"
CONSUMER_EMAIL = "li.na@example.cn"
MERCHANT_EMAIL = "disputes@harbour-audio.example"
MERCHANT_NAME = "Harbour Audio GmbH"
CLAIM_DESCRIPTION = "收到的音箱无法开机，换了电源线也没有用。"


# ---- steps -------------------------------------------------------------------------------------


def fill_in_signup(
    page: Page, *, role: str, name: str, email: str, country: str, language: str, timezone: str
) -> None:
    form = page.locator("main form")
    form.locator(f"#role-{role}").check()
    field(form, "name").fill(name)
    field(form, "email").fill(email)
    field(form, "country").select_option(country)
    field(form, "language").select_option(language)
    field(form, "timezone").select_option(timezone)
    field(form, "password").fill(PASSWORD)
    form.locator("#terms").check()


def submit(page: Page) -> None:
    page.locator("main form button[type=submit]").click()


def heading(page: Page):
    return page.locator("main h1")


def flash(page: Page, category: str):
    return page.locator(f"main .flash.{category}")


def unverified_banner(page: Page):
    return page.locator("main .flash.warn")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


# ---- the journey -------------------------------------------------------------------------------


def test_new_consumer_signs_up_lodges_and_invited_merchant_signs_up_to_answer(
    site: Site, mailbox: Mailbox, open_page
):
    zh = "zh_Hans"

    # A new consumer signs up, choosing Simplified Chinese for the account.
    consumer = open_page()
    consumer.goto("/signup")
    expect(heading(consumer)).to_have_text(translated("en", "Sign up"))
    fill_in_signup(
        consumer,
        role="consumer",
        name="李娜",
        email=CONSUMER_EMAIL,
        country="CN",
        language=zh,
        timezone="Asia/Shanghai",
    )
    expect(field(consumer, "language").locator("option:checked")).to_have_text("简体中文")
    screenshot(consumer, "signup.png")
    submit(consumer)

    # ... is asked to check the mail, in Chinese, and cannot lodge yet.
    expect(heading(consumer)).to_have_text(translated(zh, "Check your mail"))
    expect(consumer.locator("main")).to_contain_text(CONSUMER_EMAIL)
    expect(consumer.locator("html")).to_have_attribute("lang", "zh-Hans")

    # ... follows the link in the Chinese mail, and confirms with the password just chosen.
    [mail] = mailbox.to(CONSUMER_EMAIL)
    assert mail["Subject"] == translated(zh, "Confirm your e-mail address for ODR")
    consumer.goto(link_in_mail(mailbox, CONSUMER_EMAIL, f"{site.url}/account/verify"))
    expect(heading(consumer)).to_have_text(translated(zh, "Confirm your e-mail address"))
    field(consumer.locator("main form"), "password").fill(PASSWORD)
    submit(consumer)
    expect(flash(consumer, "ok")).to_have_text(
        translated(zh, "Thank you: your e-mail address is confirmed.")
    )
    expect(unverified_banner(consumer)).to_have_count(0)
    expect(heading(consumer)).to_have_text(translated(zh, "My disputes"))

    # ... and lodges a dispute naming the merchant's address.
    reference = lodge_dispute(
        consumer,
        merchant_name=MERCHANT_NAME,
        merchant_email=MERCHANT_EMAIL,
        description=CLAIM_DESCRIPTION,
        merchant_website="https://harbour-audio.example",
    )
    expect(consumer.locator("main")).to_contain_text(CLAIM_DESCRIPTION)

    # The merchant, who has no account, gets an English mail with an invitation link.
    [invitation_mail] = mailbox.to(MERCHANT_EMAIL)
    assert reference in invitation_mail["Subject"]
    invitation = link_in_mail(mailbox, MERCHANT_EMAIL, f"{site.url}/invitations")

    merchant = open_page()
    merchant.goto(invitation)
    expect(heading(merchant)).to_have_text(translated("en", "You are invited to answer a dispute"))
    expect(merchant.locator("main")).to_contain_text(MERCHANT_EMAIL)
    merchant.get_by_role("link", name=translated("en", "Create a merchant account")).click()

    # The sign-up form comes filled in for a merchant at the invited address.
    expect(heading(merchant)).to_have_text(translated("en", "Sign up"))
    expect(merchant.locator("#role-merchant")).to_be_checked()
    expect(field(merchant, "email")).to_have_value(MERCHANT_EMAIL)
    fill_in_signup(
        merchant,
        role="merchant",
        name=MERCHANT_NAME,
        email=MERCHANT_EMAIL,
        country="DE",
        language="en",
        timezone="Europe/Berlin",
    )
    submit(merchant)

    # Back on the invitation, now as the new account: it joins once the merchant confirms.
    expect(heading(merchant)).to_have_text(translated("en", "You are invited to answer a dispute"))
    expect(merchant.locator("main")).to_contain_text(reference)
    submit(merchant)
    joined = translated("en", "Dispute %(reference)s is now in your account.")
    expect(flash(merchant, "ok")).to_have_text(joined % {"reference": reference})

    # Following the invitation proved the address: the dispute is in the new account at once.
    merchant.locator("header nav").get_by_role(
        "link", name=translated("en", "Disputes against me")
    ).click()
    expect(heading(merchant)).to_have_text(translated("en", "Disputes against me"))
    expect(unverified_banner(merchant)).to_have_count(0)
    merchant.locator("main table").get_by_role("link", name=reference).click()
    expect(heading(merchant)).to_contain_text(reference)
    expect(merchant.locator("main")).to_contain_text(CLAIM_DESCRIPTION)
    screenshot(merchant, "merchant-dispute.png")
