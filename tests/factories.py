"""Test data: users, tokens, lodging bodies, and an API client that sends a bearer token."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import timedelta
from typing import Any

from odr import clock
from odr.accounts.services import create_user
from odr.accounts.tokens import create_token
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


def events_per_case(app, kind: str) -> list[int]:
    """How many events of `kind` each case that has any has, in case order."""
    import sqlalchemy as sa

    from odr.cases.models import Event

    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(sa.func.count())
                .where(Event.kind == kind)
                .group_by(Event.case_id)
                .order_by(Event.case_id)
            )
        )


def notice_kinds(app, user) -> list[str]:
    """The kinds of the user's notices in the app, oldest first."""
    import sqlalchemy as sa

    from odr.delivery.models import Notice

    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Notice.kind).where(Notice.user_id == user.id).order_by(Notice.id)
            )
        )


def make_neutral(app, role: str = "mediator", languages=("en",), **fields: Any):
    """A mediator or arbitrator who speaks the given languages."""
    return make_user(app, role, language=languages[0], languages=list(languages), **fields)


class Dispute:
    """One lodged dispute and the people in it, acting through the API.

    `act("claimant", "escalate", reason="...")` fires an action as that party (or as any user
    object, or an ApiClient); `at(moment)` runs the sweep with the application's clock there.
    """

    def __init__(self, app, api, *, claimant_language: str = "en", **lodging: Any) -> None:
        self.app = app
        self.api = api
        respondent_email = lodging.pop("respondent_email", "shop@merchant.example")
        self.users = {
            "claimant": make_user(app, "consumer", language=claimant_language),
            "respondent": make_user(app, "merchant", email=respondent_email),
        }
        self.clients = {party: api.as_user(user) for party, user in self.users.items()}
        self.data = lodge(
            self.clients["claimant"],
            respondent_email=respondent_email,
            language=claimant_language,
            **lodging,
        )
        self.id = self.data["id"]

    def client(self, who: Any) -> ApiClient:
        if isinstance(who, ApiClient):
            return who
        if isinstance(who, str):
            if who in self.clients:
                return self.clients[who]
            who = self.users[who]
        self.clients.setdefault(f"user:{who.id}", self.api.as_user(who))
        return self.clients[f"user:{who.id}"]

    def act(self, who: Any, action: str, **params: Any):
        if action == "post_message":  # messages have their own endpoint
            return self.client(who).post(f"/api/v1/disputes/{self.id}/messages", params)
        return self.client(who).post(f"/api/v1/disputes/{self.id}/actions/{action}", params or None)

    def must(self, who: Any, action: str, **params: Any) -> dict:
        response = self.act(who, action, **params)
        assert response.status_code in (200, 201, 204), (action, response.get_json())
        return response.get_json()

    def read(self, who: Any = "claimant") -> dict:
        response = self.client(who).get(f"/api/v1/disputes/{self.id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    @property
    def state(self) -> str:
        return self.read()["state"]

    def events(self) -> list[dict]:
        response = self.client("claimant").get(f"/api/v1/disputes/{self.id}/events?limit=100")
        return response.get_json()["items"]

    def kinds(self) -> list[str]:
        return [event["kind"] for event in self.events()]

    def case(self):
        """The case row (detached), for what the API does not show."""
        import sqlalchemy as sa

        from odr.cases.models import Case

        with self.app.app_context():
            case = db.session.scalar(sa.select(Case).where(Case.public_id == self.id))
            db.session.expunge(case)
        return case

    def at(self, moment) -> dict:
        from odr.sweep import sweep

        with self.app.app_context(), clock.travel_to(moment):
            result = sweep()
            db.session.remove()
        return result

    def to_mediation(self) -> dict:
        return self.must("claimant", "escalate", reason="no agreement")

    def propose(self, mediator, amount: str = "80.00", due_in_days: int = 14, **extra) -> dict:
        return self.must(
            mediator,
            "propose_settlement",
            amount={"amount": amount, "currency": "EUR"},
            remedy="partial_refund",
            terms=extra.pop("terms", "The merchant refunds part of the price."),
            performance_due=(clock.today() + timedelta(days=due_in_days)).isoformat(),
            **extra,
        )


def add_reminders(app, dispute: Dispute, count: int) -> None:
    """Deadline reminders appended to the case's chain, as the sweep records them."""
    from odr.cases.events import append_event
    from odr.cases.firing import lock_case
    from odr.db import write_transaction

    with app.app_context(), write_transaction(db.session):
        case = lock_case(dispute.case().id)
        for _ in range(count):
            append_event(case, kind="reminder", actor=None, role="system", data={"to": ["x"]})


def post_messages(app, dispute: Dispute, who, count: int, **params) -> list[str]:
    """`count` messages fired through the service; their bodies, oldest first."""
    import sqlalchemy as sa

    from odr.accounts.models import User
    from odr.cases.firing import fire
    from odr.cases.models import Case

    channel = params.get("channel", "joint")
    action = "write_note" if channel == "notes" else "post_message"
    bodies = [f"{channel}-message-{n:03d}" for n in range(count)]
    with app.app_context(), app.test_request_context():
        author = db.session.get(User, who.id)
        for body in bodies:
            case = db.session.scalar(sa.select(Case).where(Case.public_id == dispute.id))
            fire(case, action, author, body=body, **params)
    return bodies


_copies = itertools.count(1)


def copy_case(app, **overrides: Any) -> int:
    """A new case row copied from the first lodged one, with the given columns changed; its id.

    For filling lists and loads quickly; its event log is not the real one."""
    import sqlalchemy as sa

    from odr.cases.models import Case
    from odr.mediation.services import recount_caseloads

    with app.app_context():
        template = db.session.scalar(sa.select(Case).order_by(Case.id).limit(1))
        columns = {
            c.key: getattr(template, c.key)
            for c in Case.__table__.columns
            if c.key not in ("id", "public_id", "reference")
        }
        case = Case(**(columns | {"reference": f"ODR-COPY-{next(_copies):06d}"} | overrides))
        db.session.add(case)
        db.session.flush()
        recount_caseloads()  # the row bypassed the services that keep the neutrals' loads
        db.session.commit()
        return case.id


def token_from_before(app, user, scopes: tuple[str, ...] = ("read", "write")) -> str:
    """A token stored as the app stores them but made without the service's checks: one an
    account may hold from before a rule existed (an unconfirmed account's, say)."""
    import hashlib
    import secrets

    from odr.accounts.models import ApiToken

    plain = "odr_" + secrets.token_urlsafe(32)
    with app.app_context():
        db.session.add(
            ApiToken(
                user_id=user.id,
                name="from before",
                token_hash=hashlib.sha256(plain.encode()).hexdigest(),
                scopes=list(scopes),
                expires_at=clock.now() + timedelta(days=90),
            )
        )
        db.session.commit()
    return plain
