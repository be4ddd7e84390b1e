"""Test data: users, tokens, lodging bodies, and an API client that sends a bearer token."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import timedelta
from typing import Any

from odr import clock
from odr.accounts.services import create_token, create_user
from odr.extensions import db

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def make_user(app, role: str = "consumer", **fields: Any):
    n = next(_serial)
    defaults = {
        "email": f"{role.replace('_', '.')}{n}@example.com",
        "name": f"{role.title()} {n}",
        "country": "CN",
        "language": "en",
        "password": PASSWORD,
    }
    defaults.update(fields)
    with app.app_context():
        user = create_user(role=role, **defaults)
        db.session.refresh(user)
        db.session.expunge(user)
    return user


def token_for(app, user) -> str:
    with app.app_context():
        _, plain = create_token(db.session.merge(user), name="tests")
    return plain


def lodging_body(respondent_email: str = "shop@merchant.example", **overrides: Any) -> dict:
    ordered = clock.today() - timedelta(days=20)
    body = {
        "respondent": {
            "name": "Rheinland Electronics GmbH",
            "email": respondent_email,
            "country": "DE",
            "language": "en",
            "website": "https://shop.example",
        },
        "order": {
            "platform": "ShopWorld",
            "reference": f"SW-{next(_serial)}",
            "ordered_on": ordered.isoformat(),
            "delivered_on": (ordered + timedelta(days=5)).isoformat(),
            "total": {"amount": "129.90", "currency": "EUR"},
            "items": [{"description": "Headphones", "quantity": 1}],
        },
        "claim": {
            "category": "defective",
            "description": "The left earcup stopped working after a week.",
            "remedy": "refund",
            "amount": {"amount": "129.90", "currency": "EUR"},
        },
        "language": "en",
        "arbitration_consent": False,
        "transfer_consent": False,
    }
    body = copy.deepcopy(body)
    for path, value in overrides.items():
        target = body
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return body


class ApiClient:
    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None

    def as_user(self, user) -> ApiClient:
        other = ApiClient(self.app)
        other.token = token_for(self.app, user)
        return other

    def _headers(self, headers: dict | None) -> dict:
        result = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        result.update(headers or {})
        return result

    def get(self, path: str, headers: dict | None = None):
        return self.client.get(path, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict | None = None, raw: Any = None):
        if raw is not None:
            return self.client.post(
                path,
                data=raw,
                headers=self._headers(headers),
                content_type="application/json",
            )
        return self.client.post(
            path,
            data=json.dumps(body) if body is not None else None,
            headers=self._headers(headers),
            content_type="application/json" if body is not None else None,
        )


def lodge(api_client: ApiClient, **overrides: Any) -> dict:
    respondent = overrides.pop("respondent_email", "shop@merchant.example")
    response = api_client.post("/api/v1/disputes", lodging_body(respondent, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()
