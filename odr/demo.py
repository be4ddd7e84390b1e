"""Demo accounts and a few disputes, for `make run` and for trying the API by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from odr import clock
from odr.accounts.services import create_user, find_user_by_email

DEMO_PASSWORD = "odr-demo-password"  # noqa: S105 (demo only, never in production)
DEMO_ACCOUNTS = (
    ("consumer", "consumer@demo.odr", "李伟 Li Wei", "CN", "zh_Hans"),
    ("consumer", "consumer.hk@demo.odr", "陳美玲 Chan Mei-ling", "HK", "zh_Hant"),
    ("merchant", "merchant@demo.odr", "Rheinland Electronics GmbH", "DE", "en"),
    ("merchant", "merchant.cn@demo.odr", "深圳优品科技有限公司", "CN", "zh_Hans"),
    ("mediator", "mediator@demo.odr", "Anna Schmidt", "DE", "en"),
    ("arbitrator", "arbitrator@demo.odr", "王芳 Wang Fang", "CN", "zh_Hans"),
    ("case_manager", "case.manager@demo.odr", "Zhao Min", "CN", "en"),
    ("platform", "platform@demo.odr", "ShopWorld Marketplace", "SG", "en"),
)

RHEINLAND = {
    "name": "Rheinland Electronics GmbH",
    "email": "merchant@demo.odr",
    "country": "DE",
    "language": "en",
    "website": "https://rheinland-electronics.example",
}


def seed_demo() -> list[dict[str, Any]]:
    """Create the demo accounts and disputes once; returns the accounts it created."""
    if current_app.config["ODR_ENV"] == "production":
        raise RuntimeError("demo data is never seeded in production")
    if find_user_by_email(DEMO_ACCOUNTS[0][1]) is not None:
        return []
    created = []
    for role, email, name, country, language in DEMO_ACCOUNTS:
        create_user(
            email=email,
            name=name,
            role=role,
            country=country,
            language=language,
            password=DEMO_PASSWORD,
            languages=["en", "zh_Hans"] if role in ("mediator", "arbitrator") else None,
        )
        created.append({"role": role, "email": email, "password": DEMO_PASSWORD})
    created.append(_demo_partner())
    _demo_disputes()
    return created


def _demo_partner() -> dict[str, Any]:
    """A partner agency for German law, its desk able to log in to the portal."""
    from odr.accounts.services import hash_password
    from odr.db import write_transaction
    from odr.extensions import db
    from odr.referrals.directory import add_partner

    _partner, user, _token, _secret = add_partner(
        name="Schlichtungsstelle Demo",
        countries=["DE", "AT"],
        languages=["de", "en"],
        webhook_url="https://partner.example/odr/webhooks",
        legal_basis="GDPR art. 49(1)(a): the consumer's explicit consent to the transfer",
        user_email="partner@demo.odr",
    )
    with write_transaction(db.session):
        db.session.get(type(user), user.id).password_hash = hash_password(DEMO_PASSWORD)
    return {"role": "partner", "email": user.email, "password": DEMO_PASSWORD}


def _demo_disputes() -> None:
    from odr.cases.lodging import lodge_dispute
    from odr.negotiation.services import make_offer

    consumer = find_user_by_email("consumer@demo.odr")
    merchant = find_user_by_email("merchant@demo.odr")
    ordered = (clock.now() - timedelta(days=40)).date()
    case = lodge_dispute(
        filer=consumer,
        body={
            "respondent": RHEINLAND,
            "order": {
                "platform": "ShopWorld",
                "reference": "SW-2026-88123",
                "ordered_on": ordered.isoformat(),
                "delivered_on": (ordered + timedelta(days=9)).isoformat(),
                "total": {"amount": "129.90", "currency": "EUR"},
                "items": [{"description": "Noise-cancelling headphones", "quantity": 1}],
            },
            "claim": {
                "category": "defective",
                "description": "左耳机在使用一周后没有声音。The left earcup stopped working.",
                "remedy": "refund",
                "amount": {"amount": "129.90", "currency": "EUR"},
            },
            "language": "zh_Hans",
            "arbitration_consent": True,
        },
    )
    make_offer(
        case,
        merchant,
        {
            "amount": {"amount": "60.00", "currency": "EUR"},
            "remedy": "partial_refund",
            "terms": "Partial refund of EUR 60.00; the customer keeps the headphones.",
        },
    )
    lodge_dispute(
        filer=find_user_by_email("consumer.hk@demo.odr"),
        body={
            "respondent": {
                "name": "深圳优品科技有限公司",
                "email": "merchant.cn@demo.odr",
                "country": "CN",
                "language": "zh_Hans",
            },
            "order": {
                "platform": "優品商城",
                "reference": "YP-556677",
                "ordered_on": (ordered + timedelta(days=10)).isoformat(),
                "total": {"amount": "899", "currency": "CNY"},
                "items": [{"description": "智能手錶", "quantity": 1}],
            },
            "claim": {
                "category": "not_received",
                "description": "訂單顯示已發貨，但一個月後仍未收到。",
                "remedy": "refund",
                "amount": {"amount": "899", "currency": "CNY"},
            },
            "language": "zh_Hant",
            "transfer_consent": True,
        },
    )
    lodge_dispute(  # the consumer chose German law: referred to the demo partner agency
        filer=find_user_by_email("consumer@demo.odr"),
        body={
            "respondent": RHEINLAND,
            "order": {
                "platform": "ShopWorld",
                "reference": "SW-2026-90417",
                "ordered_on": (ordered + timedelta(days=12)).isoformat(),
                "total": {"amount": "249.00", "currency": "EUR"},
                "items": [{"description": "Espresso machine", "quantity": 1}],
            },
            "claim": {
                "category": "not_as_described",
                "description": "收到的咖啡机不是页面上描述的型号。Not the model described.",
                "remedy": "return_and_refund",
                "amount": {"amount": "249.00", "currency": "EUR"},
            },
            "law": {"consumer_chose_merchant_law": True},
            "language": "zh_Hans",
            "transfer_consent": True,
        },
    )
